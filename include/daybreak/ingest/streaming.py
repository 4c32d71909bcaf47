"""A large delivery prepared in batches of rows: read, mapped, quarantined, pseudonymised and staged a batch at a
time, so its memory is a batch's, not the file's (a 5-million-line export took 6.8 GB read whole).

Every batch goes through the same mapping and rules as a whole file (`to_canonical_many`), and the outcome is the
whole file's, row for row: the two things the mapping decides over a whole file are carried from batch to batch.

- Repeated lines (`validation.duplicate_lines: quarantine`) name the file's first identical row, which may be in an
  earlier batch: each distinct row's 128-bit hash and first row number are kept (`_Repeats`), 24 bytes a row.
- `ordered_at` without a `landing.timestamp_format` is read in one format inferred from the file's first value
  when that format fits every value, else each value on its own (`parse_timestamps`): each batch is parsed in the
  first value's format (`_OrderedAt`), and a batch it does not fit starts the file again, every value on its own.

A file the batch reader cannot read exactly as the whole-file reader (`exports.batches.NotStreamable`) is left to
the whole-file path, as is any file of at most `BATCH_BYTES`, whose whole-file pass may be shared with other files.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pandas._libs.tslib import first_non_null  # the test pandas' own format inference uses: see _OrderedAt

from daybreak.ingest import lake
from daybreak.ingest.canonical import FileResult, RawFile, check_columns, row_revenue, to_canonical_many
from daybreak.ingest.exports.batches import NotStreamable, open_batches
from daybreak.ingest.pseudonymise import pseudonymise
from daybreak.ingest.timestamps import NUMERIC_DATE, SAMPLE, parse_timestamps

if TYPE_CHECKING:
    from daybreak.core.settings import Settings
    from daybreak.datasets import DatasetConfig
    from daybreak.ingest.deliveries import Delivery

# a CSV delivery larger than this many bytes is prepared in batches of about as many bytes of the file each: a
# batch's rows as Python strings, their canonical lines and Arrow's read-ahead take about 35 times its bytes at
# their peak, so a batch (or a file read whole) stays near 300 MB (bench/ingest_memory.py)
BATCH_BYTES = 8 << 20
_HASH_KEYS = ("daybreak-rows-01", "daybreak-rows-02")  # two keys: a 128-bit hash per row


@dataclass(frozen=True)
class Streamed:
    """A delivery prepared in batches: what `preparation.Prepared` holds for it."""

    result: FileResult
    links: dict[str, str]
    staged: Path | None
    preamble_lines: int


class _Restart(Exception):
    """`ordered_at`'s inferred format does not fit a later batch: the whole file is read value by value."""


def prepare_streamed(
    settings: Settings, config: DatasetConfig, key: bytes, delivery: Delivery, checksum: str
) -> Streamed | None:
    """A large CSV delivery read, mapped, pseudonymised and staged batch by batch; None for a delivery to
    prepare whole (too small, another format, or a file the batch reader leaves to the careful reader).

    Raises:
        IngestError: the file lacks a column the config reads.
    """
    if config.landing_format != "csv" or delivery.size <= BATCH_BYTES:
        return None
    try:
        try:
            return _prepare_batches(settings, config, key, delivery, checksum, each_value=False)
        except _Restart:
            return _prepare_batches(settings, config, key, delivery, checksum, each_value=True)
    except NotStreamable:
        return None


