"""The replay of a real dataset: its file cut into the nightly exports the shop would have sent.

`replay_dataset` reads a real dataset's source file (online_retail, store_item, a user's own) and writes one file
per calendar day, keeping the source's own columns and row order, so the pipeline sees real data arrive night by
night and is tested on what a shop really sends, not only on the synthetic shop.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import io
import logging
import zipfile
from collections.abc import Callable
from pathlib import Path

import fsspec
import numpy as np
import pandas as pd

from daybreak.core.vocabulary import WHITESPACE_DELIMITER
from daybreak.datasets import DatasetConfig, DatasetConfigError
from daybreak.datasets.expressions import fill_template, template_columns
from daybreak.ingest.exports.decoding import decode, sniff_delimiter
from daybreak.ingest.simulation.day_files import SimulationSummary, day_file, days_between, write_days
from daybreak.ingest.timestamps import parse_timestamps

log = logging.getLogger(__name__)
_UNIX_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()

SOURCE_SUFFIXES = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".zip": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
COMPRESSIONS = (".gz", ".bz2", ".xz", ".zst")


def _source_format(config: DatasetConfig, location: str) -> tuple[str, str]:
    """(format, suffix) of the source file: `source.format` if set, else read off the name's suffix."""
    name = location.lower().split("?")[0]
    for compression in COMPRESSIONS:
        name = name.removesuffix(compression)
    suffix = Path(name).suffix
    fmt = config.source.get("format") or SOURCE_SUFFIXES.get(suffix)
    if fmt is None:
        raise DatasetConfigError(
            f"{location}: cannot tell the format from {suffix or 'no suffix'!r} (known: "
            f"{', '.join(SOURCE_SUFFIXES)}); set source.format to csv, parquet or jsonl"
        )
    return fmt, suffix


def _read_csv_source(handle, config: DatasetConfig, suffix: str) -> pd.DataFrame:
    """A delimited source read as text: every value a string, exactly as in the file."""
    delimiter = config.source.get("delimiter", config.landing.delimiter)
    delimiter = r"\s+" if delimiter == WHITESPACE_DELIMITER else delimiter
    data = handle.read()
    if delimiter is None:
        delimiter = "\t" if suffix == ".tsv" else sniff_delimiter(decode(data[: 1 << 16])[0])
    return pd.read_csv(io.BytesIO(data), sep=delimiter, dtype=str, keep_default_na=False, na_filter=False)


def _read_source(config: DatasetConfig, location: str) -> tuple[pd.DataFrame, bool]:
    """Read the whole source. Returns (frame, typed): typed is False for delimited text, read as text to keep
    values as they are; Parquet and JSON lines keep their types until `_as_text`."""
    fmt, suffix = _source_format(config, location)
    if fmt == "parquet":
        return pd.read_parquet(location), True
    if fmt == "jsonl":
        with fsspec.open(location, "rb", compression="infer") as handle:
            return pd.read_json(handle, lines=True, dtype=False, convert_dates=False), True
    if suffix == ".zip":
        with fsspec.open(location, "rb") as raw, zipfile.ZipFile(io.BytesIO(raw.read())) as archive:
            member = config.source.get("member")
            if member is None:
                csvs = [n for n in archive.namelist() if n.lower().endswith(".csv")]
                if len(csvs) != 1:
                    raise DatasetConfigError(
                        f"{location}: name the member to read (source.member), found {csvs}"
                    )
                member = csvs[0]
            with archive.open(member) as handle:
                return _read_csv_source(handle, config, Path(member).suffix.lower()), False
    with fsspec.open(location, "rb", compression="infer") as handle:
        return _read_csv_source(handle, config, suffix), False


def _dating_text(frame: pd.DataFrame, config: DatasetConfig, location: str, typed: bool) -> pd.Series:
    """The text that dates each row: the `ordered_at` column, or its template filled (`{day} {time}`).

    Raises:
        DatasetConfigError: the file lacks a column the dataset reads (one line naming the file and column).
    """
    if missing := [c for c in config.export_columns if c not in frame.columns]:
        raise DatasetConfigError(
            f"{location}: no column {missing[0]!r}, which the dataset {config.name!r} reads "
            f"(the file has {', '.join(map(str, frame.columns))})"
        )
    if "ordered_at" in config.columns:
        column = frame[config.mapped_columns["ordered_at"]]
        return _as_text(column) if typed and not pd.api.types.is_datetime64_any_dtype(column) else column
    template = config.derived["ordered_at"].template
    parts = {c: (_as_text(frame[c]) if typed else frame[c]) for c in template_columns(template)}
    return fill_template(template, parts)


def _as_text(column: pd.Series) -> pd.Series:
    """Format one typed column as the text a shop's export would hold.

    Datetimes as `YYYY-MM-DD HH:MM:SS`; float columns whose values are all whole numbers as integers (so
    `17850.0` becomes `17850`); other floats with Python's shortest round-trip repr; missing values as ''.
    """
    missing = column.isna()
    if pd.api.types.is_datetime64_any_dtype(column):
        text = column.dt.strftime("%Y-%m-%d %H:%M:%S")
    elif pd.api.types.is_float_dtype(column):
        values = column.to_numpy(dtype=float)
        finite = values[~missing.to_numpy()]
        if np.all(np.floor(finite) == finite) and np.all(np.abs(finite) < 2**53):
            text = column.astype("Int64").astype(str)
        else:
            text = pd.Series([repr(v) for v in values.tolist()], index=column.index)
    elif pd.api.types.is_bool_dtype(column) or pd.api.types.is_integer_dtype(column):
        text = column.astype(str)
    else:
        text = column.astype(object).where(~missing, "").astype(str)
    return text.where(~missing, "").astype(object)


