"""One business day's ingest: find the deliveries, decide what each one is, land the new ones, account for all.

A file is identified by its SHA-256, so the same bytes delivered twice (under another name, or into another
day's folder) load once: the second delivery is accounted as `duplicate`, naming the first. A rerun finds its
files already landed (same name, same checksum) and changes nothing. A landed file is never replaced: a file that
changed under a landed name is refused. Each night also looks `landing.late_files_lookback_days` back for files
that were not there when those days were ingested; such a file lands in its own day's partition and asks for
its day and every later one to be rebuilt (`monitoring.rebuild_requests`).

A file that cannot be ingested (unreadable, empty on an open day, changed after it landed) is accounted as
`refused` with the reason, and then `IngestError` stops the night.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import functools
import logging
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from daybreak.core.settings import pseudonym_key
from daybreak.datasets.calendar import BusinessCalendar
from daybreak.ingest import accounting, lake
from daybreak.ingest.canonical import (
    LOADED_COLUMNS,
    FileResult,
    IngestError,
    RawFile,
    check_columns,
    to_canonical_many,
)
from daybreak.ingest.exports import Export, ExportReadError, read_export
from daybreak.ingest.pseudonymise import pseudonymise
from daybreak.privacy.links import LinkStore

if TYPE_CHECKING:
    import duckdb

    from daybreak.core.settings import Settings
    from daybreak.datasets import DatasetConfig

log = logging.getLogger(__name__)
# deliveries are prepared in chunks of about this many bytes (a bulk load's 64 MB batch gives each core several):
# big enough that a chunk's one pass of the rules costs little per line
PREPARE_CHUNK_BYTES = 8 << 20


@dataclass(frozen=True)
class Delivery:
    """One file found in a landing day folder."""

    business_date: dt.date
    path: str
    name: str
    size: int


@dataclass(frozen=True)
class Refusal:
    """A file ingest will not land, and why (recorded, then raised)."""

    delivery: Delivery
    file_sha256: str
    reason: str


def deliveries(
    settings: Settings,
    config: DatasetConfig,
    business_date: dt.date,
    listed: dict[dt.date, list[Delivery]] | None = None,
) -> list[Delivery]:
    """The run date's files, then files in the lookback window's folders, oldest day first.

    Args:
        listed: folders already listed by this run, by day (filled in here): consecutive nights of a bulk load
            share 14 of their 15 folders, so each is listed once.
    """
    listed = {} if listed is None else listed
    days = [
        business_date - dt.timedelta(days=back) for back in range(config.late_files_lookback_days, -1, -1)
    ]
    for day in days:
        if day not in listed:
            listed[day] = [
                Delivery(day, str(path), posixpath.basename(str(path)), lake.size_of(path))
                for path in lake.find_exports(settings, config, day)
            ]
    return [delivery for day in days for delivery in listed[day]]


def missing_export(settings: Settings, config: DatasetConfig, business_date: dt.date, found: list[Delivery]):
    """The error for an open business day without an export of its own, or None."""
    if not BusinessCalendar.from_config(config).is_open(business_date) or any(
        d.business_date == business_date for d in found
    ):
        return None
    day_dir = settings.landing_dir / business_date.isoformat()
    return IngestError(
        f"no export for business date {business_date}: expected file(s) matching {day_dir / config.landing_glob}"
    )


def read_delivery(delivery: Delivery, config: DatasetConfig) -> tuple[RawFile | FileResult, Export | None]:
    """Read one file and check it has the columns the config reads; its rows for `to_canonical_many` (an empty
    file's result at once), and the export as read, for its encoding and the lines before its header.

    Raises:
        IngestError: the file cannot be read, lacks a column, or is empty although the shop was open that day.
    """
    try:
        export = read_export(
            delivery.path, config.landing_format, config.landing.delimiter, config.export_columns
        )
    except ExportReadError as error:
        raise IngestError(
            f"export {delivery.path} for business date {delivery.business_date} cannot be read: {error}"
        ) from error
    if export.rows_in == 0 and BusinessCalendar.from_config(config).is_open(delivery.business_date):
        raise IngestError(
            f"export {delivery.path} for business date {delivery.business_date} is empty (the shop was open)"
        )
    if export.rows_in == 0 and export.rows.columns.empty:
        empty = pd.DataFrame(columns=list(LOADED_COLUMNS))
        return FileResult(delivery.name, "", 0, empty, pd.DataFrame()), None
    check_columns(list(export.rows.columns), config, delivery.name, delivery.business_date)
    rows = RawFile(
        export.rows, delivery.name, delivery.business_date, export.rows.index, export.malformed, export.table
    )
    return rows, export


@dataclass(frozen=True)
class Prepared:
    """A new delivery read, checked, mapped onto canonical lines and pseudonymised before its night is planned,
    its valid lines written beside their lake file (`staged`). Landing renames the staged file into the lake once
    the file's links are stored; a file the night does not land (a duplicate, a night after a refusal) has it
    removed.

    Attributes:
        result: the mapped file; None when it could not be read (`error`), or was not read because its bytes
            already landed (a duplicate). Its `loaded` keeps only the columns the accounting sums: the lines are
            in the staged file, and sending them back from a worker process would cost more than writing them.
        links: source customer id -> pseudonym, for every id the file holds.
        error: why the file cannot be ingested (`read_delivery`'s `IngestError`), for the night to refuse it.
        preamble_lines: lines before the file's header (a report title, Excel's `sep=` line), not read.
    """

    delivery: Delivery
    checksum: str
    result: FileResult | None
    encoding: str | None = None
    links: dict[str, str] = dataclasses.field(default_factory=dict)
    staged: Path | None = None
    error: str | None = None
    preamble_lines: int = 0


def prepare_files(
    settings: Settings, config: DatasetConfig, key: bytes, landed: frozenset[str], found: list[Delivery]
) -> list[Prepared]:
    """Read, map (one `to_canonical_many` pass: the rules cost per call far more than per line), pseudonymise and
    stage the lake files of some deliveries; pure but for the staged files, so it runs in a worker process. A
    file whose bytes already landed (`landed` checksums) is a duplicate, and is not read."""
    prepared: list[Prepared] = []
    reads: list[tuple[Delivery, str, RawFile | FileResult, str | None]] = []
    for delivery in found:
        checksum = lake.sha256_of(delivery.path)
        if checksum in landed:
            prepared.append(Prepared(delivery, checksum, None))
            continue
        try:
            read, export = read_delivery(delivery, config)
        except IngestError as error:
            prepared.append(Prepared(delivery, checksum, None, error=str(error)))
            continue
        reads.append((delivery, checksum, read, export))
    mapped = iter(to_canonical_many([read for *_, read, _ in reads if isinstance(read, RawFile)], config))
    for delivery, checksum, read, export in reads:
        result = next(mapped) if isinstance(read, RawFile) else read
        result, links = pseudonymise(dataclasses.replace(result, file_sha256=checksum), config, key)
        staged = None
        if len(result.loaded):
            target = lake.lake_file(settings, delivery.business_date, checksum)
            staged = lake.stage_lake_file(target, result.loaded.assign(file_sha256=checksum), delivery.name)
        accounted = dataclasses.replace(result, loaded=result.loaded[["quantity", "unit_price"]])
        encoding, preamble = (export.encoding, export.preamble_lines) if export else (None, 0)
        prepared.append(
            Prepared(delivery, checksum, accounted, encoding, links, staged, preamble_lines=preamble)
        )
    return prepared


def prepare(
    settings: Settings, config: DatasetConfig, manifest: Manifest, found: list[Delivery]
) -> dict[tuple[dt.date, str], Prepared]:
    """`prepare_files` for every delivery, by (business date, name): in worker processes, one per core, when the
    deliveries are more than one chunk of `PREPARE_CHUNK_BYTES` (a bulk load's nights), else here (a night).

    Raises:
        SettingsError: `DAYBREAK_PSEUDONYM_KEY` is unset.
    """
    if not found:
        return {}
    key = pseudonym_key()
    landed = frozenset(manifest.first_delivery)
    chunks: list[list[Delivery]] = [[]]
    size = 0
    for delivery in found:
        if chunks[-1] and size + delivery.size > PREPARE_CHUNK_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(delivery)
        size += delivery.size
    workers = min(os.cpu_count() or 1, len(chunks))
    if workers < 2:
        done = [prepare_files(settings, config, key, landed, chunk) for chunk in chunks]
    else:
        work = functools.partial(prepare_files, settings, config, key, landed)
        with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
            done = list(pool.map(work, chunks))
    return {(p.delivery.business_date, p.delivery.name): p for chunk in done for p in chunk}


@dataclass
class Plan:
    """What a night does with its deliveries: the files to land, the duplicates to account, a refusal."""

    new_files: list[Prepared] = dataclasses.field(default_factory=list)
    duplicates: list[tuple[Delivery, str, str]] = dataclasses.field(default_factory=list)
    refusal: Refusal | None = None
    # what had landed before the night: a loaded file of its own day, and the latest day with a loaded file
    day_landed_before: bool = False
    latest_landed: dt.date | None = None


@dataclass
class Manifest:
    """What has landed, as a night's plan reads it: read from `monitoring.ingest_runs` once, then carried forward
    night by night, so a bulk load of hundreds of nights does not re-read a growing table for each.

    Attributes:
        recorded: (business date, file name) -> (SHA-256, bytes) of every landed file (loaded or duplicate).
        first_delivery: SHA-256 -> `<day>/<name>` of the loaded file with those bytes and at least one row.
        loaded_days: the days with a loaded file.
    """

    recorded: dict[tuple[dt.date, str], tuple[str, int]]
    first_delivery: dict[str, str]
    loaded_days: set[dt.date]

    @classmethod
    def of(cls, frame: pd.DataFrame) -> Manifest:
        """From `accounting.landed_manifest`."""
        manifest = cls({}, {}, set())
        for row in frame.itertuples(index=False):
            manifest.add(
                row.business_date, row.source_file, row.file_sha256, row.file_bytes, row.status, row.rows_in
            )
        return manifest

    def add(self, day: dt.date, name: str, checksum: str, size: int, status: str, rows_in: int) -> None:
        self.recorded[(day, name)] = (checksum, size)
        if status == accounting.STATUS_LOADED:
            self.loaded_days.add(day)
            # files without rows (a closed day's header-only export) are alike by nature, not duplicates
            if rows_in > 0:
                self.first_delivery[checksum] = f"{day.isoformat()}/{name}"

    def land(self, night: Plan) -> None:
        """Add a planned night's new files and duplicates."""
        for new in night.new_files:
            d = new.delivery
            self.add(
                d.business_date, d.name, new.checksum, d.size, accounting.STATUS_LOADED, new.result.rows_in
            )
        for d, checksum, _ in night.duplicates:
            self.add(d.business_date, d.name, checksum, d.size, accounting.STATUS_DUPLICATE, 0)


def plan(
    manifest: Manifest,
    found: list[Delivery],
    prepared: dict[tuple[dt.date, str], Prepared],
    business_date: dt.date,
    settings: Settings | None = None,
) -> Plan:
    """Sort the night's deliveries against what already landed; stops at the first file it refuses.

    Args:
        prepared: every delivery not landed before, by (business date, name) (`prepare`).

    A delivery whose bytes changed after it landed is refused, unless an erasure rewrote it: then it equals its
    landed copy, rewritten the same way (`daybreak.nights.erasure`)."""
    recorded = manifest.recorded
    first_delivery = dict(manifest.first_delivery)
    result = Plan(
        day_landed_before=business_date in manifest.loaded_days,
        latest_landed=max(manifest.loaded_days, default=None),
    )
    for delivery in found:
        key = (delivery.business_date, delivery.name)
        if key in recorded and delivery.business_date != business_date and recorded[key][1] == delivery.size:
            continue  # landed on an earlier night; the size is enough to skip re-reading it every night
        if key in recorded:
            checksum = lake.sha256_of(delivery.path)
            if recorded[key][0] != checksum and not _scrubbed_alike(
                settings, delivery, recorded[key][0], checksum
            ):
                result.refusal = Refusal(
                    delivery,
                    checksum,
                    f"{delivery.path} for business date {delivery.business_date} changed after it landed "
                    f"(landed sha256 {recorded[key][0]}, now {checksum}); the raw lake is immutable: deliver a "
                    "correction as a new file",
                )
                return result
            continue
        new = prepared[key]
        checksum = new.checksum
        if checksum in first_delivery:
            result.duplicates.append((delivery, checksum, first_delivery[checksum]))
            log.warning("%s is a duplicate of %s; not loaded again", delivery.path, first_delivery[checksum])
            continue
        if new.error is not None:
            result.refusal = Refusal(delivery, checksum, new.error)
            return result
        result.new_files.append(new)
        if new.result.rows_in:
            first_delivery[checksum] = f"{delivery.business_date.isoformat()}/{delivery.name}"
    return result


def _scrubbed_alike(settings: Settings | None, delivery: Delivery, landed_sha: str, checksum: str) -> bool:
    if settings is None:
        return False
    copy = lake.landed_copy(settings, delivery.business_date, landed_sha, delivery.name)
    return copy.exists() and lake.sha256_of(copy) == checksum


def ingest_days(
    connection: duckdb.DuckDBPyConnection,
    settings: Settings,
    config: DatasetConfig,
    nights: list[tuple[dt.date, list[Delivery]]],
    *,
    ingested_at: dt.datetime,
    run_id: str,
) -> list[dict]:
    """Ingest nights in order: land each one's new files, account for every delivery, and summarise each day.

    Each night is planned against what the nights before it landed and ends exactly as it would alone. The
    nights' new files are prepared first, together (`prepare`: read, mapped, pseudonymised and staged, across the
    cores), and the nights share one link-store update and one accounting transaction, because those cost per
    call far more than per line (one night is a list of one). No line reaches the lake before its link is stored.

    Returns:
        one summary per night (`jobs.ingest.run`'s).

    Raises:
        IngestError: the first night with a refused file (accounted as `refused` first) or, on an open day, no
            valid line; the nights before it have landed.
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
    prepared = prepare(settings, config, manifest, list(unseen.values()))
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
) -> list[dict]:
    """`ingest_days` once the new files are prepared."""
    planned: list[tuple[dt.date, Plan]] = []
    refused: tuple[dt.date, Refusal] | None = None
    for business_date, found in nights:
        night = plan(manifest, found, prepared, business_date, settings)
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
        if new.result.unexpected_columns:
            log.warning(
                "%s has column(s) %s the dataset config does not map; kept in the lake's extra_values",
                new.delivery.path,
                list(new.result.unexpected_columns),
            )
    if store is not None:  # opened when there was anything new, so for every file landing
        changed = [store.add(new.links, new.delivery.business_date) for new in landing]
        if any(changed):
            store.save()
    for new in landing:
        d = new.delivery
        lake.keep_landed_copy(d.path, lake.landed_copy(settings, d.business_date, new.checksum, d.name))
        if new.staged is not None:
            os.replace(new.staged, lake.lake_file(settings, d.business_date, new.checksum))
    records, summaries = [], []
    totals: dict[dt.date, dict[str, int]] = {}
    _add_loaded(totals, landed.to_dict("records"))
    for business_date, night in planned:
        records.append(_night_record(night, business_date))
        _add_loaded(totals, records[-1].rows)
        summaries.append(_summary(config, business_date, night, totals))
    accounting.record_nights(connection, records, ingested_at=ingested_at, run_id=run_id)
    if any(new.staged is not None for new in landing):
        lake.ensure_raw_view(connection, settings)
    for summary in summaries:
        log.info("ingested %s", summary)
    if refused is not None:
        business_date, refusal = refused
        d = refusal.delivery
        row = accounting.file_row(
            d.business_date, d.name, d.path, refusal.file_sha256, d.size,
            status=accounting.STATUS_REFUSED, reason=refusal.reason,
        )  # fmt: skip
        record = accounting.Night(business_date, [row], [], [])
        accounting.record_nights(connection, [record], ingested_at=ingested_at, run_id=run_id)
        raise IngestError(refusal.reason)
    if failure is not None:
        raise failure
    return summaries


def _add_loaded(totals: dict[dt.date, dict[str, int]], rows: list[dict]) -> None:
    """Add the loaded files among accounting rows to each day's counts (`accounting.DAY_TOTALS`), which a night's
    summary reports over every night that landed a file of that day."""
    for row in rows:
        if row["status"] == accounting.STATUS_LOADED:
            day = totals.setdefault(row["business_date"], dict.fromkeys(accounting.DAY_TOTALS, 0))
            day["files"] += 1
            for count in ("rows_in", "rows_loaded", "rows_quarantined"):
                day[count] += int(row[count])


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
    return accounting.Night(business_date, rows, quarantined, requests)


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


def _check_day_has_lines(
    settings: Settings, config: DatasetConfig, business_date: dt.date, night: Plan
) -> None:
    """An open day must end the night with at least one valid line landed (tonight or before)."""
    if not BusinessCalendar.from_config(config).is_open(business_date):
        return
    own_new = [n.result for n in night.new_files if n.delivery.business_date == business_date]
    if night.day_landed_before or any(len(r.loaded) for r in own_new):
        return
    day_dir = settings.landing_dir / business_date.isoformat()
    own_duplicates = [original for d, _, original in night.duplicates if d.business_date == business_date]
    if own_duplicates and not own_new:
        raise IngestError(
            f"exports for business date {business_date} in {day_dir} are only duplicates of files already "
            f"landed ({', '.join(own_duplicates)}): the day's own export is missing"
        )
    raise IngestError(f"exports for business date {business_date} in {day_dir} hold no valid line")
