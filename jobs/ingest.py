"""Ingest a business day's export into the immutable raw lake, and pick up files that arrived late.

The source system drops its export for business day D into `landing/<dataset>/<D>/` (one or more files, in the
dataset config's `landing.format`: csv, parquet or jsonl; the folder may be a local path or an fsspec URL). This
job reads every file as text (`daybreak.exports`), maps the export's columns onto Daybreak's canonical sales line
(per the dataset config), checks every row against the built-in `QUARANTINE_RULES` and the config's `validation:`
rules, and for each file:

* keeps exactly what arrived: the file's bytes under `lake/<dataset>/landed/business_date=<D>/<sha256>/<name>`;
* writes the rows that pass to `lake/<dataset>/sales_lines/business_date=<D>/<sha256>.parquet` (one Parquet file
  per landed file, named by the landed file's checksum, written once, atomically);
* records the rows that fail in `monitoring.quarantine` with the file, row, rule, a detail and the raw values;
* records one accounting row in `monitoring.ingest_runs` where rows_in = rows_loaded + rows_quarantined (and the
  same for revenue, which the warehouse's reconciliation test checks to the cent).

Files are identified by their SHA-256, so the same file delivered twice (under another name, or into another
day's folder) loads once: the second delivery gets an accounting row with status `duplicate`, naming the first.
A rerun finds its files already landed (same name, same checksum) and changes nothing, so a night is idempotent.
A landed file is never replaced: a file that changed under a landed name is refused.

Late files: each night also looks `landing.late_files_lookback_days` days back for files that were not there
when those days were ingested. Such a file lands in its own day's partition like any other, and its accounting
row records `landed_by_run_date` = tonight, which marks its day and every later one for rebuild: the transform job
of tonight rebuilds the fact marts from that day on (see `jobs.transform.rebuild_from`), and as-of snapshots of
the nights in between are rebuilt by backfilling those nights (docs/architecture.md, "Late files").
"""

from __future__ import annotations

import contextlib
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

from daybreak.datasets import CANONICAL_COLUMNS, DatasetConfig, Validation, load_dataset_config
from daybreak.exports import ExportReadError, MalformedRow, list_exports, read_export
from daybreak.settings import Settings, get_settings
from daybreak.warehouse import connect

log = logging.getLogger(__name__)

LAKE_TABLE = "sales_lines"
LANDED_FOLDER = "landed"
MONITORING_TABLES = {
    "monitoring.ingest_runs": {
        "business_date": "date",
        "source_file": "varchar",
        "source_path": "varchar",
        "file_sha256": "varchar",
        "file_bytes": "bigint",
        "status": "varchar",
        "duplicate_of": "varchar",
        "rows_in": "bigint",
        "rows_loaded": "bigint",
        "rows_quarantined": "bigint",
        "revenue_in": "double",
        "revenue_loaded": "double",
        "revenue_quarantined": "double",
        "encoding": "varchar",
        "unexpected_columns": "varchar",
        "landed_by_run_date": "date",
        "ingested_at": "timestamp",
        "run_id": "varchar",
    },
    "monitoring.quarantine": {
        "business_date": "date",
        "source_file": "varchar",
        "file_sha256": "varchar",
        "source_row": "bigint",
        "rule": "varchar",
        "detail": "varchar",
        "raw_values": "varchar",
        "revenue": "double",
        "run_id": "varchar",
    },
    # a file that landed after later days had landed makes the marts of its day and every later one stale
    "monitoring.rebuild_requests": {
        "business_date": "date",
        "source_file": "varchar",
        "file_sha256": "varchar",
        "requested_by_run_date": "date",
        "done_by_run_date": "date",
        "run_id": "varchar",
    },
}
TEXT_COLUMNS = ("order_id", "customer_id", "product_id", "product_name", "location")
REQUIRED_VALUES = ("product_id", "location")
LOADED_COLUMNS = (*CANONICAL_COLUMNS, "source_file", "source_row", "extra_values")
QUARANTINE_COLUMNS = ("business_date", "source_file", "source_row", "rule", "detail", "raw_values", "revenue")
STATUS_LOADED = "loaded"
STATUS_DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Rule:
    """One row rule: `broken(lines, business_date)` flags the canonical lines (see `to_canonical`) that break it,
    and `describe(lines)` says, per line, what is wrong, for the quarantine's `detail` column."""

    name: str
    broken: Callable[[pd.DataFrame, dt.date], pd.Series]
    describe: Callable[[pd.DataFrame], pd.Series]


