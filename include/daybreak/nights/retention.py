"""Retention of landed files: the raw exports are kept `landing.retention_days`, their accounting forever.

The night for business date D (never the wall clock, so a rerun or backfill removes the same files) removes every
accounted file (loaded, replaced or duplicate in `monitoring.ingest_runs`) of a business day before
D - retention_days: the landing folder's export and the lake's landed copy. Their checksums, row counts and revenue stay in
`monitoring.ingest_runs`, and their valid lines (pseudonymised) in the Parquet lake; the day's folder stays, empty,
so the schedule still knows the day landed. Each removed file gets a `monitoring.privacy_audit` row; a rerun finds
nothing left to remove and writes none.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from daybreak.ingest import accounting, lake
from daybreak.warehouse import tables
from daybreak.warehouse.schemas.monitoring import INGEST_RUNS

if TYPE_CHECKING:
    import duckdb

    from daybreak.core.settings import Settings

REQUEST = "retention"


def expired_files(
    connection: duckdb.DuckDBPyConnection, settings: Settings, business_date: dt.date, retention_days: int
) -> list[Path]:
    """The landed files the night for `business_date` removes (those still present)."""
    if not tables.exists(connection, INGEST_RUNS.qualified):
        return []
    cutoff = business_date - dt.timedelta(days=retention_days)
    rows = connection.execute(
        f"select distinct business_date, source_file, file_sha256 from {INGEST_RUNS.qualified} "  # noqa: S608
        "where business_date < ? and status in (?, ?, ?) order by all",
        [cutoff, accounting.STATUS_LOADED, accounting.STATUS_DUPLICATE, accounting.STATUS_REPLACED],
    ).fetchall()
    paths = []
    for day, source, checksum in rows:
        paths.append(lake.landed_copy(settings, day, checksum, source))
        paths.append(settings.landing_dir / day.isoformat() / source)
    return [p for p in dict.fromkeys(paths) if p.exists()]


def remove_expired(
    connection: duckdb.DuckDBPyConnection,
    settings: Settings,
    business_date: dt.date,
    retention_days: int | None,
    run_id: str,
) -> list[tuple]:
    """Remove the expired landed files; returns their audit rows (for `erasure.write_audit`)."""
    if retention_days is None:
        return []
    reason = (
        f"landed before {business_date - dt.timedelta(days=retention_days)} (retention_days {retention_days})"
    )
    rows = []
    for path in expired_files(connection, settings, business_date, retention_days):
        path.unlink()
        if path.parent.parent.name.startswith("business_date=") and not any(path.parent.iterdir()):
            path.parent.rmdir()  # the landed copy's checksum folder
        target = str(path.relative_to(settings.home))
        rows.append((business_date, REQUEST, "remove_landed_file", target, 1, reason, run_id))
    return rows
