"""The canonical mapping: an export's text columns onto Daybreak's canonical sales line, with every row checked.

Pure (no I/O), so the ingest job, the replay source and the tests share one definition of a sales line:
`to_canonical` maps one file's rows through the dataset config (columns, constants, derived columns, timestamps,
numbers) and splits them into loaded and quarantined lines, each quarantined line named by the first rule of
`daybreak.ingest.quarantine_rules` it breaks; `to_canonical_many` does the same for many files in few passes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from daybreak.core.failures import PermanentError
from daybreak.core.vocabulary import FLOAT_SUFFIX
from daybreak.datasets import CANONICAL_COLUMNS, NUMERIC_COLUMNS, DatasetConfig
from daybreak.datasets.expressions import fill_template, parse_expression
from daybreak.ingest.exports.rows import MalformedRow
from daybreak.ingest.number_parsing import parse_numbers_with, per_distinct
from daybreak.ingest.quarantine_rules import rules_for
from daybreak.ingest.timestamps import parse_timestamps

TEXT_COLUMNS = ("order_id", "customer_id", "product_id", "product_name", "location")
LOADED_COLUMNS = (*CANONICAL_COLUMNS, "source_file", "source_row", "extra_values")
MAX_COLUMNS_SHOWN = 30  # of a file's header, in the error for a missing column
# what Python's str.strip() removes: every character for which str.isspace() is true
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


class IngestError(RuntimeError):
    """The export cannot be ingested; the message names the path, the date and what is wrong. Retried unless a
    permanent kind below: a file still being written may read on the next try."""


class RefusedExportError(PermanentError, IngestError):
    """A delivered file was refused (unreadable, lacking a column, empty on an open day, changed after it landed,
    dates that read two ways, no valid line on an open day): the same file is refused on every try, so the night
    fails at once."""

    remedy = (
        "replace the refused file with a corrected one (a correction to a file that already landed comes under a "
        "new name, and the dataset's landing.corrections says whether it adds to the day or replaces it: "
        "docs/operations.md, 'Corrections'), then clear the task"
    )


class MissingExportError(PermanentError, IngestError):
    """An open business day has no export of its own. The nightly DAG runs only days within the landed range
    (`daybreak.platform.schedule`), so a later day's export has already landed: this day's is a gap, not late, and
    a retry minutes later finds the same gap, so the night fails at once."""

    remedy = (
        "land the day's export in its landing folder, or, if the shop was closed that day, add the day to the "
        "dataset config's calendar.closed_dates (a closed day needs no export); then clear the task"
    )


@dataclass(frozen=True)
class FileResult:
    """What one landed file contributed: the rows that passed and the rows quarantined with their rule."""

    source_file: str
    file_sha256: str
    rows_in: int
    loaded: pd.DataFrame
    quarantined: pd.DataFrame
    unexpected_columns: tuple[str, ...] = ()
    revenue_in: float = 0.0


def _first_row_of_duplicates(raw: pd.DataFrame, source_row: pd.Series, part: np.ndarray) -> pd.Series:
    """Each row's earlier row identical in every field, of the same file (`part`), by number; NA where none."""
    if raw.empty or raw.columns.empty:
        return pd.Series(pd.NA, index=raw.index, dtype="Int64")
    key = "file#"
    while key in raw.columns:
        key += "#"
    keyed = raw.assign(**{key: part})
    repeated = keyed.duplicated(keep="first")
    if not repeated.any():
        return pd.Series(pd.NA, index=raw.index, dtype="Int64")
    group = keyed.groupby(list(keyed.columns), sort=False, dropna=False).ngroup()
    first = source_row.groupby(group).transform("min")
    return first.where(repeated).astype("Int64")


@dataclass(frozen=True)
class RawFile:
    """One export's rows as read, to be mapped by `to_canonical_many` (the arguments of `to_canonical`)."""

    raw: pd.DataFrame
    source_file: str
    business_date: dt.date
    source_rows: Sequence[int] | None = None
    malformed: Sequence[MalformedRow] = ()
    table: Any = None  # `raw` as the Arrow table it was parsed into, when it was (`Export.table`)
    day_first: bool | None = None  # numeric dates day-first, as the file settles it (`timestamps.date_order`)
    duplicate_of: Any = None  # earlier repeats, known beyond `raw` in a batch (`daybreak.ingest.streaming`)

    @property
    def rows_in(self) -> int:
        return len(self.raw) + len(self.malformed)


