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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from daybreak.canonical import LOADED_COLUMNS, FileResult, IngestError, to_canonical
from daybreak.datasets import DatasetConfig, load_dataset_config
from daybreak.exports import ExportReadError, list_exports, read_export
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
QUARANTINE_COLUMNS = ("business_date", "source_file", "source_row", "rule", "detail", "raw_values", "revenue")
STATUS_LOADED = "loaded"
STATUS_DUPLICATE = "duplicate"


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
    # rows written before a file's status and landing night were recorded: every one of them was a loaded file
    connection.execute(
        "update monitoring.ingest_runs set status = coalesce(status, 'loaded'), "
        "landed_by_run_date = coalesce(landed_by_run_date, business_date) "
        "where status is null or landed_by_run_date is null"
    )


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