def _value_is(column: str, what: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda lines: column + " " + lines[f"_{column}_text"].map(repr) + f" {what}"


# The built-in rules, in the order they are checked: a line is quarantined under the first rule it breaks.
# `malformed_row` (daybreak.exports) comes before all of them: a row that cannot be split into fields never reaches
# these checks. The dataset config's `validation:` rules (ranges, allowed values, patterns, duplicate lines) come
# after them (`rules_for`). Zero prices and negative quantities are real (free samples, returns, adjustments) and
# pass the built-in rules; the warehouse classifies them.
QUARANTINE_RULES: tuple[Rule, ...] = (
    Rule(
        "ordered_at_unparseable",
        lambda lines, day: lines["ordered_at"].isna(),
        _value_is("ordered_at", "is not a timestamp"),
    ),
    Rule(
        "ordered_at_not_on_business_date",
        lambda lines, day: lines["ordered_at"].dt.date != day,
        lambda lines: "ordered_at " + lines["_ordered_at_text"].map(repr) + " is not on the business date",
    ),
    Rule(
        "quantity_not_numeric",
        lambda lines, day: ~lines["_quantity_is_number"],
        _value_is("quantity", "is no number"),
    ),
    Rule(
        "quantity_not_finite",
        lambda lines, day: ~np.isfinite(lines["quantity"]),
        _value_is("quantity", "is not finite"),
    ),
    Rule(
        "unit_price_not_numeric",
        lambda lines, day: ~lines["_unit_price_is_number"],
        _value_is("unit_price", "is no number"),
    ),
    Rule(
        "unit_price_not_finite",
        lambda lines, day: ~np.isfinite(lines["unit_price"]),
        _value_is("unit_price", "is not finite"),
    ),
    *(
        Rule(
            f"{column}_missing",
            lambda lines, day, c=column: lines[c].isna(),
            lambda lines, c=column: f"no {c}",
        )
        for column in REQUIRED_VALUES
    ),
)


def rules_for(validation: Validation) -> tuple[Rule, ...]:
    """The built-in rules followed by the dataset config's: ranges, allowed values, patterns, duplicate lines."""
    rules = list(QUARANTINE_RULES)
    for column, (low, high) in validation.ranges.items():
        if low is not None:
            rules.append(
                Rule(
                    f"{column}_below_min",
                    lambda lines, day, c=column, v=low: lines[c] < v,
                    _value_is(column, f"is below the minimum {low:g}"),
                )
            )
        if high is not None:
            rules.append(
                Rule(
                    f"{column}_above_max",
                    lambda lines, day, c=column, v=high: lines[c] > v,
                    _value_is(column, f"is above the maximum {high:g}"),
                )
            )
    for column, values in validation.allowed_values.items():
        shown = ", ".join(values[:10]) + (", ..." if len(values) > 10 else "")
        rules.append(
            Rule(
                f"{column}_not_allowed",
                lambda lines, day, c=column, vs=frozenset(values): lines[c].notna() & ~lines[c].isin(vs),
                _value_is(column, f"is not one of {shown}"),
            )
        )
    for column, pattern in validation.patterns.items():
        rules.append(
            Rule(
                f"{column}_pattern_mismatch",
                lambda lines, day, c=column, p=pattern: (
                    lines[c].notna() & ~lines[c].fillna("").str.fullmatch(p).astype(bool)
                ),
                _value_is(column, f"does not match {pattern!r}"),
            )
        )
    if validation.quarantine_duplicate_lines:
        rules.append(
            Rule(
                "duplicate_line",
                lambda lines, day: lines["_duplicate_of_row"].notna(),
                lambda lines: "repeats row " + lines["_duplicate_of_row"].astype("Int64").astype(str),
            )
        )
    return tuple(rules)


class IngestError(RuntimeError):
    """The export cannot be ingested; the message names the path, the date and what is wrong."""


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


def partition_dir(settings: Settings, business_date: dt.date) -> Path:
    return settings.lake_dir / LAKE_TABLE / f"business_date={business_date.isoformat()}"


def lake_file(settings: Settings, business_date: dt.date, file_sha256: str) -> Path:
    """Where the valid lines of one landed file live: one Parquet file per landed file, named by its checksum."""
    return partition_dir(settings, business_date) / f"{file_sha256}.parquet"


def landed_copy(settings: Settings, business_date: dt.date, file_sha256: str, name: str) -> Path:
    """Where the landed file's own bytes are kept, exactly as they arrived."""
    return (
        settings.lake_dir / LANDED_FOLDER / f"business_date={business_date.isoformat()}" / file_sha256 / name
    )


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


def size_of(path: str | Path) -> int:
    import fsspec

    fs, root = fsspec.core.url_to_fs(str(path))
    return int(fs.size(root))


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


def _first_row_of_duplicates(raw: pd.DataFrame, source_row: pd.Series) -> pd.Series:
    """For each row identical in every field to an earlier row, that earlier row's number; else NA."""
    if raw.empty or raw.columns.empty:
        return pd.Series(pd.NA, index=raw.index, dtype="Int64")
    repeated = raw.duplicated(keep="first")
    if not repeated.any():
        return pd.Series(pd.NA, index=raw.index, dtype="Int64")
    group = raw.groupby(list(raw.columns), sort=False, dropna=False).ngroup()
    first = source_row.groupby(group).transform("min")
    return first.where(repeated).astype("Int64")


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

    Pure: no I/O. Each quarantined row is named by the first rule of `rules_for(config.validation)` it breaks,
    with a detail that says what is wrong; the `malformed` rows the reader set aside are quarantined as
    `malformed_row` with their line number and raw text.

    Args:
        raw: the well-formed rows, every value a string.
        source_rows: each row's 1-based data row in the file (default 1..len(raw)).
        malformed: rows the reader could not split into fields, numbered like `source_rows`.

    Returns:
        the file's result; `rows_in` counts the well-formed and the malformed rows, `revenue_in` is the revenue of
        every row whose quantity and price are finite numbers (loaded or not). Columns the config does not map are
        listed in `unexpected_columns` and their values kept per line in `extra_values` (JSON text).

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
    lines["_ordered_at_text"] = ordered_at_text
    for column in ("quantity", "unit_price"):
        if column in text:
            lines[column], lines[f"_{column}_is_number"] = parse_numbers(text[column])
            lines[f"_{column}_text"] = text[column]
        else:
            lines[column] = float(config.constants[column])
            lines[f"_{column}_is_number"] = True
            lines[f"_{column}_text"] = str(config.constants[column])
    for column in TEXT_COLUMNS:
        lines[f"_{column}_text"] = lines[column].fillna("")
    if config.validation.quarantine_duplicate_lines:
        lines["_duplicate_of_row"] = _first_row_of_duplicates(raw, source_row)

    rule = pd.Series(None, index=raw.index, dtype=object)
    detail = pd.Series(None, index=raw.index, dtype=object)
    for each in rules_for(config.validation):
        hit = each.broken(lines, business_date).astype(bool) & rule.isna()
        if hit.any():
            rule.loc[hit] = each.name
            detail.loc[hit] = pd.Series(each.describe(lines.loc[hit]), index=lines.index[hit]).astype(str)

    revenue = lines["quantity"] * lines["unit_price"]
    revenue = revenue.where(np.isfinite(revenue))
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
                    "detail": detail[bad],
                    "raw_values": [json.dumps(r, ensure_ascii=False) for r in raw[bad].to_dict("records")],
                    "revenue": revenue[bad],
                }
            ),
            pd.DataFrame(
                {
                    "source_row": [m.source_row for m in malformed],
                    "rule": [m.rule for m in malformed],
                    "detail": [
                        f"line {m.line_number} cannot be split into the header's fields" for m in malformed
                    ],
                    "raw_values": [
                        json.dumps({"line_number": m.line_number, "raw_text": m.raw_text}, ensure_ascii=False)
                        for m in malformed
                    ],
                    "revenue": [np.nan] * len(malformed),
                }
            ),
        ],
        ignore_index=True,
    ).astype({"source_row": "int64", "revenue": "float64"})
    quarantined = quarantined.sort_values("source_row", kind="stable", ignore_index=True)
    quarantined.insert(0, "business_date", business_date)
    quarantined.insert(1, "source_file", source_file)
    loaded = lines.loc[~bad, list(LOADED_COLUMNS)].reset_index(drop=True)
    loaded["quantity"] = loaded["quantity"].astype("float64")
    loaded["unit_price"] = loaded["unit_price"].astype("float64")
    return FileResult(
        source_file,
        "",
        rows + len(malformed),
        loaded,
        quarantined,
        unexpected,
        revenue_in=float(revenue.sum()),
    )


