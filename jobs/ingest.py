"""Ingest one business day's export into the immutable raw Parquet lake.

The source system drops its export for business day D into `landing/<dataset>/<D>/` (one or more files, in the
dataset config's `landing.format`: csv, parquet or jsonl; the folder may be a local path or an fsspec URL). This
job reads every file as text (`daybreak.exports`), maps the export's columns onto Daybreak's canonical sales line
(per the dataset config), checks every row against `QUARANTINE_RULES`, writes the rows that pass to the lake
partition `business_date=D` and the rows that fail to `monitoring.quarantine` with the file, row, rule and raw
values, and records one accounting row per file in `monitoring.ingest_runs` where
rows_in = rows_loaded + rows_quarantined. A row that cannot even be split into fields (a truncated last line) is
quarantined as `malformed_row` and the rest of the file still loads.

A column the config does not map is not dropped: its values are kept per line as JSON in the lake column
`extra_values`, and the file and column are logged as a warning and listed in the run summary.

A lake partition is written once, atomically (a temporary folder renamed into place), and never changed: a rerun
with the same files finds the partition with the same checksums and leaves it alone; different files for a day that
has already landed are refused rather than silently replacing what arrived.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import posixpath
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from daybreak.datasets import CANONICAL_COLUMNS, DatasetConfig, load_dataset_config
from daybreak.exports import ExportReadError, MalformedRow, list_exports, read_export
from daybreak.settings import Settings, get_settings
from daybreak.warehouse import connect, replace_partition

log = logging.getLogger(__name__)

LAKE_TABLE = "sales_lines"
MONITORING_DDL = (
    "create schema if not exists monitoring",
    """create table if not exists monitoring.ingest_runs (
        business_date date, source_file varchar, file_sha256 varchar, rows_in bigint, rows_loaded bigint,
        rows_quarantined bigint, run_id varchar)""",
    """create table if not exists monitoring.quarantine (
        business_date date, source_file varchar, source_row bigint, rule varchar, raw_values varchar,
        run_id varchar)""",
)
TEXT_COLUMNS = ("order_id", "customer_id", "product_id", "product_name", "location")
REQUIRED_VALUES = ("product_id", "location")
LOADED_COLUMNS = (*CANONICAL_COLUMNS, "source_file", "source_row", "extra_values")
QUARANTINE_COLUMNS = ("business_date", "source_file", "source_row", "rule", "raw_values")

# A rule flags the canonical lines (parsed, see `to_canonical`) that break it, given the business date. A line is
# quarantined under the first rule it breaks, in this order. `malformed_row` (daybreak.exports) comes before all
# of them: a row that cannot be split into fields never reaches these checks. Zero or negative prices and negative
# quantities are real (returns, free samples, adjustments) and pass; the warehouse classifies them.
Rule = Callable[[pd.DataFrame, dt.date], pd.Series]
QUARANTINE_RULES: tuple[tuple[str, Rule], ...] = (
    ("ordered_at_unparseable", lambda lines, day: lines["ordered_at"].isna()),
    ("ordered_at_not_on_business_date", lambda lines, day: lines["ordered_at"].dt.date != day),
    ("quantity_not_numeric", lambda lines, day: ~lines["_quantity_is_number"]),
    ("quantity_not_finite", lambda lines, day: ~np.isfinite(lines["quantity"])),
    ("unit_price_not_numeric", lambda lines, day: ~lines["_unit_price_is_number"]),
    ("unit_price_not_finite", lambda lines, day: ~np.isfinite(lines["unit_price"])),
    *((f"{column}_missing", lambda lines, day, c=column: lines[c].isna()) for column in REQUIRED_VALUES),
)


class IngestError(RuntimeError):
    """The day's export cannot be ingested; the message names the path, the date and what is wrong."""


@dataclass(frozen=True)
class FileResult:
    """What one landed file contributed: the rows that passed and the rows quarantined with their rule."""

    source_file: str
    file_sha256: str
    rows_in: int
    loaded: pd.DataFrame
    quarantined: pd.DataFrame
    unexpected_columns: tuple[str, ...] = ()


