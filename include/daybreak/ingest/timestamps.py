"""Timestamps from a file's text as the shop's local wall-clock time: the one parser of dates and times in files.

An export's times decide each line's business day, and a business day is the shop's day: 23:30 in New York on
5 March is a sale of 5 March, though it is 6 March in UTC. So a parsed time is always naive local time:

- a time without an offset is taken as written;
- a time with one (`+01:00`, `Z`) is converted to the dataset's time zone (`landing.timezone`) when one is set,
  else keeps its wall-clock time as written (the offset dropped). Offsets may differ from row to row: a file that
  spans a daylight-saving change has two, and a system that logs in UTC writes `Z` beside local times.

Used for the ingest's `ordered_at`, a replayed source file's dates and an ad-hoc series file's timestamps.
"""

from __future__ import annotations

import datetime as dt
import warnings

import pandas as pd


def parse_timestamps(
    text: pd.Series, timestamp_format: str | None = None, timezone: str | None = None
) -> pd.Series:
    """Naive local datetimes (`datetime64[ns]`) from text, NaT where a value is not a date or time.

    Args:
        text: the values; already typed datetimes (a Parquet source) are only made local.
        timestamp_format: strftime format every value must match; None: any date or time, one format inferred
            for the whole column when it fits every value (fast), else each value read on its own.
        timezone: IANA name that times with an offset are converted to; None keeps their wall-clock time.
    """
    if pd.api.types.is_datetime64_any_dtype(text):
        parsed = text
    else:
        with warnings.catch_warnings():
            # pandas 2 returns times with different offsets as objects, with a warning that pandas 3 will refuse
            # them: they are made local one by one below either way
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", UserWarning)  # "could not infer format": the fallback below
            parsed = _parse(text, timestamp_format)
    return _local(parsed, timezone)


def _parse(text: pd.Series, timestamp_format: str | None) -> pd.Series:
    if timestamp_format:
        attempts = [{"format": timestamp_format, "errors": "coerce"}]
    else:
        attempts = [{}, {"format": "mixed", "errors": "coerce"}]
    for options in attempts:
        try:
            return pd.to_datetime(text, **options)
        except (ValueError, TypeError, OverflowError):  # not one format, or offsets pandas will not mix
            continue
    return pd.Series([_parse_one(value, timestamp_format) for value in text], index=text.index, dtype=object)


def _parse_one(value: object, timestamp_format: str | None) -> pd.Timestamp:
    try:
        return pd.to_datetime(value, format=timestamp_format or "mixed")
    except (ValueError, TypeError, OverflowError):
        return pd.NaT


def _local(parsed: pd.Series, timezone: str | None) -> pd.Series:
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        aware = parsed.dt.tz_convert(timezone) if timezone else parsed
        return aware.dt.tz_localize(None)
    if pd.api.types.is_datetime64_dtype(parsed):
        return parsed.astype("datetime64[ns]")
    return pd.Series(
        [_local_one(value, timezone) for value in parsed], index=parsed.index, dtype="datetime64[ns]"
    )


def _local_one(value: object, timezone: str | None) -> pd.Timestamp:
    """One parsed value (a datetime, NaT, or the None or NaN of a value that did not parse) as local time."""
    stamp = pd.Timestamp(value) if isinstance(value, dt.datetime) else pd.NaT
    if stamp is pd.NaT or stamp.tzinfo is None:
        return stamp
    return (stamp.tz_convert(timezone) if timezone else stamp).tz_localize(None)