def lake_schema():
    """The lake's column types, fixed so every partition reads alike: a day whose customer ids are all missing
    still has a string column, and timestamps are microseconds, which Spark and DuckDB both read.

    `extra_values` (JSON text of the export's unmapped columns, null when there are none) came later: lake files
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


def _write_atomic(target: Path, write: Callable[[Path], None]) -> None:
    """Write `target` through a temporary sibling renamed into place, so a reader never sees half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    write(staging)
    os.replace(staging, target)


def write_lake_file(target: Path, lines: pd.DataFrame) -> None:
    """Write one landed file's valid lines to the lake, atomically, with the fixed lake schema."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = lake_schema()
    table = pa.Table.from_pandas(lines[schema.names], schema=schema, preserve_index=False, safe=False)
    _write_atomic(target, lambda path: pq.write_table(table, path, compression="zstd"))


def keep_landed_copy(source: str, target: Path) -> None:
    """Copy the landed file's bytes into the lake (read-only), unless an earlier run already did."""
    import fsspec

    if target.exists():
        return

    def copy(path: Path) -> None:
        with fsspec.open(source, "rb") as reader, open(path, "wb") as writer:
            shutil.copyfileobj(reader, writer, 1 << 20)
        path.chmod(0o444)

    _write_atomic(target, copy)


