"""Ingest's accounting in `monitoring`: one row per delivered file, its quarantined rows, and rebuild requests.

Every file ingest sees gets one `monitoring.ingest_runs` row: `loaded` (rows_in = rows_loaded + rows_quarantined,
and the same for revenue, which the warehouse's reconciliation test checks to the cent), `replaced` (loaded, then
replaced by a later delivery for its day, `landing.corrections: replace`: its loaded rows and revenue move to
rows_replaced and revenue_replaced, so rows_in = rows_loaded + rows_quarantined + rows_replaced holds for every
row), `duplicate` (its bytes landed before; 0 rows) or `refused` (unreadable, empty on an open day, changed after it
landed; with the reason), so a refused file leaves a trace even though the night fails. The shapes are
`daybreak.warehouse.tables`'.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from daybreak.ingest.canonical import row_revenue
from daybreak.warehouse import tables
from daybreak.warehouse.connection import connect, transaction
from daybreak.warehouse.schemas.monitoring import INGEST_RUNS as RUNS
from daybreak.warehouse.schemas.monitoring import QUARANTINE
from daybreak.warehouse.schemas.monitoring import REBUILD_REQUESTS as REBUILDS

if TYPE_CHECKING:
    import duckdb

    from daybreak.core.settings import Settings
    from daybreak.ingest.canonical import FileResult

STATUS_LOADED = "loaded"
STATUS_DUPLICATE = "duplicate"
STATUS_REFUSED = "refused"
STATUS_REPLACED = "replaced"
# a day's counts in a night's summary: its loaded files and the rows of its loaded and replaced files, over every
# night that landed one
DAY_TOTALS = ("files", "rows_in", "rows_loaded", "rows_quarantined", "rows_replaced")


def ensure_tables(connection: duckdb.DuckDBPyConnection) -> None:
    """Create every declared table, or bring an older warehouse's to its declaration (`tables.ensure`).

    Ingest is the first writer of every night, so dbt's sources for predictions, registry and monitoring exist
    (empty) before the first `dbt build` tests them."""
    tables.ensure(connection, *tables.TABLES.values())


def landed_manifest(connection: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every file already landed (loaded or duplicate) per `monitoring.ingest_runs`; refused files never landed."""
    frame = connection.execute(
        "select business_date, source_file, file_sha256, file_bytes, status, rows_in, rows_loaded, rows_quarantined, "  # noqa: S608 - a declared name
        "rows_replaced "
        f"from {RUNS.qualified} where status <> ?",
        [STATUS_REFUSED],
    ).df()
    frame["business_date"] = pd.to_datetime(frame["business_date"]).dt.date
    return frame


def file_row(
    business_date: dt.date,
    name: str,
    path: str,
    file_sha256: str,
    size: int,
    result: FileResult | None = None,
    *,
    encoding: str | None = None,
    status: str = STATUS_LOADED,
    duplicate_of: str | None = None,
    reason: str | None = None,
) -> dict:
    """One `monitoring.ingest_runs` row (without the run's lineage columns): a loaded file's counts and revenue
    from its `result`, or zeros for a duplicate or a refused file."""
    loaded = result.loaded if result is not None else pd.DataFrame()
    quarantined = result.quarantined if result is not None else pd.DataFrame()
    return {
        "business_date": business_date,
        "source_file": name,
        "source_path": path,
        "file_sha256": file_sha256,
        "file_bytes": size,
        "status": status,
        "duplicate_of": duplicate_of,
        "rows_in": result.rows_in if result is not None else 0,
        "rows_loaded": len(loaded),
        "rows_quarantined": len(quarantined),
        "rows_replaced": 0,
        "revenue_in": result.revenue_in if result is not None else 0.0,
        "revenue_loaded": float(row_revenue(loaded).sum()) if len(loaded) else 0.0,
        "revenue_quarantined": float(quarantined["revenue"].sum()) if len(quarantined) else 0.0,
        "revenue_replaced": 0.0,
        "encoding": encoding,
        "unexpected_columns": json.dumps(list(result.unexpected_columns))
        if result is not None and result.unexpected_columns
        else None,
        "reason": reason,
        "replaced_by": None,
        "replaced_by_run_date": None,
    }


def record(
    connection: duckdb.DuckDBPyConnection,
    rows: list[dict],
    quarantined: list[pd.DataFrame],
    requests: list[dict],
    *,
    run_date: dt.date,
    ingested_at: dt.datetime,
    run_id: str,
) -> None:
    """Write a run's accounting, quarantine and rebuild rows in one transaction, replacing any that a killed or
    refused run of the same files left behind.

    Args:
        rows: `file_row`s; `landed_by_run_date` is `run_date`.
        quarantined: the loaded files' quarantined rows, each with its `file_sha256`.
        requests: `(business_date, source_file, file_sha256)` mappings of late files.
    """
    record_nights(
        connection, [Night(run_date, rows, quarantined, requests)], ingested_at=ingested_at, run_id=run_id
    )


@dataclass(frozen=True)
class Night:
    """One night's accounting rows (`record`'s arguments), for `record_nights`, and the loaded files it replaced
    (`business_date`, `source_file`, `file_sha256`, `replaced_by`)."""

    run_date: dt.date
    rows: list[dict]
    quarantined: list[pd.DataFrame]
    requests: list[dict]
    replaced: list[dict] = field(default_factory=list)


