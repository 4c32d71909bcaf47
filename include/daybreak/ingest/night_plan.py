"""A night's plan: each delivery sorted against what has already landed, before anything is written.

A file is identified by its SHA-256, so the same bytes delivered twice (under another name, or into another
day's folder) load once: the second delivery is a duplicate, naming the first. A rerun finds its files already
landed (same name, same checksum) and changes nothing. A landed file is never replaced: a file that changed under
a landed name is refused. Planning every night of a run before landing any lets the nights share one landing.
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
    landed copy (a duplicate: the copy of the file it duplicates), rewritten the same way
    (`daybreak.nights.erasure`)."""
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
                settings, delivery, recorded[key][0], checksum, first_delivery
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


def _scrubbed_alike(
    settings: Settings | None,
    delivery: Delivery,
    landed_sha: str,
    checksum: str,
    first_delivery: dict[str, str],
) -> bool:
    """Whether the delivery equals its landed copy, or (a duplicate, which has none) the landed copy of the file
    it duplicates: an erasure rewrites them all the same way."""
    if settings is None:
        return False
    copies = [lake.landed_copy(settings, delivery.business_date, landed_sha, delivery.name)]
    if landed_sha in first_delivery:
        day, name = first_delivery[landed_sha].split("/", 1)
        copies.append(lake.landed_copy(settings, dt.date.fromisoformat(day), landed_sha, name))
    return any(copy.exists() and lake.sha256_of(copy) == checksum for copy in copies)