def ensure_raw_view(connection, settings: Settings) -> None:
    """Create `raw.sales_lines`, the warehouse's view of the lake, for dbt's source to read.

    The view reads the lake's files when queried, so a new file needs no new view: it is only (re)created when
    missing or pointing at another lake folder."""
    lake_glob = str(settings.lake_dir / LAKE_TABLE / "*" / "*.parquet").replace("'", "''")
    existing = connection.execute(
        "select sql from duckdb_views() where schema_name = 'raw' and view_name = 'sales_lines'"
    ).fetchall()
    if existing and f"'{lake_glob}'" in existing[0][0]:
        return
    connection.execute("create schema if not exists raw")
    # a view's definition cannot take bound parameters; the path comes from settings and is quoted above
    connection.execute(
        "create or replace view raw.sales_lines as select * from read_parquet("  # noqa: S608
        f"'{lake_glob}', hive_partitioning = true, hive_types = {{'business_date': DATE}}, union_by_name = true)"
    )


def ensure_monitoring_tables(connection) -> None:
    """Create the accounting tables, and add columns that later versions introduced to older warehouses."""
    present = set(
        connection.execute(
            "select table_schema || '.' || table_name || '.' || column_name from information_schema.columns "
            "where table_schema = 'monitoring'"
        )
        .df()
        .iloc[:, 0]
    )
    for table, columns in MONITORING_TABLES.items():
        if all(f"{table}.{name}" in present for name in columns):
            continue
        connection.execute("create schema if not exists monitoring")
        definition = ", ".join(f"{name} {kind}" for name, kind in columns.items())
        connection.execute(f"create table if not exists {table} ({definition})")
        for name, kind in columns.items():
            connection.execute(f"alter table {table} add column if not exists {name} {kind}")


@dataclass(frozen=True)
class Delivery:
    """One file found in a landing day folder."""

    business_date: dt.date
    path: str
    name: str
    size: int


def _deliveries(settings: Settings, config: DatasetConfig, business_date: dt.date) -> list[Delivery]:
    """The run date's files, then files in the lookback window's folders, oldest day first."""
    days = [
        business_date - dt.timedelta(days=back) for back in range(config.late_files_lookback_days, -1, -1)
    ]
    found = []
    for day in days:
        for path in find_exports(settings, config, day):
            found.append(Delivery(day, str(path), posixpath.basename(str(path)), size_of(path)))
    return found