def _prepare_batches(
    settings: Settings,
    config: DatasetConfig,
    key: bytes,
    delivery: Delivery,
    checksum: str,
    *,
    each_value: bool,
) -> Streamed:
    header = tuple(c for c in config.export_columns if c not in config.other_names)  # as read_delivery
    export = open_batches(delivery.path, config.landing.delimiter, header, BATCH_BYTES)
    if any(
        first not in export.columns and any(other in export.columns for other in others)
        for first, others in config.other_names.items()
    ):
        export.handle.close()
        raise NotStreamable("a column under another of its names: read_delivery renames it")
    repeats = _Repeats() if config.validation.quarantine_duplicate_lines else None
    ordered_at = _OrderedAt(config, each_value)
    staged = None
    quantity, unit_price, line_revenue, revenue, quarantined, links = [], [], [], [], [], {}
    rows_in, unexpected = 0, ()
    batches = export.batches()
    try:
        check_columns(export.columns, config, delivery.name, delivery.business_date)
        for batch in batches:
            raw = RawFile(
                batch.rows,
                delivery.name,
                delivery.business_date,
                batch.rows.index,
                table=batch.table,
                duplicate_of=None if repeats is None else repeats.first_rows(batch.rows),
            )
            result = to_canonical_many([raw], config, ordered_at)[0]
            result, batch_links = pseudonymise(dataclasses.replace(result, file_sha256=checksum), config, key)
            links.update(batch_links)
            if len(result.loaded):
                if staged is None:
                    target = lake.lake_file(settings, delivery.business_date, checksum)
                    staged = lake.StagedLakeFile(target, delivery.name)
                staged.write(result.loaded.assign(file_sha256=checksum))
            quantity.append(result.loaded["quantity"].to_numpy())
            unit_price.append(result.loaded["unit_price"].to_numpy())
            line_revenue.append(result.loaded["revenue"].to_numpy())
            revenue.append(_revenue(result))
            quarantined.append(result.quarantined)
            rows_in += result.rows_in
            unexpected = result.unexpected_columns
    except BaseException:
        if staged is not None:
            staged.discard()
        raise
    finally:
        batches.close()
        export.handle.close()  # now, also when no batch was read, not when the generator is collected
    if rows_in == 0:
        raise NotStreamable("no rows")  # an empty file: the whole-file path says whether that is an error
    quarantined = [frame for frame in quarantined if len(frame)] or quarantined[:1]
    result = FileResult(
        delivery.name,
        checksum,
        rows_in,
        pd.DataFrame(
            {
                "quantity": _joined(quantity),
                "unit_price": _joined(unit_price),
                "revenue": _joined(line_revenue),
            }
        ),
        pd.concat(quarantined, ignore_index=True),
        unexpected,
        # summed as the whole-file mapping sums it, over the same values in the same order: the same to the bit
        revenue_in=float(pd.Series(_joined(revenue)).sum()),
    )
    return Streamed(result, links, None if staged is None else staged.close(), export.preamble_lines)


def _revenue(result: FileResult) -> np.ndarray:
    """A batch's revenue per row in row order (NaN where `row_revenue` is not finite), which the whole-file
    mapping sums for `revenue_in`: its loaded rows' and its quarantined rows' put back in order."""
    loaded = row_revenue(result.loaded)
    rows = np.concatenate(
        [result.loaded["source_row"].to_numpy(), result.quarantined["source_row"].to_numpy()]
    )
    values = np.concatenate(
        [loaded.where(np.isfinite(loaded)).to_numpy(), result.quarantined["revenue"].to_numpy()]
    )
    return values[np.argsort(rows, kind="stable")].astype("float64")


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    """The parts as one float64 array, each part let go once it is copied (the file's arrays are its largest)."""
    joined = np.empty(sum(len(part) for part in parts), dtype="float64")
    at = 0
    while parts:
        part = parts.pop(0)
        joined[at : at + len(part)] = part
        at += len(part)
    return joined


