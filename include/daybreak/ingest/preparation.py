"""A night's new files prepared before it is planned: read, mapped, pseudonymised and staged, across the cores.

Reading and mapping cost far more than planning and landing, and a bulk load's nights share nothing while they
are prepared, so every new delivery of a run is prepared first, together, in worker processes when there is
enough to share (`prepare`). A worker only writes staged lake files beside their final names; nothing reaches
the lake until the night lands it, after the file's links are stored (`daybreak.ingest.day`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from daybreak.core.settings import pseudonym_key
from daybreak.core.worker_pool import worker_pool
from daybreak.ingest import lake
from daybreak.ingest.canonical import FileResult, IngestError, RawFile, to_canonical_many
from daybreak.ingest.deliveries import Delivery, read_delivery
from daybreak.ingest.pseudonymise import pseudonymise
from daybreak.ingest.streaming import Streamed, prepare_streamed

if TYPE_CHECKING:
    from daybreak.core.settings import Settings
    from daybreak.datasets import DatasetConfig

# deliveries are prepared in chunks of about this many bytes (a bulk load's 64 MB batch gives each core several):
# big enough that a chunk's one pass of the rules costs little per line
PREPARE_CHUNK_BYTES = 8 << 20


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
            streamed = prepare_streamed(settings, config, key, delivery, checksum)
            if streamed is not None:
                prepared.append(_accounted(delivery, checksum, streamed))
                continue
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
        accounted = dataclasses.replace(result, loaded=result.loaded[["quantity", "unit_price", "revenue"]])
        encoding, preamble = (export.encoding, export.preamble_lines) if export else (None, 0)
        prepared.append(
            Prepared(delivery, checksum, accounted, encoding, links, staged, preamble_lines=preamble)
        )
    return prepared


def _accounted(delivery: Delivery, checksum: str, streamed: Streamed) -> Prepared:
    """A delivery prepared in batches (its lines staged already, `result.loaded` only the accounted columns)."""
    return Prepared(
        delivery,
        checksum,
        streamed.result,
        "utf-8",
        streamed.links,
        streamed.staged,
        preamble_lines=streamed.preamble_lines,
    )


def prepare(
    settings: Settings, config: DatasetConfig, landed: frozenset[str], found: list[Delivery]
) -> dict[tuple[dt.date, str], Prepared]:
    """`prepare_files` for every delivery, by (business date, name): in worker processes, one per core, when the
    deliveries are more than one chunk of `PREPARE_CHUNK_BYTES` (a bulk load's nights), else here (a night).

    Args:
        landed: the checksums of the files already loaded (`night_plan.Manifest.first_delivery`): their
            deliveries are duplicates, and are not read.

    Raises:
        SettingsError: `DAYBREAK_PSEUDONYM_KEY` is unset.
    """
    if not found:
        return {}
    key = pseudonym_key()
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
        with worker_pool(workers) as pool:
            done = list(pool.map(work, chunks))
    return {(p.delivery.business_date, p.delivery.name): p for chunk in done for p in chunk}