def _landed_manifest(connection) -> pd.DataFrame:
    """Every file already recorded in `monitoring.ingest_runs`."""
    frame = connection.execute(
        "select business_date, source_file, file_sha256, file_bytes, status, rows_in from monitoring.ingest_runs"
    ).df()
    frame["business_date"] = pd.to_datetime(frame["business_date"]).dt.date
    return frame


def _read_delivery(delivery: Delivery, config: DatasetConfig, is_open: bool) -> tuple[FileResult, str | None]:
    try:
        export = read_export(delivery.path, config.landing_format)
    except ExportReadError as error:
        raise IngestError(
            f"export {delivery.path} for business date {delivery.business_date} cannot be read: {error}"
        ) from error
    if export.rows_in == 0 and is_open:
        raise IngestError(
            f"export {delivery.path} for business date {delivery.business_date} is empty (the shop was open)"
        )
    if export.encoding and export.encoding != "utf-8":
        log.warning("%s is not valid UTF-8; read as %s", delivery.path, export.encoding)
    if export.rows_in == 0 and export.rows.columns.empty:
        return FileResult(
            delivery.name, "", 0, pd.DataFrame(columns=list(LOADED_COLUMNS)), pd.DataFrame()
        ), None
    result = to_canonical(
        export.rows,
        config,
        source_file=delivery.name,
        business_date=delivery.business_date,
        source_rows=export.rows.index,
        malformed=export.malformed,
    )
    if result.unexpected_columns:
        log.warning(
            "%s has column(s) %s the dataset config does not map; kept in the lake's extra_values",
            delivery.path,
            list(result.unexpected_columns),
        )
    return result, export.encoding


def run(business_date: dt.date, run_id: str, settings: Settings | None = None) -> dict:
    """Ingest business day `business_date`, and any file that arrived late for the days before it.

    Returns:
        a summary of the day: its files and rows (rows_in = rows_loaded + rows_quarantined), what this run newly
        landed, duplicates it skipped, and `late_days`: the days late files landed in, whose marts (and every
        later day's) the next transform rebuilds (monitoring.rebuild_requests).

    Raises:
        IngestError: no export (or an empty one) for an open business day, a missing column, an unreadable file,
            or a landed file that changed. Nothing is written in any of these cases.
    """
    return run_days([business_date], run_id, settings)[0]


def run_days(days: list[dt.date], run_id: str, settings: Settings | None = None) -> list[dict]:
    """`run` for several days in order, on one warehouse connection: the bulk history load's ingest.

    Each day is ingested exactly as its own night would be (its summary is `run`'s); the first day that fails
    raises, leaving the days before it landed.
    """
    settings = settings or get_settings()
    config = load_dataset_config(settings.dataset)
    summaries = []
    with contextlib.ExitStack() as stack:
        connection = None  # opened at the first day that has something to ingest
        for business_date in days:
            deliveries = _deliveries(settings, config, business_date)
            if config.calendar.is_open(business_date) and not any(
                d.business_date == business_date for d in deliveries
            ):
                day_dir = settings.landing_dir / business_date.isoformat()
                raise IngestError(
                    f"no export for business date {business_date}: expected file(s) matching "
                    f"{day_dir / config.landing_glob}"
                )
            if connection is None:
                connection = stack.enter_context(connect(settings.warehouse_path))
                ensure_monitoring_tables(connection)
            summaries.append(_ingest(connection, settings, config, business_date, run_id, deliveries))
    return summaries