class _OrderedAt:
    """`ordered_at` parsed batch by batch exactly as `parse_timestamps` parses the whole file's column.

    Without a configured format, pandas infers one from the column's first non-missing value and uses it when it
    fits every value, else the column is read value by value. So each batch is parsed behind that first value (the
    format pandas infers is then the file's), and a batch it does not fit raises `_Restart`: the file is read
    again with `each_value`, every value on its own, as the whole column then is."""

    def __init__(self, config: DatasetConfig, each_value: bool) -> None:
        self.timestamp_format = config.landing.timestamp_format
        self.timezone = config.landing.timezone
        self.each_value = each_value
        self.first: str | None = None  # the file's first non-missing value
        self.kind: str | None = None  # "naive" or "aware" (with offsets): the same in every batch
        self.looked_at = 0  # of the file's first values, where numeric dates are looked for

    def __call__(self, text: pd.Series) -> pd.Series:
        if self.timestamp_format is None and self.looked_at < SAMPLE:
            # the whole-file path settles the date order of numeric dates (`date_order`) over every value; a file
            # whose first values are ISO dates needs no order, and those are the files read in batches
            head = text.iloc[: SAMPLE - self.looked_at].astype(str)
            self.looked_at += len(head)
            if head.str.match(NUMERIC_DATE).any():
                raise NotStreamable("numeric dates, whose order the whole file settles")
        if self.timestamp_format is not None or self.each_value:
            return parse_timestamps(text, self.timestamp_format or "mixed", self.timezone)
        if self.first is None:
            position = first_non_null(text.to_numpy(dtype=object))
            if position == -1:  # nothing to infer from yet: every value is missing, in any format
                return parse_timestamps(text, None, self.timezone)
            self.first = text.iloc[position]
        led = pd.concat([pd.Series([self.first], dtype=object), text], ignore_index=True)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # as parse_timestamps
                warnings.simplefilter("ignore", UserWarning)
                parsed = pd.to_datetime(led)
        except (ValueError, TypeError, OverflowError) as error:
            raise _Restart from error
        typed = pd.api.types.is_datetime64_any_dtype(parsed)
        kind = "naive" if typed and not isinstance(parsed.dtype, pd.DatetimeTZDtype) else "aware"
        if self.kind not in (None, kind):
            raise _Restart  # naive times beside times with an offset: the whole column would not parse at once
        self.kind = kind
        # parse_timestamps on the typed times only makes them local, as it does after the same to_datetime; times
        # with several offsets come back as objects, which it parses again as the whole column would be
        local = parse_timestamps(parsed if typed else led, None, self.timezone)
        return pd.Series(local.to_numpy()[1:], index=text.index, dtype=local.dtype)


class _Repeats:
    """Which rows of a file read in batches repeat an earlier row, field for field, in any earlier batch.

    The rows themselves are not kept: each distinct row's two 64-bit hashes (a 128-bit hash, whose chance of
    joining two different rows is nil at any file size) and its first row number, sorted by the first hash."""

    def __init__(self) -> None:
        self.h1 = np.empty(0, dtype="uint64")
        self.h2 = np.empty(0, dtype="uint64")
        self.row = np.empty(0, dtype="int64")

    def first_rows(self, raw: pd.DataFrame) -> pd.api.extensions.ExtensionArray:
        """Each row's first identical row in the file, NA where it is the first (as `_first_row_of_duplicates`)."""
        rows = raw.index.to_numpy(dtype="int64")
        if raw.columns.empty:
            return pd.array([pd.NA] * len(raw), dtype="Int64")
        h1, h2 = (pd.util.hash_pandas_object(raw, index=False, hash_key=k).to_numpy() for k in _HASH_KEYS)
        keys = pd.DataFrame({"h1": h1, "h2": h2, "row": rows})
        first_here = keys.groupby(["h1", "h2"], sort=False)["row"].transform("min").to_numpy()
        before = self._seen(h1, h2)
        first = np.where(before >= 0, before, first_here)
        new = (before < 0) & (first_here == rows)
        self._add(h1[new], h2[new], rows[new])
        out = pd.array(first, dtype="Int64")
        out[first == rows] = pd.NA
        return out

    def _seen(self, h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
        low = np.searchsorted(self.h1, h1, side="left")
        high = np.searchsorted(self.h1, h1, side="right")
        found = np.full(len(h1), -1, dtype="int64")
        single = high - low == 1
        at = low[single]
        found[single] = np.where(self.h2[at] == h2[single], self.row[at], -1)
        for i in np.flatnonzero(high - low > 1):  # the first hash shared by different rows: rare
            match = np.flatnonzero(self.h2[low[i] : high[i]] == h2[i])
            if len(match):
                found[i] = self.row[low[i] + match[0]]
        return found

    def _add(self, h1: np.ndarray, h2: np.ndarray, rows: np.ndarray) -> None:
        order = np.argsort(h1, kind="stable")
        at = np.searchsorted(self.h1, h1[order])
        self.h1 = np.insert(self.h1, at, h1[order])
        self.h2 = np.insert(self.h2, at, h2[order])
        self.row = np.insert(self.row, at, rows[order])
