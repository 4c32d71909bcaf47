"""Ingest a business day's export into the immutable raw lake, and pick up files that arrived late.

The source system drops its export for business day D into `landing/<dataset>/<D>/` (one or more files, in the
dataset config's `landing.format`: csv, parquet or jsonl; the folder may be a local path or an fsspec URL). This
job reads every file as text (`daybreak.ingest.exports`), maps the export's columns onto Daybreak's canonical sales line
(per the dataset config), checks every row against the built-in `QUARANTINE_RULES` and the config's `validation:`
rules, and for each file:

* keeps exactly what arrived, and writes the rows that pass to the lake (`daybreak.ingest.lake`);
* records the rows that fail in `monitoring.quarantine` with the file, row, rule, a detail and the raw values;
* records one accounting row in `monitoring.ingest_runs` (`daybreak.ingest.accounting`): loaded, duplicate, or
  refused with the reason.

Files are identified by their SHA-256, so the same file delivered twice (under another name, or into another
day's folder) loads once: the second delivery gets an accounting row with status `duplicate`, naming the first.
A rerun finds its files already landed (same name, same checksum) and changes nothing, so a night is idempotent.
A landed file never changes: a file that changed under a landed name is refused. A correction comes under a new
name, and the dataset's `landing.corrections` says whether it adds to its day's files or replaces them
(docs/operations.md, "Corrections").

Late files: each night also looks `landing.late_files_lookback_days` days back for files that were not there
when those days were ingested. Such a file lands in its own day's partition like any other, and its accounting
row records `landed_by_run_date` = tonight, which marks its day and every later one for rebuild: the transform job
of tonight rebuilds the fact marts from that day on (see `daybreak.ingest.accounting.rebuild_from`), and as-of
snapshots of the nights in between are rebuilt by backfilling those nights (docs/architecture.md, "Late files").
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging

from daybreak.core.settings import Settings, get_settings
from daybreak.datasets import load_dataset_config
from daybreak.ingest.accounting import ensure_tables
from daybreak.ingest.canonical import IngestError
from daybreak.ingest.day import ingest_days
from daybreak.ingest.deliveries import deliveries, missing_export
from daybreak.warehouse.connection import connect

__all__ = ["IngestError", "run", "run_days"]

log = logging.getLogger(__name__)
# nights are ingested together until their deliveries reach this many bytes (about 800,000 CSV lines): few enough
# passes that the per-pass costs vanish, small enough that the rows in memory stay well under a gigabyte
BATCH_BYTES = 64 << 20


def run(business_date: dt.date, run_id: str, settings: Settings | None = None) -> dict:
    """Ingest business day `business_date`, and any file that arrived late for the days before it.

    Returns:
        a summary of the day: its files and rows (rows_in = rows_loaded + rows_quarantined + rows_replaced), what
        this run newly landed, duplicates it skipped, files it replaced, and `late_days`: the days late files landed in, whose marts (and every
        later day's) the next transform rebuilds (monitoring.rebuild_requests).

    Raises:
        IngestError: no export (or an empty one) for an open business day, a missing column, an unreadable file,
            or a landed file that changed. Nothing lands in any of these cases; a refused file is recorded in
            `monitoring.ingest_runs` with status `refused` and the reason.
    """
    return run_days([business_date], run_id, settings)[0]


def run_days(days: list[dt.date], run_id: str, settings: Settings | None = None) -> list[dict]:
    """`run` for several days in order, on one warehouse connection: the bulk history load's ingest.

    Each day is ingested exactly as its own night would be (its summary is `run`'s), nights batched together
    (`daybreak.ingest.day.ingest_days`) up to `BATCH_BYTES` of deliveries; the first day that fails raises,
    leaving the days before it landed.
    """
    settings = settings or get_settings()
    config = load_dataset_config(settings.dataset)
    # when a file landed, for `daybreak freshness` only: the wall clock is never read back by pipeline logic
    ingested_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    summaries: list[dict] = []
    listed: dict = {}  # the landing folders listed so far, shared by the nights
    warned: set[str] = set()  # unmapped columns named so far: one warning per column per load
    with contextlib.ExitStack() as stack:
        connection = None  # opened at the first day that has something to ingest
        batch, batch_bytes = [], 0
        for position, business_date in enumerate(days):
            found = deliveries(settings, config, business_date, listed)
            error = missing_export(settings, config, business_date, found)
            if error is None:
                if connection is None:
                    connection = stack.enter_context(connect(settings.warehouse_path))
                    ensure_tables(connection)
                batch.append((business_date, found))
                batch_bytes += sum(d.size for d in found if d.business_date == business_date)
            if batch and (error is not None or batch_bytes >= BATCH_BYTES or position == len(days) - 1):
                summaries.extend(
                    ingest_days(
                        connection,
                        settings,
                        config,
                        batch,
                        ingested_at=ingested_at,
                        run_id=run_id,
                        warned_columns=warned,
                    )
                )
                batch, batch_bytes = [], 0
            if error is not None:
                raise error
    return summaries