def partition_dir(settings: Settings, business_date: dt.date) -> Path:
    return settings.lake_dir / LAKE_TABLE / f"business_date={business_date.isoformat()}"


def find_exports(settings: Settings, config: DatasetConfig, business_date: dt.date) -> list[str]:
    """The day's export files (local paths, or URLs when the landing folder is object storage), sorted."""
    return list_exports(str(settings.landing_dir / business_date.isoformat()), config.landing_glob)


def sha256_of(path: str | Path) -> str:
    import fsspec

    digest = hashlib.sha256()
    with fsspec.open(str(path), "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def parse_numbers(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers from text: (values as float64, whether the text is a number at all).

    `nan`, `inf`, `Infinity` and overflowing numbers such as `1e400` are numbers (that are not finite), so they are
    told apart from text that is no number ("two", "").
    """
    values = pd.to_numeric(text, errors="coerce").astype("float64")
    is_number = values.notna()
    retry = ~is_number & text.ne("")

    def is_float(value: str) -> bool:
        try:
            float(value)
        except ValueError:
            return False
        return True

    is_number.loc[retry] = text[retry].map(is_float).astype(bool)
    again = retry & is_number
    values.loc[again] = text[again].map(float).astype("float64")
    return values, is_number


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

    Pure: no I/O. Each quarantined row is named by the first of `QUARANTINE_RULES` it breaks; the `malformed`
    rows the reader set aside are quarantined as `malformed_row` with their line number and raw text.

    Args:
        raw: the well-formed rows, every value a string.
        source_rows: each row's 1-based data row in the file (default 1..len(raw)).
        malformed: rows the reader could not split into fields, numbered like `source_rows`.

    Returns:
        the file's result; `rows_in` counts the well-formed and the malformed rows. Columns the config does not
        map are listed in `unexpected_columns` and their values kept per line in `extra_values` (JSON text).

    Raises:
        IngestError: the export lacks a column the config maps (names the file and column).
    """
    missing = [source for source in config.columns.values() if source not in raw.columns]
    if missing:
        raise IngestError(
            f"{source_file}: missing required column(s) {missing} for business date {business_date} "
            f"(dataset {config.name!r} maps {config.columns})"
        )
    rows = len(raw)
    numbers = range(1, rows + 1) if source_rows is None else list(source_rows)
    source_row = pd.Series(numbers, index=raw.index, dtype="int64")
    mapped = set(config.columns.values())
    unexpected = tuple(c for c in raw.columns if c not in mapped)
    text = {canonical: raw[source].str.strip() for canonical, source in config.columns.items()}
    lines = pd.DataFrame(index=raw.index)
    for column in TEXT_COLUMNS:
        if column in text:
            lines[column] = text[column].replace("", None)
        elif column in config.constants:
            lines[column] = str(config.constants[column])
        else:
            lines[column] = None
    if lines["order_id"].isna().all() and "order_id" not in config.columns:
        lines["order_id"] = source_file + ":" + source_row.astype(str)
    # customer ids exported from float columns arrive as "17850.0"; the id is "17850"
    lines["customer_id"] = lines["customer_id"].str.replace(r"\.0+$", "", regex=True)

    ordered_at_text = text.get("ordered_at", pd.Series("", index=raw.index))
    lines["ordered_at"] = pd.to_datetime(ordered_at_text, errors="coerce", format="mixed")
    for column in ("quantity", "unit_price"):
        if column in text:
            lines[column], lines[f"_{column}_is_number"] = parse_numbers(text[column])
        else:
            lines[column] = float(config.constants[column])
            lines[f"_{column}_is_number"] = True

    rule = pd.Series(None, index=raw.index, dtype=object)
    for name, broken in QUARANTINE_RULES:
        rule.loc[broken(lines, business_date).astype(bool) & rule.isna()] = name

    lines["source_file"] = source_file
    lines["source_row"] = source_row
    lines["extra_values"] = (
        [json.dumps(r, ensure_ascii=False) for r in raw[list(unexpected)].to_dict("records")]
        if unexpected
        else None
    )
    bad = rule.notna()
    quarantined = pd.concat(
        [
            pd.DataFrame(
                {
                    "source_row": source_row[bad],
                    "rule": rule[bad],
                    "raw_values": [json.dumps(r, ensure_ascii=False) for r in raw[bad].to_dict("records")],
                }
            ),
            pd.DataFrame(
                {
                    "source_row": [m.source_row for m in malformed],
                    "rule": [m.rule for m in malformed],
                    "raw_values": [
                        json.dumps({"line_number": m.line_number, "raw_text": m.raw_text}, ensure_ascii=False)
                        for m in malformed
                    ],
                }
            ),
        ],
        ignore_index=True,
    ).astype({"source_row": "int64"})
    quarantined = quarantined.sort_values("source_row", kind="stable", ignore_index=True)
    quarantined.insert(0, "business_date", business_date)
    quarantined.insert(1, "source_file", source_file)
    loaded = lines.loc[~bad, list(LOADED_COLUMNS)].reset_index(drop=True)
    loaded["quantity"] = loaded["quantity"].astype("float64")
    loaded["unit_price"] = loaded["unit_price"].astype("float64")
    return FileResult(source_file, "", rows + len(malformed), loaded, quarantined, unexpected)


def lake_schema():
    """The lake's column types, fixed so every partition reads alike: a day whose customer ids are all missing
    still has a string column, and timestamps are microseconds, which Spark and DuckDB both read.

    `extra_values` (JSON text of the export's unmapped columns, null when there are none) came later: partitions
    landed before it lack the column, so readers union by name."""
    import pyarrow as pa

    return pa.schema(
        [
            ("order_id", pa.string()),
            ("ordered_at", pa.timestamp("us")),
            ("customer_id", pa.string()),
            ("product_id", pa.string()),
            ("product_name", pa.string()),
            ("location", pa.string()),
            ("quantity", pa.float64()),
            ("unit_price", pa.float64()),
            ("source_file", pa.string()),
            ("source_row", pa.int64()),
            ("file_sha256", pa.string()),
            ("extra_values", pa.string()),
        ]
    )


def write_partition(target: Path, lines: pd.DataFrame) -> None:
    """Write a lake partition atomically: into a temporary sibling folder, then renamed into place."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    staging = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    schema = lake_schema()
    table = pa.Table.from_pandas(lines[schema.names], schema=schema, preserve_index=False, safe=False)
    pq.write_table(table, staging / "part-0.parquet", compression="zstd")
    os.replace(staging, target)


def landed_checksums(target: Path) -> list[str]:
    import pyarrow.parquet as pq

    table = pq.read_table(target / "part-0.parquet", columns=["file_sha256"])
    return sorted(set(table.column("file_sha256").to_pylist()))


def ensure_raw_view(connection, settings: Settings) -> None:
    """(Re)create `raw.sales_lines`, the warehouse's view of the lake, for dbt's source to read."""
    lake_glob = str(settings.lake_dir / LAKE_TABLE / "*" / "*.parquet").replace("'", "''")
    connection.execute("create schema if not exists raw")
    # a view's definition cannot take bound parameters; the path comes from settings and is quoted above
    connection.execute(
        "create or replace view raw.sales_lines as select * from read_parquet("  # noqa: S608
        f"'{lake_glob}', hive_partitioning = true, hive_types = {{'business_date': DATE}}, union_by_name = true)"
    )


def run(business_date: dt.date, run_id: str, settings: Settings | None = None) -> dict:
    """Ingest business day `business_date`.

    Raises:
        IngestError: no export (or an empty one) for an open business day, a missing column, or files that differ
            from what already landed for the day. Nothing is written for the day in any of these cases.
    """
    settings = settings or get_settings()
    config = load_dataset_config(settings.dataset)
    day_dir = settings.landing_dir / business_date.isoformat()
    exports = find_exports(settings, config, business_date)
    is_open = config.calendar.is_open(business_date)
    if not exports and is_open:
        raise IngestError(
            f"no export for business date {business_date}: expected file(s) matching {day_dir / config.landing_glob}"
        )

    results = []
    encodings = {}
    for path in exports:
        name = posixpath.basename(str(path))
        try:
            export = read_export(str(path), config.landing_format)
        except ExportReadError as error:
            raise IngestError(
                f"export {path} for business date {business_date} cannot be read: {error}"
            ) from error
        if export.rows_in == 0 and is_open:
            raise IngestError(f"export {path} for business date {business_date} is empty (the shop was open)")
        if export.encoding:
            encodings[name] = export.encoding
            if export.encoding != "utf-8":
                log.warning("%s is not valid UTF-8; read as %s", path, export.encoding)
        if export.rows_in == 0 and export.rows.columns.empty:
            result = FileResult(name, "", 0, pd.DataFrame(columns=list(LOADED_COLUMNS)), pd.DataFrame())
        else:
            result = to_canonical(
                export.rows,
                config,
                source_file=name,
                business_date=business_date,
                source_rows=export.rows.index,
                malformed=export.malformed,
            )
        if result.unexpected_columns:
            log.warning(
                "%s has column(s) %s the dataset config does not map; kept in the lake's extra_values",
                path,
                list(result.unexpected_columns),
            )
        results.append(dataclasses.replace(result, file_sha256=sha256_of(path)))

    lines = pd.concat(
        [r.loaded.assign(file_sha256=r.file_sha256) for r in results] or [pd.DataFrame()], ignore_index=True
    )
    if lines.empty and is_open:
        raise IngestError(f"exports for business date {business_date} in {day_dir} hold no valid line")

    target = partition_dir(settings, business_date)
    checksums = sorted(r.file_sha256 for r in results)
    if target.exists():
        if landed_checksums(target) != checksums:
            raise IngestError(
                f"business date {business_date} already landed in {target} from other files; the raw lake is "
                f"immutable (landed {landed_checksums(target)}, now {checksums})"
            )
        log.info("partition %s already landed with the same files; leaving it as it is", target)
    elif not lines.empty:
        write_partition(target, lines)

    accounting = pd.DataFrame(
        {
            "business_date": [business_date] * len(results),
            "source_file": [r.source_file for r in results],
            "file_sha256": [r.file_sha256 for r in results],
            "rows_in": [r.rows_in for r in results],
            "rows_loaded": [len(r.loaded) for r in results],
            "rows_quarantined": [len(r.quarantined) for r in results],
            "run_id": run_id,
        }
    ).astype({"rows_in": "int64", "rows_loaded": "int64", "rows_quarantined": "int64"})
    quarantine = pd.concat([r.quarantined for r in results] or [pd.DataFrame()], ignore_index=True)
    quarantine = quarantine.reindex(columns=list(QUARANTINE_COLUMNS))
    quarantine["run_id"] = run_id

    with connect(settings.warehouse_path) as connection:
        for statement in MONITORING_DDL:
            connection.execute(statement)
        replace_partition(
            connection,
            "monitoring.ingest_runs",
            accounting,
            key_column="business_date",
            key_value=business_date,
        )
        replace_partition(
            connection,
            "monitoring.quarantine",
            quarantine,
            key_column="business_date",
            key_value=business_date,
        )
        if (settings.lake_dir / LAKE_TABLE).exists() and any(
            (settings.lake_dir / LAKE_TABLE).glob("*/*.parquet")
        ):
            ensure_raw_view(connection, settings)

    summary = {
        "business_date": business_date.isoformat(),
        "files": len(results),
        "rows_in": int(accounting["rows_in"].sum()),
        "rows_loaded": int(accounting["rows_loaded"].sum()),
        "rows_quarantined": int(accounting["rows_quarantined"].sum()),
        "open_day": is_open,
        "unexpected_columns": {
            r.source_file: list(r.unexpected_columns) for r in results if r.unexpected_columns
        },
        "encodings": encodings,
    }
    log.info("ingested %s", summary)
    return summary