def check_columns(
    columns: Sequence[str], config: DatasetConfig, source_file: str, business_date: dt.date | None
) -> None:
    """Refuse an export that lacks a column the config reads, mapped or in a derived column.

    Raises:
        IngestError: names the file, the business date, the missing columns and the columns the file has (a
            name spelled another way, or a file read with the wrong delimiter, shows there).
    """
    missing = [source for source in config.export_columns if source not in columns]
    if missing:
        shown = list(columns[:MAX_COLUMNS_SHOWN]) + (["..."] if len(columns) > MAX_COLUMNS_SHOWN else [])
        raise IngestError(
            f"{source_file}: missing required column(s) {missing}"
            + (f" for business date {business_date} " if business_date else " ")
            + f"(dataset {config.name!r} reads {list(config.export_columns)}; the file has {shown})"
        )


def to_canonical(
    raw: pd.DataFrame,
    config: DatasetConfig,
    *,
    source_file: str,
    business_date: dt.date,
    source_rows: Sequence[int] | None = None,
    malformed: Sequence[MalformedRow] = (),
) -> FileResult:
    """Map an export onto canonical sales lines and split it into loaded and quarantined rows.

    Pure: no I/O. Each quarantined row is named by the first rule of `rules_for(config)` it breaks,
    with a detail that says what is wrong; the `malformed` rows the reader set aside are quarantined as
    `malformed_row` with their line number and raw text.

    Args:
        raw: the well-formed rows, every value a string.
        source_rows: each row's 1-based data row in the file (default 1..len(raw)).
        malformed: rows the reader could not split into fields, numbered like `source_rows`.

    Returns:
        the file's result; `rows_in` counts the well-formed and the malformed rows, `revenue_in` is the revenue of
        every row whose revenue (`row_revenue`) is a finite number (loaded or not). Columns the config does not map
        are listed in `unexpected_columns` and their values kept per line in `extra_values` (JSON text), except the
        config's `ignore_columns`, which are dropped.

    Raises:
        IngestError: the export lacks a column the config reads, mapped or in a derived column (names the file
            and the columns).
    """
    return to_canonical_many([RawFile(raw, source_file, business_date, source_rows, malformed)], config)[0]


def to_canonical_many(
    files: Sequence[RawFile],
    config: DatasetConfig,
    parse_ordered_at: Callable[[pd.Series], pd.Series] | None = None,
) -> list[FileResult]:
    """`to_canonical` of several files, each file's result exactly what `to_canonical` gives it alone.

    Files with the same columns are checked together, in one pass of every rule: the rules cost far more per
    call than per row, so the bulk history load maps its many small daily files in a few passes.

    Args:
        parse_ordered_at: `ordered_at`'s text to naive local times, in place of `parse_timestamps` with the
            config's format and zone: a batch of a file read in batches is parsed as the whole file would be.

    Raises:
        IngestError: the first file that lacks a column the config reads.
    """
    for file in files:
        check_columns(list(file.raw.columns), config, file.source_file, file.business_date)
    results: list[FileResult | None] = [None] * len(files)
    groups: dict[tuple, list[int]] = {}  # by columns and date order
    for position, file in enumerate(files):
        groups.setdefault((*file.raw.columns, file.day_first), []).append(position)
    for positions in groups.values():
        for position, result in zip(
            positions, _map_files([files[p] for p in positions], config, parse_ordered_at), strict=True
        ):
            results[position] = result
    return results