def _ingest(
    connection,
    settings: Settings,
    config: DatasetConfig,
    business_date: dt.date,
    run_id: str,
    deliveries: list[Delivery],
) -> dict:
    """The body of `run`, on one warehouse connection (opening DuckDB costs more than a small day's work)."""
    day_dir = settings.landing_dir / business_date.isoformat()
    is_open = config.calendar.is_open(business_date)
    manifest = _landed_manifest(connection)
    recorded = {
        (row.business_date, row.source_file): (row.file_sha256, row.file_bytes)
        for row in manifest.itertuples(index=False)
    }
    # files without rows (a closed day's header-only export) are alike by nature, not duplicates of each other
    first_delivery = {
        row.file_sha256: f"{row.business_date.isoformat()}/{row.source_file}"
        for row in manifest.itertuples(index=False)
        if row.status == STATUS_LOADED and row.rows_in > 0
    }
    new_files: list[tuple[Delivery, str, FileResult, str | None]] = []
    duplicates: list[tuple[Delivery, str, str]] = []
    for delivery in deliveries:
        key = (delivery.business_date, delivery.name)
        if key in recorded and delivery.business_date != business_date and recorded[key][1] == delivery.size:
            continue  # landed on an earlier night; the size is enough to skip re-reading it every night
        checksum = sha256_of(delivery.path)
        if key in recorded:
            if recorded[key][0] != checksum:
                raise IngestError(
                    f"{delivery.path} for business date {delivery.business_date} changed after it landed "
                    f"(landed sha256 {recorded[key][0]}, now {checksum}); the raw lake is immutable: deliver a "
                    "correction as a new file"
                )
            continue
        if checksum in first_delivery:
            duplicates.append((delivery, checksum, first_delivery[checksum]))
            log.warning("%s is a duplicate of %s; not loaded again", delivery.path, first_delivery[checksum])
            continue
        day_open = config.calendar.is_open(delivery.business_date)
        result, encoding = _read_delivery(delivery, config, day_open)
        result = dataclasses.replace(result, file_sha256=checksum)
        new_files.append((delivery, checksum, result, encoding))
        if result.rows_in:
            first_delivery[checksum] = f"{delivery.business_date.isoformat()}/{delivery.name}"

    own_new = [r for d, _, r, _ in new_files if d.business_date == business_date]
    own_landed = manifest[
        (manifest["business_date"] == business_date) & (manifest["status"] == STATUS_LOADED)
    ]
    if is_open and own_landed.empty and not any(len(r.loaded) for r in own_new):
        own_duplicates = [original for d, _, original in duplicates if d.business_date == business_date]
        if own_duplicates and not own_new:
            raise IngestError(
                f"exports for business date {business_date} in {day_dir} are only duplicates of files already "
                f"landed ({', '.join(own_duplicates)}): the day's own export is missing"
            )
        raise IngestError(f"exports for business date {business_date} in {day_dir} hold no valid line")

    ingested_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)  # when, for freshness checks; never read back
    for delivery, checksum, result, _ in new_files:
        keep_landed_copy(
            delivery.path, landed_copy(settings, delivery.business_date, checksum, delivery.name)
        )
        if len(result.loaded):
            write_lake_file(
                lake_file(settings, delivery.business_date, checksum),
                result.loaded.assign(file_sha256=checksum),
            )

    accounting = pd.DataFrame(
        [
            {
                "business_date": d.business_date,
                "source_file": d.name,
                "source_path": d.path,
                "file_sha256": checksum,
                "file_bytes": d.size,
                "status": STATUS_LOADED,
                "duplicate_of": None,
                "rows_in": r.rows_in,
                "rows_loaded": len(r.loaded),
                "rows_quarantined": len(r.quarantined),
                "revenue_in": r.revenue_in,
                "revenue_loaded": float((r.loaded["quantity"] * r.loaded["unit_price"]).sum())
                if len(r.loaded)
                else 0.0,
                "revenue_quarantined": float(r.quarantined["revenue"].sum()) if len(r.quarantined) else 0.0,
                "encoding": encoding,
                "unexpected_columns": json.dumps(list(r.unexpected_columns))
                if r.unexpected_columns
                else None,
            }
            for d, checksum, r, encoding in new_files
        ]
        + [
            {
                "business_date": d.business_date,
                "source_file": d.name,
                "source_path": d.path,
                "file_sha256": checksum,
                "file_bytes": d.size,
                "status": STATUS_DUPLICATE,
                "duplicate_of": original,
                "rows_in": 0,
                "rows_loaded": 0,
                "rows_quarantined": 0,
                "revenue_in": 0.0,
                "revenue_loaded": 0.0,
                "revenue_quarantined": 0.0,
            }
            for d, checksum, original in duplicates
        ],
        columns=list(MONITORING_TABLES["monitoring.ingest_runs"]),
    )
    accounting["landed_by_run_date"] = business_date
    accounting["ingested_at"] = ingested_at
    accounting["run_id"] = run_id
    quarantine = pd.concat(
        [r.quarantined.assign(file_sha256=checksum) for _, checksum, r, _ in new_files if len(r.quarantined)]
        or [pd.DataFrame(columns=[*QUARANTINE_COLUMNS, "file_sha256"])],
        ignore_index=True,
    )
    quarantine["run_id"] = run_id
    # a new file for a day before the latest one already landed (or before tonight) arrived late
    landed_before = manifest.loc[manifest["status"] == STATUS_LOADED, "business_date"]
    latest = max([business_date, *landed_before])
    requests = pd.DataFrame(
        [
            {
                "business_date": d.business_date,
                "source_file": d.name,
                "file_sha256": checksum,
                "requested_by_run_date": business_date,
                "done_by_run_date": None,
                "run_id": run_id,
            }
            for d, checksum, _, _ in new_files
            if d.business_date < latest
        ],
        columns=list(MONITORING_TABLES["monitoring.rebuild_requests"]),
    )

    if len(accounting):
        _record(connection, accounting, quarantine, requests)
    if any(len(r.loaded) for _, _, r, _ in new_files):
        ensure_raw_view(connection, settings)
    day = connection.execute(
        """
            select count(*), coalesce(sum(rows_in), 0), coalesce(sum(rows_loaded), 0),
                coalesce(sum(rows_quarantined), 0)
            from monitoring.ingest_runs where business_date = ? and status = 'loaded'
            """,
        [business_date],
    ).fetchone()
    late = sorted(set(requests["business_date"]))
    summary = {
        "business_date": business_date.isoformat(),
        "files": int(day[0]),
        "rows_in": int(day[1]),
        "rows_loaded": int(day[2]),
        "rows_quarantined": int(day[3]),
        "open_day": is_open,
        "new_files": [f"{d.business_date.isoformat()}/{d.name}" for d, _, _, _ in new_files],
        "duplicates": {f"{d.business_date.isoformat()}/{d.name}": original for d, _, original in duplicates},
        # days whose marts (and the marts of every day after them) must be rebuilt: monitoring.rebuild_requests
        "late_days": [day.isoformat() for day in late],
        "unexpected_columns": {
            r.source_file: list(r.unexpected_columns) for _, _, r, _ in new_files if r.unexpected_columns
        },
        "encodings": {r.source_file: e for _, _, r, e in new_files if e},
    }
    log.info("ingested %s", summary)
    return summary