def _day_writer(config: DatasetConfig) -> Callable[[pd.DataFrame], str]:
    """Renders a day's rows as the shop's export: CSV in the landing's delimiter (`,` when it is sniffed).

    Whitespace-separated files quote a field that is empty or holds a blank or a quote, so every line splits
    back into the header's fields."""
    delimiter = config.landing.delimiter
    if delimiter != WHITESPACE_DELIMITER:
        return lambda rows: rows.to_csv(index=False, lineterminator="\n", sep=delimiter or ",")

    def field(value: str) -> str:
        if value and not any(c in value for c in ' \t"'):
            return value
        return '"' + value.replace('"', '""') + '"'

    def write(rows: pd.DataFrame) -> str:
        lines = [" ".join(field(str(c)) for c in rows.columns)]
        lines.extend(" ".join(field(v) for v in record) for record in rows.itertuples(index=False, name=None))
        return "\n".join(lines) + "\n"

    return write


def replay_dataset(
    config: DatasetConfig,
    landing_dir: Path,
    *,
    source: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    overwrite: bool = False,
) -> SimulationSummary:
    """Cut a real dataset into nightly export files, one per calendar day, as if the shop had sent them.

    A row belongs to the calendar date of its `ordered_at` column (e.g. online_retail's `InvoiceDate`), read with
    `landing.timestamp_format` when one is set. The source is csv (any delimiter, `source.delimiter`), parquet or
    jsonl, by `source.format` or its suffix. Files keep the source's own columns in the source's order and its
    rows in the source's order, in the landing's delimiter. Parquet and JSON values are written as text
    (integral floats as integers, datetimes as `YYYY-MM-DD HH:MM:SS`, missing as empty); delimited sources are
    read as text and written back unchanged. A day in the range without rows (a closed day) gets a header-only
    file. If every day of an explicit range is already there, the source is not even read.

    Args:
        config: the dataset config; its `source` says where the file is and `columns` which column dates a row.
        landing_dir: the dataset's landing folder (`Settings.landing_dir`).
        source: a path or fsspec URL overriding the config's default and its environment variable.
        start: first day to write; default the first day in the data.
        end: last day to write (inclusive); default the last day in the data.
        overwrite: rewrite day files that already exist (default: skip them).

    Returns:
        A `SimulationSummary` of what was written and skipped.

    Raises:
        DatasetConfigError: the dataset has no source file, its format or zip member is unclear, the file lacks
            a column the dataset reads, a row cannot be dated (names the file, row and value), or the landing
            cannot take CSV day files.
        ValueError: `end` before `start`.
    """
    landing_dir = Path(landing_dir)
    location = config.source_location(source)
    if config.landing.format != "csv" or not fnmatch.fnmatch(
        day_file(landing_dir, dt.date.min).name, config.landing.glob
    ):
        raise DatasetConfigError(
            f"dataset {config.name!r}: a replay writes CSV files named sales_<YYYY-MM-DD>.csv, so "
            f"landing.format must be csv and landing.glob match them (got {config.landing.format}, "
            f"{config.landing.glob!r})"
        )
    if start is not None and end is not None:
        days = days_between(start, end)
        if not overwrite and all(day_file(landing_dir, d).exists() for d in days):
            return SimulationSummary(0, len(days), 0, start, end, landing_dir)

    frame, typed = _read_source(config, location)
    dating = _dating_text(frame, config, location, typed)
    stamps = parse_timestamps(dating, config.landing.timestamp_format, config.landing.timezone)
    if stamps.isna().any():
        bad = dating[stamps.isna()]
        raise DatasetConfigError(
            f"{location}: {len(bad)} rows cannot be dated ({config.landing.timestamp_format or 'not a date'}), "
            f"e.g. row {bad.index[0] + 1}: {bad.iloc[0]!r}"
        )
    day_ordinal = stamps.to_numpy().astype("datetime64[D]").astype(np.int64) + _UNIX_EPOCH_ORDINAL
    first = start or dt.date.fromordinal(int(day_ordinal.min()))
    last = end or dt.date.fromordinal(int(day_ordinal.max()))
    days = days_between(first, last)

    in_range = (day_ordinal >= first.toordinal()) & (day_ordinal <= last.toordinal())
    frame = frame.loc[in_range]
    day_ordinal = day_ordinal[in_range]
    if typed:
        frame = pd.DataFrame({name: _as_text(frame[name]) for name in frame.columns})
    order = np.argsort(day_ordinal, kind="stable")  # source order within a day
    sorted_days = day_ordinal[order]
    write = _day_writer(config)
    empty = write(frame.iloc[:0])  # header only

    def render(day: dt.date) -> tuple[str, int]:
        lo, hi = np.searchsorted(sorted_days, [day.toordinal(), day.toordinal() + 1])
        text = write(frame.iloc[order[lo:hi]]) if hi > lo else empty
        return text, int(hi - lo)

    written, skipped, lines = write_days(landing_dir, days, render, overwrite=overwrite)
    log.info("replayed %s %s..%s into %s: %d days written, %d skipped, %d lines", config.name, first, last,
             landing_dir, written, skipped, lines)  # fmt: skip
    return SimulationSummary(written, skipped, lines, first, last, landing_dir)
