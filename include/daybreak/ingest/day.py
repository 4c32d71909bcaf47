"""One business day's ingest: find the deliveries, decide what each one is, land the new ones, account for all.

`ingest_days` runs nights in order, each ending exactly as it would alone: its deliveries are found
(`daybreak.ingest.deliveries`), the new ones prepared across the cores (`daybreak.ingest.preparation`), each
sorted against what already landed (`daybreak.ingest.night_plan`), then the new files land and every delivery is
accounted for (`daybreak.ingest.accounting`). A file found late, for a day already ingested, lands in its own
day's partition and asks for its day and every later one to be rebuilt (`monitoring.rebuild_requests`).

A file that cannot be ingested (unreadable, empty on an open day, changed after it landed) is accounted as
`refused` with the reason, and then `RefusedExportError` stops the night (an `IngestError` a retry cannot fix); so
does an open day whose files have no valid line. Under `landing.corrections: replace` a new file for a day replaces
the day's earlier files: their lake files are removed and their accounting rows become `replaced`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import TYPE_CHECKING

import pandas as pd

from daybreak.datasets.calendar import BusinessCalendar
from daybreak.ingest import accounting, lake
from daybreak.ingest.canonical import IngestError, RefusedExportError
from daybreak.ingest.deliveries import Delivery
from daybreak.ingest.night_plan import Manifest, Plan, Refusal, Replacement, plan
from daybreak.ingest.preparation import Prepared, prepare
from daybreak.privacy.links import LinkStore

if TYPE_CHECKING:
    import duckdb

    from daybreak.core.settings import Settings
    from daybreak.datasets import DatasetConfig

log = logging.getLogger(__name__)


def ingest_days(
    connection: duckdb.DuckDBPyConnection,
    settings: Settings,
    config: DatasetConfig,
    nights: list[tuple[dt.date, list[Delivery]]],
    *,
    ingested_at: dt.datetime,
    run_id: str,
    warned_columns: set[str] | None = None,
) -> list[dict]:
    """Ingest nights in order: land each one's new files, account for every delivery, and summarise each day.

    Each night is planned against what the nights before it landed and ends exactly as it would alone. The
    nights' new files are prepared first, together (`prepare`: read, mapped, pseudonymised and staged, across the
    cores), and the nights share one link-store update and one accounting transaction, because those cost per
    call far more than per line (one night is a list of one). No line reaches the lake before its link is stored.

    Args:
        warned_columns: the unmapped columns a warning has already named in this load (updated): each column is
            named once per load, however many files have it.

    Returns:
        one summary per night (`jobs.ingest.run`'s).

    Raises:
        RefusedExportError: the first night with a refused file (accounted as `refused` first), or with an open
            day whose files have no valid line; the nights before it have landed.
        IngestError: an open day whose only files are duplicates; the nights before it have landed.
    """
    landed = accounting.landed_manifest(connection)
    manifest = Manifest.of(landed)
    unseen = {
        (d.business_date, d.name): d
        for _, found in nights
        for d in found
        if (d.business_date, d.name) not in manifest.recorded
    }
    store = LinkStore.open(settings) if unseen else None  # its key is checked before any work
    prepared = prepare(settings, config, frozenset(manifest.first_delivery), list(unseen.values()))
    try:
        return _land_nights(
            connection,
            settings,
            config,
            nights,
            manifest,
            landed,
            prepared,
            store,
            ingested_at=ingested_at,
            run_id=run_id,
            warned_columns=set() if warned_columns is None else warned_columns,
        )
    finally:
        for new in prepared.values():  # what was not landed: duplicates, nights after a refusal
            if new.staged is not None:
                new.staged.unlink(missing_ok=True)


def _land_nights(
    connection: duckdb.DuckDBPyConnection,
    settings: Settings,
    config: DatasetConfig,
    nights: list[tuple[dt.date, list[Delivery]]],
    manifest: Manifest,
    landed: pd.DataFrame,
    prepared: dict[tuple[dt.date, str], Prepared],
    store: LinkStore | None,
    *,
    ingested_at: dt.datetime,
    run_id: str,
    warned_columns: set[str],
) -> list[dict]:
    """`ingest_days` once the new files are prepared."""
    planned: list[tuple[dt.date, Plan]] = []
    refused: tuple[dt.date, Refusal] | None = None
    for business_date, found in nights:
        night = plan(manifest, found, prepared, business_date, settings, config.landing.corrections)
        if night.refusal is not None:
            refused = (business_date, night.refusal)
            break
        planned.append((business_date, night))
        manifest.land(night)
    failure: IngestError | None = None
    for position, (business_date, night) in enumerate(planned):
        try:
            _check_day_has_lines(settings, config, business_date, night)
        except IngestError as error:
            failure, refused, planned = error, None, planned[:position]
            break

    landing = [new for _, night in planned for new in night.new_files]
    for new in landing:
        if new.encoding and new.encoding != "utf-8":
            log.warning("%s is not valid UTF-8; read as %s", new.delivery.path, new.encoding)
        if new.preamble_lines:
            log.warning(
                "%s: its header is line %d; the %d line(s) before it are not rows and were not read",
                new.delivery.path,
                new.preamble_lines + 1,
                new.preamble_lines,
            )
    _warn_unmapped(landing, warned_columns)
    if store is not None:  # opened when there was anything new, so for every file landing
        changed = [store.add(new.links, new.delivery.business_date) for new in landing]
        if any(changed):
            store.save()
    _move_into_lake(settings, landing, [gone for _, night in planned for gone in night.replaced])
    records, summaries = [], []
    totals: dict[dt.date, dict[str, int]] = {}
    _add_loaded(totals, landed.to_dict("records"))
    for business_date, night in planned:
        records.append(_night_record(night, business_date))
        _add_loaded(totals, records[-1].rows, night.replaced)
        summaries.append(_summary(config, business_date, night, totals))
    accounting.record_nights(connection, records, ingested_at=ingested_at, run_id=run_id)
    lake.ensure_raw_view(connection, settings)  # also where a night lands nothing: a moved data home's view
    for summary in summaries:
        log.debug("ingested %s", summary)  # the task logs it readably (platform.task_logs)
    if refused is not None:
        business_date, refusal = refused
        d = refusal.delivery
        row = accounting.file_row(
            d.business_date, d.name, d.path, refusal.file_sha256, d.size,
            status=accounting.STATUS_REFUSED, reason=refusal.reason,
        )  # fmt: skip
        record = accounting.Night(business_date, [row], [], [])
        accounting.record_nights(connection, [record], ingested_at=ingested_at, run_id=run_id)
        raise RefusedExportError(refusal.reason)
    if failure is not None:
        raise failure
    return summaries


def _move_into_lake(settings: Settings, landing: list[Prepared], replaced: list[Replacement]) -> None:
    """Keep each landing file's bytes, move its staged lines into the lake, and take the lines of the files the
    nights replaced out of it (their landed copies stay). A file replaced the night it lands never enters the lake;
    a replaced file's lake file stays when a file landing tonight has the same bytes for the same day."""
    gone = {(g.business_date, g.name) for g in replaced}
    kept = set()
    for new in landing:
        d = new.delivery
        lake.keep_landed_copy(d.path, lake.landed_copy(settings, d.business_date, new.checksum, d.name))
        if (d.business_date, d.name) in gone:
            continue  # its staged file is removed with the others not landed
        kept.add((d.business_date, new.checksum))
        if new.staged is not None:
            os.replace(new.staged, lake.lake_file(settings, d.business_date, new.checksum))
    for g in replaced:
        if (g.business_date, g.file_sha256) not in kept:
            lake.lake_file(settings, g.business_date, g.file_sha256).unlink(missing_ok=True)


def _add_loaded(
    totals: dict[dt.date, dict[str, int]], rows: list[dict], replaced: list[Replacement] = ()
) -> None:
    """Add the loaded (and replaced) files among accounting rows to each day's counts (`accounting.DAY_TOTALS`),
    which a night's summary reports over every night that landed a file of that day; then move the rows of the
    files a night replaced from loaded to replaced."""
    for row in rows:
        if row["status"] in (accounting.STATUS_LOADED, accounting.STATUS_REPLACED):
            day = totals.setdefault(row["business_date"], dict.fromkeys(accounting.DAY_TOTALS, 0))
            day["files"] += row["status"] == accounting.STATUS_LOADED
            for count in ("rows_in", "rows_loaded", "rows_quarantined", "rows_replaced"):
                day[count] += int(row.get(count) or 0)
    for gone in replaced:
        day = totals[gone.business_date]
        day["files"] -= 1
        day["rows_loaded"] -= gone.rows_loaded
        day["rows_replaced"] += gone.rows_loaded


def _night_record(night: Plan, business_date: dt.date) -> accounting.Night:
    """A landed night's accounting rows, quarantined rows and rebuild requests (its late files)."""
    rows = [
        accounting.file_row(
            new.delivery.business_date,
            new.delivery.name,
            new.delivery.path,
            new.checksum,
            new.delivery.size,
            new.result,
            encoding=new.encoding,
        )
        for new in night.new_files
    ] + [
        accounting.file_row(
            d.business_date,
            d.name,
            d.path,
            checksum,
            d.size,
            status=accounting.STATUS_DUPLICATE,
            duplicate_of=original,
        )  # fmt: skip
        for d, checksum, original in night.duplicates
    ]
    quarantined = [
        new.result.quarantined.assign(file_sha256=new.checksum)
        for new in night.new_files
        if len(new.result.quarantined)
    ]
    requests = [
        {"business_date": d.business_date, "source_file": d.name, "file_sha256": c}
        for d, c in _late_files(night, business_date)
    ]
    replaced = [
        {
            "business_date": g.business_date,
            "source_file": g.name,
            "file_sha256": g.file_sha256,
            "replaced_by": g.replaced_by,
        }
        for g in night.replaced
    ]
    return accounting.Night(business_date, rows, quarantined, requests, replaced)


def _late_files(night: Plan, business_date: dt.date) -> list[tuple[Delivery, str]]:
    """A new file for a day before the latest one already landed (or before tonight) arrived late."""
    latest = max(business_date, night.latest_landed or business_date)
    return [(new.delivery, new.checksum) for new in night.new_files if new.delivery.business_date < latest]


def _summary(
    config: DatasetConfig,
    business_date: dt.date,
    night: Plan,
    totals: dict[dt.date, dict[str, int]],
) -> dict:
    late = _late_files(night, business_date)
    return {
        "business_date": business_date.isoformat(),
        **totals.get(business_date, dict.fromkeys(accounting.DAY_TOTALS, 0)),
        "open_day": BusinessCalendar.from_config(config).is_open(business_date),
        "new_files": [f"{n.delivery.business_date.isoformat()}/{n.delivery.name}" for n in night.new_files],
        "duplicates": {f"{d.business_date.isoformat()}/{d.name}": o for d, _, o in night.duplicates},
        "replaced": {f"{g.business_date.isoformat()}/{g.name}": g.replaced_by for g in night.replaced},
        # days whose marts (and the marts of every day after them) must be rebuilt: monitoring.rebuild_requests
        "late_days": [day.isoformat() for day in sorted({d.business_date for d, _ in late})],
        "unexpected_columns": {
            n.result.source_file: list(n.result.unexpected_columns)
            for n in night.new_files
            if n.result.unexpected_columns
        },
        "encodings": {n.result.source_file: n.encoding for n in night.new_files if n.encoding},
        "preamble_lines": {
            n.result.source_file: n.preamble_lines for n in night.new_files if n.preamble_lines
        },
    }


def _warn_unmapped(landing: list, warned_columns: set[str]) -> None:
    """One warning per export column the config does not map, naming how many files have it and the first one;
    a column named earlier in the load (`warned_columns`) is not named again."""
    files: dict[str, list] = {}
    for new in landing:
        for column in new.result.unexpected_columns:
            files.setdefault(column, []).append(new.delivery.path)
    for column, paths in files.items():
        if column in warned_columns:
            continue
        warned_columns.add(column)
        log.warning(
            "column %r of %d file(s) (first %s) is not mapped by the dataset config: its values are kept in the "
            "lake's extra_values; list it under ignore_columns to drop it",
            column,
            len(paths),
            paths[0],
        )


def _check_day_has_lines(
    settings: Settings, config: DatasetConfig, business_date: dt.date, night: Plan
) -> None:
    """An open day must end the night with at least one valid line landed (tonight or before): the night's own
    day, and each earlier day a file landing tonight belongs to (a late file, a correction).

    Raises:
        RefusedExportError: the day's new files have no valid line (every row quarantined), naming each file and
            the rules that quarantined its rows: the same files fail the same way on every try, and on every
            later night that finds them.
        IngestError: the night's own day has only duplicates of files landed before.
    """
    calendar = BusinessCalendar.from_config(config)
    new_by_day: dict[dt.date, list[Prepared]] = {}
    for new in night.new_files:
        new_by_day.setdefault(new.delivery.business_date, []).append(new)
    for day in sorted({business_date, *new_by_day}):
        own_new = new_by_day.get(day, [])
        if (
            not calendar.is_open(day)
            or day in night.days_with_lines
            or any(len(n.result.loaded) for n in own_new)
            or (not own_new and night.day_landed_before)
        ):
            continue
        day_dir = settings.landing_dir / day.isoformat()
        if own_new:
            raise RefusedExportError(
                f"exports for business date {day} in {day_dir} hold no valid line, and the shop was open: "
                + "; ".join(_quarantined_whole(n) for n in own_new)
            )
        own_duplicates = [original for d, _, original in night.duplicates if d.business_date == day]
        if own_duplicates:
            raise IngestError(
                f"exports for business date {day} in {day_dir} are only duplicates of files already "
                f"landed ({', '.join(own_duplicates)}): the day's own export is missing"
            )
        raise IngestError(f"exports for business date {day} in {day_dir} hold no valid line")


def _quarantined_whole(new: Prepared) -> str:
    """`<file>: all N rows quarantined: <rule> (n), ...; row R: <detail>`: what set a whole file aside."""
    quarantined = new.result.quarantined
    rules = quarantined["rule"].value_counts(sort=True)
    first = quarantined.iloc[0] if len(quarantined) else None
    example = f"; row {first['source_row']}: {first['detail']}" if first is not None else ""
    counts = ", ".join(f"{rule} ({count})" for rule, count in rules.items())
    return f"{new.delivery.name}: all {new.result.rows_in} row(s) quarantined: {counts}{example}"