def _map_files(
    files: Sequence[RawFile], config: DatasetConfig, parse_ordered_at: Callable[[pd.Series], pd.Series] | None
) -> list[FileResult]:
    """Map files with the same columns in one pass; row `i` of the concatenation belongs to file `part[i]`."""
    counts = [len(file.raw) for file in files]
    bounds = np.concatenate([[0], np.cumsum(counts)]).astype("int64")
    raw = files[0].raw if len(files) == 1 else pd.concat([file.raw for file in files])
    raw = raw.reset_index(drop=True)
    part = np.repeat(np.arange(len(files)), counts)
    source_row = pd.Series(
        np.concatenate(
            [
                np.arange(1, n + 1) if f.source_rows is None else list(f.source_rows)
                for f, n in zip(files, counts, strict=True)
            ]
        )
        if len(raw)
        else [],
        index=raw.index,
        dtype="int64",
    )
    # one file's day and name as scalars, as `to_canonical` always had them; several files' per line
    business_date = files[0].business_date
    source_file: str | pd.Series = files[0].source_file
    if len(files) > 1:
        business_date = pd.Series(np.repeat(np.array([f.business_date for f in files], dtype=object), counts))
        source_file = pd.Series(np.repeat(np.array([f.source_file for f in files], dtype=object), counts))
    read = set(config.export_columns)
    ignored = set(config.ignore_columns)
    unexpected = tuple(c for c in raw.columns if c not in read and c not in ignored)
    stripped = {source: _strip(raw, files, source) for source in config.export_columns}
    text = {canonical: stripped[source] for canonical, source in config.mapped_columns.items()}
    for canonical, rule in config.derived.items():
        if rule.template is not None:
            text[canonical] = fill_template(rule.template, stripped)
    lines = pd.DataFrame(index=raw.index)
    for column in TEXT_COLUMNS:
        if column in text:
            lines[column] = text[column].replace("", None)
        elif column in config.constants:
            lines[column] = str(config.constants[column])
        else:
            lines[column] = None
    if lines["order_id"].isna().all() and "order_id" not in text:
        lines["order_id"] = source_file + ":" + source_row.astype(str)
    lines["customer_id"] = per_distinct(
        lines["customer_id"], lambda text: text.str.replace(FLOAT_SUFFIX, "", regex=True)
    )

    ordered_at_text = text.get("ordered_at", pd.Series("", index=raw.index))
    if parse_ordered_at is None:
        lines["ordered_at"] = parse_timestamps(
            ordered_at_text, config.landing.timestamp_format, config.landing.timezone, files[0].day_first
        )
    else:
        lines["ordered_at"] = parse_ordered_at(ordered_at_text)
    lines["_ordered_at_text"] = ordered_at_text
    for column in NUMERIC_COLUMNS:
        if column not in config.measures:  # an aggregated row has no unit price, and may have no units
            lines[column] = np.nan
        elif column in text:
            lines[column], lines[f"_{column}_is_number"] = parse_numbers_with(
                text[column], config.landing.decimal_separator
            )
            lines[f"_{column}_text"] = text[column]
        elif column in config.derived:
            value, error = _derive(
                column, config.derived[column].expression, stripped, config.landing.decimal_separator
            )
            lines[column], lines[f"_{column}_derive_error"] = value, error
            lines[f"_{column}_is_number"] = True
            lines[f"_{column}_text"] = value.map(repr)
        else:
            lines[column] = float(config.constants[column])
            lines[f"_{column}_is_number"] = True
            lines[f"_{column}_text"] = str(config.constants[column])
    for column in TEXT_COLUMNS:
        lines[f"_{column}_text"] = lines[column].fillna("")
    if config.validation.quarantine_duplicate_lines:
        known = [file.duplicate_of for file in files]
        lines["_duplicate_of_row"] = (
            _first_row_of_duplicates(raw, source_row, part)
            if any(first is None for first in known)
            else pd.Series(pd.array(np.concatenate(known), dtype="Int64"), index=raw.index)
        )

    rule = pd.Series(None, index=raw.index, dtype=object)
    detail = pd.Series(None, index=raw.index, dtype=object)
    unnamed = np.ones(len(raw), dtype=bool)  # no rule broken yet
    for each in rules_for(config):
        hit = each.broken(lines, business_date).astype(bool) & unnamed
        if hit.any():
            unnamed &= ~hit.to_numpy()
            rule.loc[hit] = each.name
            detail.loc[hit] = pd.Series(each.describe(lines.loc[hit]), index=lines.index[hit]).astype(str)

    revenue = row_revenue(lines)
    revenue = revenue.where(np.isfinite(revenue))
    lines["source_file"] = source_file
    lines["source_row"] = source_row
    lines["extra_values"] = (
        [json.dumps(r, ensure_ascii=False) for r in raw[list(unexpected)].to_dict("records")]
        if unexpected
        else None
    )
    bad = pd.Series(~unnamed, index=raw.index)
    malformed = [(position, m) for position, f in enumerate(files) for m in f.malformed]
    quarantined = pd.concat(
        [
            pd.DataFrame(
                {
                    "part": part[bad.to_numpy()],
                    "source_row": source_row[bad],
                    "rule": rule[bad],
                    "detail": detail[bad],
                    "raw_values": [json.dumps(r, ensure_ascii=False) for r in raw[bad].to_dict("records")],
                    "revenue": revenue[bad],
                }
            ),
            pd.DataFrame(
                {
                    "part": [position for position, _ in malformed],
                    "source_row": [m.source_row for _, m in malformed],
                    "rule": [m.rule for _, m in malformed],
                    "detail": [
                        f"line {m.line_number} cannot be split into the header's fields" for _, m in malformed
                    ],
                    "raw_values": [
                        json.dumps({"line_number": m.line_number, "raw_text": m.raw_text}, ensure_ascii=False)
                        for _, m in malformed
                    ],
                    "revenue": [np.nan] * len(malformed),
                }
            ),
        ],
        ignore_index=True,
    ).astype({"part": "int64", "source_row": "int64", "revenue": "float64"})
    quarantined = quarantined.sort_values(["part", "source_row"], kind="stable", ignore_index=True)
    quarantined_bounds = np.searchsorted(quarantined["part"].to_numpy(), np.arange(len(files) + 1))
    quarantined = quarantined.drop(columns="part")
    loaded = lines.loc[~bad, list(LOADED_COLUMNS)].reset_index(drop=True)
    loaded = loaded.astype({column: "float64" for column in NUMERIC_COLUMNS})
    loaded_bounds = np.searchsorted(part[~bad.to_numpy()], np.arange(len(files) + 1))
    results = []
    for position, file in enumerate(files):
        own = quarantined.iloc[quarantined_bounds[position] : quarantined_bounds[position + 1]]
        own = own.reset_index(drop=True)
        own.insert(0, "business_date", file.business_date)
        own.insert(1, "source_file", file.source_file)
        results.append(
            FileResult(
                file.source_file,
                "",
                counts[position] + len(file.malformed),
                loaded.iloc[loaded_bounds[position] : loaded_bounds[position + 1]].reset_index(drop=True),
                own,
                unexpected,
                revenue_in=float(revenue.iloc[bounds[position] : bounds[position + 1]].sum()),
            )
        )
    return results