def record_nights(
    connection: duckdb.DuckDBPyConnection, nights: list[Night], *, ingested_at: dt.datetime, run_id: str
) -> None:
    """`record` for several nights in one transaction: the bulk load's, whose per-night transactions cost more
    than their rows. Each row keeps its own night as `landed_by_run_date` / `requested_by_run_date`."""
    lineage = {"run_id": run_id}
    columns = [c for c in RUNS.column_names if c not in ("landed_by_run_date",)]
    accounting = RUNS.conform(
        pd.DataFrame(
            [{**row, "landed_by_run_date": night.run_date} for night in nights for row in night.rows],
            columns=[*columns, "landed_by_run_date"],
        ).assign(ingested_at=ingested_at, **lineage)
    )
    quarantined = [frame for night in nights for frame in night.quarantined]
    quarantine = QUARANTINE.conform(
        pd.concat(
            quarantined or [pd.DataFrame(columns=[c for c in QUARANTINE.column_names if c != "run_id"])],
            ignore_index=True,
        ).assign(**lineage)
    )
    rebuilds = REBUILDS.conform(
        pd.DataFrame(
            [
                {**request, "requested_by_run_date": night.run_date}
                for night in nights
                for request in night.requests
            ],
            columns=["business_date", "source_file", "file_sha256", "requested_by_run_date"],
        ).assign(done_by_run_date=None, **lineage)
    )
    if not len(accounting):
        return
    # checked as written, not re-tested by every night's dbt build (Table.check)
    for table, frame in ((RUNS, accounting), (QUARANTINE, quarantine), (REBUILDS, rebuilds)):
        table.check(frame)
    frames = {"_accounting": accounting, "_quarantine": quarantine, "_requests": rebuilds}
    for name, frame in frames.items():
        connection.register(name, frame)
    try:
        with transaction(connection):
            connection.execute(
                f"""
                delete from {RUNS.qualified} as t using _accounting as a
                where t.business_date = a.business_date and t.source_file = a.source_file
                    and t.file_sha256 = a.file_sha256
                """  # noqa: S608 - a declared name
            )
            for table in (QUARANTINE, REBUILDS):
                # only a loaded file has quarantine rows or rebuild requests; a duplicate shares its checksum
                connection.execute(
                    f"delete from {table.qualified} as t using _accounting as a "  # noqa: S608 - declared names
                    "where a.status = 'loaded' and t.business_date = a.business_date "
                    "and t.file_sha256 = a.file_sha256"
                )
            for table, name in ((RUNS, "_accounting"), (QUARANTINE, "_quarantine"), (REBUILDS, "_requests")):
                connection.execute(f"insert into {table.qualified} by name select * from {name}")  # noqa: S608
            replaced = [
                [
                    gone["replaced_by"],
                    night.run_date,
                    gone["business_date"],
                    gone["source_file"],
                    gone["file_sha256"],
                ]
                for night in nights
                for gone in night.replaced
            ]
            if replaced:
                connection.executemany(REPLACE_SQL, replaced)
    finally:
        for name in frames:
            connection.unregister(name)


# a loaded file replaced by a later delivery: its loaded rows and revenue become replaced ones
REPLACE_SQL = f"""
update {RUNS.qualified}
set status = '{STATUS_REPLACED}', replaced_by = ?, replaced_by_run_date = ?,
    rows_replaced = rows_loaded, rows_loaded = 0, revenue_replaced = revenue_loaded, revenue_loaded = 0
where business_date = ? and source_file = ? and file_sha256 = ? and status = '{STATUS_LOADED}'
"""  # noqa: S608 - a declared name and constants


PENDING_REBUILDS_SQL = f"""
select min(business_date)
from {REBUILDS.qualified}
where business_date < ? and (done_by_run_date is null or done_by_run_date = ?)
"""  # noqa: S608 - a declared name


def rebuild_from(settings: Settings, business_date: dt.date) -> dt.date | None:
    """The earliest day before `business_date` whose marts a late file made stale, or None (the transform's
    `rebuild_from` var).

    Requests this same night already served count too, so a rerun of the night does the same work and writes the
    same tables. Rebuilding a day means rebuilding every later one, which the incremental models do by replacing
    every date from this one to the run date.
    """
    if not settings.warehouse_path.exists():
        return None
    with connect(settings.warehouse_path, read_only=True) as connection:
        if not _has_rebuild_requests(connection):
            return None
        return connection.execute(PENDING_REBUILDS_SQL, [business_date, business_date]).fetchone()[0]


def _has_rebuild_requests(connection) -> bool:
    return tables.exists(connection, REBUILDS.qualified)


def mark_rebuilt(settings: Settings, business_date: dt.date) -> None:
    """Record that tonight's build served every pending request for the days before it."""
    with connect(settings.warehouse_path) as connection:
        if _has_rebuild_requests(connection):
            connection.execute(
                f"update {REBUILDS.qualified} set done_by_run_date = ? "  # noqa: S608 - a declared name
                "where business_date < ? and done_by_run_date is null",
                [business_date, business_date],
            )
