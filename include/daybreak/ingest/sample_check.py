"""`daybreak config check CONFIG --sample EXPORT`: an export's first rows through the ingest rules, nothing written.

A dataset config can be valid and still not fit its exports: a column name spelt otherwise, a quantity mapped to a
text column, a timestamp format that does not match. Ingest finds out at night; this check finds out at once, the
way ingest would: the file read by the same reader (`read_export`), refused for the same missing columns
(`check_columns`), and its first rows mapped and checked by the same rules (`to_canonical_many`), each quarantined
row named with its rule, its detail and where it is in the file. Nothing lands, nothing is recorded.

The business date a night checks `ordered_at` against is the sample's landing day folder's name, or the date
given; without either (a whole history in one file), each line is checked against its own day, as a replay
splits such a file by day.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from daybreak.datasets.expressions import fill_template
from daybreak.ingest.canonical import IngestError, RawFile, check_columns, to_canonical_many
from daybreak.ingest.exports.reader import read_export
from daybreak.ingest.exports.rows import ExportReadError
from daybreak.ingest.timestamps import parse_timestamps

if TYPE_CHECKING:
    from daybreak.datasets import DatasetConfig

SAMPLE_ROWS = 200
"""Rows a sample check reads by default: enough to meet most mapping mistakes, few enough to answer at once."""
SHOWN = 10  # quarantined rows listed; the rest are counted per rule


@dataclasses.dataclass(frozen=True)
class SampleReport:
    """What ingest would do with a sample's first rows."""

    path: Path
    business_date: str  # the date, or how it was taken
    rows_checked: int
    loaded: int
    quarantined: pd.DataFrame  # source_row, rule, detail (`monitoring.quarantine`'s columns)
    unexpected_columns: tuple[str, ...]
    line_offset: int | None  # data row + this = the line in the file (delimited text); None: rows are rows

    def lines(self) -> list[str]:
        """The report for a terminal: a summary line, the first quarantined rows, the unmapped columns."""
        said = [
            f"sample {self.path} (business date {self.business_date}): {self.rows_checked} row(s) checked, "
            f"{self.loaded} would load, {len(self.quarantined)} would be quarantined"
        ]
        for row in self.quarantined.head(SHOWN).itertuples():
            where = (
                f"line {row.source_row + self.line_offset}"
                if self.line_offset is not None
                else f"row {row.source_row}"
            )
            said.append(f"  {where}: {row.rule}: {row.detail}")
        if len(self.quarantined) > SHOWN:
            counts = self.quarantined["rule"].iloc[SHOWN:].value_counts()
            said.append("  and " + ", ".join(f"{n} more {rule}" for rule, n in counts.items()))
        if self.unexpected_columns:
            said.append(
                f"  not mapped (kept in extra_values; ignore_columns drops them): {', '.join(self.unexpected_columns)}"
            )
        return said


def _days(rows: pd.DataFrame, config: DatasetConfig) -> pd.Series:
    """Each row's own day, from `ordered_at` as the mapping reads it (NaT where it does not parse)."""
    stripped = {column: rows[column].str.strip() for column in config.export_columns}
    if "ordered_at" in config.derived:
        text = fill_template(config.derived["ordered_at"].template, stripped)
    else:
        text = stripped[config.columns["ordered_at"]]
    return parse_timestamps(text, config.landing.timestamp_format, config.landing.timezone).dt.normalize()


def check_sample(
    path: Path, config: DatasetConfig, *, business_date: dt.date | None = None, rows: int = SAMPLE_ROWS
) -> SampleReport:
    """Read `path` as the dataset's export and check its first `rows` rows as ingest would.

    Raises:
        IngestError: the file cannot be read, or lacks a column the config reads (ingest refuses such a file).
    """
    try:
        export = read_export(
            str(path), config.landing_format, config.landing.delimiter, config.export_columns
        )
    except ExportReadError as error:
        raise IngestError(f"sample {path} cannot be read as the dataset's export: {error}") from None
    if business_date is None:
        try:
            business_date = dt.date.fromisoformat(path.parent.name)
            origin = f"{business_date}, its folder's"
        except ValueError:
            origin = "each line's own day"
    else:
        origin = str(business_date)
    check_columns(list(export.rows.columns), config, str(path), business_date)
    sample = export.rows.head(rows)
    last = int(sample.index.max()) if len(sample) else 0
    malformed = [m for m in export.malformed if m.source_row <= max(last, rows)]
    if business_date is not None:
        groups = [(business_date, sample)]
    else:
        days = _days(sample, config)
        first = days.dropna().iloc[0].date() if days.notna().any() else dt.date.min
        groups = [
            (first if pd.isna(day) else day.date(), part)
            for day, part in sample.groupby(days.fillna(pd.Timestamp(first)))
        ]
    files = [
        RawFile(part, path.name, day, list(part.index), malformed if position == 0 else ())
        for position, (day, part) in enumerate(groups or [(dt.date.min, sample)])
    ]
    results = to_canonical_many(files, config)
    quarantined = pd.concat([r.quarantined for r in results], ignore_index=True)
    quarantined = quarantined.sort_values("source_row", kind="stable", ignore_index=True)
    text_lines = config.landing_format == "csv"
    return SampleReport(
        path=path,
        business_date=origin,
        rows_checked=len(sample) + len(malformed),
        loaded=sum(len(r.loaded) for r in results),
        quarantined=quarantined.loc[:, ["source_row", "rule", "detail"]],
        unexpected_columns=tuple(dict.fromkeys(c for r in results for c in r.unexpected_columns)),
        line_offset=1 + export.preamble_lines if text_lines else None,
    )