def row_revenue(lines: pd.DataFrame) -> pd.Series:
    """A sales line's quantity * unit_price, an aggregated row's own `revenue`: from the rows, with no config."""
    return (lines["quantity"] * lines["unit_price"]).where(lines["unit_price"].notna(), lines["revenue"])


def _strip(raw: pd.DataFrame, files: Sequence[RawFile], column: str) -> pd.Series:
    """`raw[column].str.strip()`, trimmed in Arrow when every file kept its Arrow table: most values have no
    whitespace to strip, and then the column as read is the result, where Python would build every string again
    (its str.strip was the largest single cost of mapping a history)."""
    if raw.empty or any(file.table is None for file in files):
        return raw[column].str.strip()
    text = pa.chunked_array(
        [chunk for file in files for chunk in file.table.column(column).chunks], pa.string()
    )
    trimmed = pc.utf8_trim(text, characters=WHITESPACE)
    if pc.all(pc.equal(text, trimmed)).as_py():
        return raw[column]
    return pd.Series(trimmed.to_numpy(zero_copy_only=False), index=raw.index, dtype=object)


def _derive(
    column: str, expression: str, stripped: dict[str, pd.Series], decimal_separator: str
) -> tuple[pd.Series, pd.Series]:
    """A derived numeric column and, per row, why it has no value (None where it has one): an input that is no
    number, or a result that is not finite (a division by zero)."""
    parsed = parse_expression(expression)
    inputs = {name: parse_numbers_with(stripped[name], decimal_separator) for name in parsed.columns}
    value = parsed.evaluate({name: values for name, (values, _) in inputs.items()})
    index = value.index
    error = pd.Series(None, index=index, dtype=object)
    for name, (_, is_number) in reversed(list(inputs.items())):  # the first bad input is named
        bad = ~is_number
        error.loc[bad] = [f"{column} = {expression}: {name} {v!r} is no number" for v in stripped[name][bad]]
    no_value = error.isna() & ~np.isfinite(value)
    error.loc[no_value] = [f"{column} = {expression} gives {v!r}" for v in value[no_value]]
    return value, error