def _record(connection, accounting: pd.DataFrame, quarantine: pd.DataFrame, requests: pd.DataFrame) -> None:
    """Write the run's accounting, quarantine and rebuild rows in one transaction, replacing any a killed run of
    the same files left behind."""
    frames = {"_accounting": accounting, "_quarantine": quarantine, "_requests": requests}
    for name, frame in frames.items():
        connection.register(name, frame)
    try:
        connection.execute("begin transaction")
        try:
            connection.execute(
                """
                delete from monitoring.ingest_runs as t using _accounting as a
                where t.business_date = a.business_date and t.source_file = a.source_file
                    and t.file_sha256 = a.file_sha256
                """
            )
            for table in ("monitoring.quarantine", "monitoring.rebuild_requests"):
                # only a loaded file has quarantine rows or rebuild requests; a duplicate shares its checksum
                connection.execute(
                    f"delete from {table} as t using _accounting as a "  # noqa: S608 - code-defined names
                    "where a.status = 'loaded' and t.business_date = a.business_date "
                    "and t.file_sha256 = a.file_sha256"
                )
            connection.execute("insert into monitoring.ingest_runs by name select * from _accounting")
            connection.execute("insert into monitoring.quarantine by name select * from _quarantine")
            connection.execute("insert into monitoring.rebuild_requests by name select * from _requests")
            connection.execute("commit")
        except Exception:
            connection.execute("rollback")
            raise
    finally:
        for name in frames:
            connection.unregister(name)
