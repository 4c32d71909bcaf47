"""A night's plan: each delivery sorted against what has already landed, before anything is written.

A file is identified by its SHA-256, so the same bytes delivered twice (under another name, or into another
day's folder) load once: the second delivery is a duplicate, naming the first. A rerun finds its files already
landed (same name, same checksum) and changes nothing. A landed file never changes: a file that changed under
a landed name is refused. A correction comes under a new name, and the dataset's `landing.corrections` says what it
does: `add` to the day's files, or `replace` them (the night's `replaced`). Planning every night of a run before
landing any lets the nights share one landing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from daybreak.ingest import accounting, lake
from daybreak.ingest.deliveries import Delivery
from daybreak.ingest.preparation import Prepared

if TYPE_CHECKING:
    from daybreak.core.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refusal:
    """A file ingest will not land, and why (recorded, then raised)."""

    delivery: Delivery
    file_sha256: str
    reason: str


@dataclass(frozen=True)
class Replacement:
    """A loaded file of a day that a later delivery for the day replaces (`landing.corrections: replace`)."""

    business_date: dt.date
    name: str
    file_sha256: str
    rows_loaded: int
    replaced_by: str  # <day>/<name> of the later delivery


@dataclass
class Plan:
    """What a night does with its deliveries: the files to land, the duplicates to account, the files the new
    ones replace, a refusal."""

    new_files: list[Prepared] = dataclasses.field(default_factory=list)
    duplicates: list[tuple[Delivery, str, str]] = dataclasses.field(default_factory=list)
    replaced: list[Replacement] = dataclasses.field(default_factory=list)
    refusal: Refusal | None = None
    # what had landed before the night: a loaded file of its own day, and the latest day with a loaded file
    day_landed_before: bool = False
    latest_landed: dt.date | None = None
    # of the night's own day and its new files' days, those with loaded lines before it that it does not replace
    days_with_lines: set[dt.date] = dataclasses.field(default_factory=set)


@dataclass
class Manifest:
    """What has landed, as a night's plan reads it: read from `monitoring.ingest_runs` once, then carried forward
    night by night, so a bulk load of hundreds of nights does not re-read a growing table for each.

    Attributes:
        recorded: (business date, file name) -> (SHA-256, bytes) of every landed file (loaded or duplicate).
        first_delivery: SHA-256 -> `<day>/<name>` of the loaded file with those bytes and at least one row.
        loaded_days: the days with a loaded file.
        day_files: day -> {name: (SHA-256, rows loaded)} of its loaded files (not replaced), in landing order.
    """

    recorded: dict[tuple[dt.date, str], tuple[str, int]]
    first_delivery: dict[str, str]
    loaded_days: set[dt.date]
    day_files: dict[dt.date, dict[str, tuple[str, int]]] = dataclasses.field(default_factory=dict)

    @classmethod
    def of(cls, frame: pd.DataFrame) -> Manifest:
        """From `accounting.landed_manifest`."""
        manifest = cls({}, {}, set())
        for row in frame.itertuples(index=False):
            manifest.add(
                row.business_date, row.source_file, row.file_sha256, row.file_bytes, row.status, row.rows_in,
                row.rows_loaded,
            )  # fmt: skip
        return manifest

    def add(
        self,
        day: dt.date,
        name: str,
        checksum: str,
        size: int,
        status: str,
        rows_in: int,
        rows_loaded: int = 0,
    ) -> None:
        self.recorded[(day, name)] = (checksum, size)
        if status == accounting.STATUS_LOADED:
            self.loaded_days.add(day)
            self.day_files.setdefault(day, {})[name] = (checksum, rows_loaded)
            # files without rows (a closed day's header-only export) are alike by nature, not duplicates
            if rows_in > 0:
                self.first_delivery[checksum] = f"{day.isoformat()}/{name}"

    def land(self, night: Plan) -> None:
        """Add a planned night's new files and duplicates, and take out the files it replaced."""
        for new in night.new_files:
            d = new.delivery
            self.add(
                d.business_date, d.name, new.checksum, d.size, accounting.STATUS_LOADED, new.result.rows_in,
                len(new.result.loaded),
            )  # fmt: skip
        for d, checksum, _ in night.duplicates:
            self.add(d.business_date, d.name, checksum, d.size, accounting.STATUS_DUPLICATE, 0)
        for gone in night.replaced:
            self.day_files.get(gone.business_date, {}).pop(gone.name, None)
            if self.first_delivery.get(gone.file_sha256) == f"{gone.business_date.isoformat()}/{gone.name}":
                del self.first_delivery[gone.file_sha256]  # the same bytes delivered again load again


def plan(
    manifest: Manifest,
    found: list[Delivery],
    prepared: dict[tuple[dt.date, str], Prepared],
    business_date: dt.date,
    settings: Settings | None = None,
    corrections: str = "add",
) -> Plan:
    """Sort the night's deliveries against what already landed; stops at the first file it refuses.

    Args:
        prepared: every delivery not landed before, by (business date, name) (`prepare`).
        corrections: the dataset's `landing.corrections`: with `replace`, each new file replaces the loaded files
            of its day that came before it (`corrections_of`).

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
                    f"correction under a new name, which {CORRECTIONS[corrections]} the day's landed files "
                    f"(this dataset's landing.corrections: {corrections}; docs/operations.md, 'Corrections')",
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
    result.replaced = corrections_of(manifest, result.new_files, corrections)
    gone = {(g.business_date, g.name) for g in result.replaced}
    result.days_with_lines = {
        day
        for day in {business_date, *(n.delivery.business_date for n in result.new_files)}
        if any(
            rows and (day, name) not in gone for name, (_, rows) in manifest.day_files.get(day, {}).items()
        )
    }
    return result


# what a correction does to the files of its day, per `landing.corrections`, for the refusal of a changed file
CORRECTIONS = {"add": "adds to", "replace": "replaces"}


def corrections_of(manifest: Manifest, new_files: list[Prepared], corrections: str) -> list[Replacement]:
    """The loaded files that the night's new files replace: with `replace`, every file of a new file's day that
    landed before it: on an earlier night, or, found by the same night (a replay of the landing folders, or a
    correction that came with its original), written before it (then sorting before it by name). With `add`
    none; a new file for a day that had files before the night is then logged, as it may be a correction meant
    to replace them."""
    current: dict[dt.date, dict[str, tuple[str, int]]] = {}  # the files of the days the night touches
    replaced = []
    for new in sorted(new_files, key=lambda n: (n.delivery.modified, n.delivery.name)):
        d = new.delivery
        day = current.setdefault(d.business_date, dict(manifest.day_files.get(d.business_date, {})))
        by = f"{d.business_date.isoformat()}/{d.name}"
        if corrections == "replace":
            replaced += [
                Replacement(d.business_date, name, checksum, rows, by)
                for name, (checksum, rows) in day.items()
            ]
            day.clear()
        elif manifest.day_files.get(d.business_date):
            log.warning(
                "%s adds %d line(s) to business date %s, which already has %s: this dataset's "
                "landing.corrections is add; if the file corrects them, set it to replace",
                d.path, len(new.result.loaded), d.business_date, ", ".join(day),
            )  # fmt: skip
        day[d.name] = (new.checksum, len(new.result.loaded))
    return replaced


def _scrubbed_alike(settings: Settings | None, delivery: Delivery, landed_sha: str, checksum: str) -> bool:
    if settings is None:
        return False
    copy = lake.landed_copy(settings, delivery.business_date, landed_sha, delivery.name)
    return copy.exists() and lake.sha256_of(copy) == checksum
