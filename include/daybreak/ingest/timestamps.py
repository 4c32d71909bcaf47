"""Timestamps from a file's text as the shop's local wall-clock time: the one parser of dates and times in files.

An export's times decide each line's business day, and a business day is the shop's day: 23:30 in New York on
5 March is a sale of 5 March, though it is 6 March in UTC. So a parsed time is always naive local time:

- a time without an offset is taken as written;
- a time with one (`+01:00`, `Z`) is converted to the dataset's time zone (`landing.timezone`) when one is set,
  else keeps its wall-clock time as written (the offset dropped). Offsets may differ from row to row: a file that
  spans a daylight-saving change has two, and a system that logs in UTC writes `Z` beside local times.

Without a `timestamp_format`, a numeric date such as `03/04/2024` is read day-first or month-first as `date_order`
finds: a value that reads one way only (`25/03/2024`), else the business date of a day's export; a file that
nothing settles is refused rather than guessed (`daybreak.ingest.deliveries`).

Used for the ingest's `ordered_at`, a replayed source file's dates and an ad-hoc series file's timestamps.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings

import pandas as pd

# a date written with numbers only, day and month in either order: `03/04/2024`, `3.4.24`, `03-04-2024 09:15`
NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})(?!\d)")
DAY_FIRST, MONTH_FIRST, AMBIGUOUS = "day-first", "month-first", "ambiguous"
SAMPLE = 1000


def date_order(text: pd.Series, business_date: dt.date | None = None) -> tuple[str | None, str | None]:
    """Whether the numeric dates among `text` are day-first or month-first, and an example value.

    A value with a first number above 12 can only be day-first, one with a second number above 12 only
    month-first. When no value settles it, the business date of a day's export may: the reading that puts more
    of its rows on that day (`03/04/2024` in the export of 3 April is day-first).

    Returns:
        (`DAY_FIRST` or `MONTH_FIRST`, None) when the values, or the business date, settle it; (`AMBIGUOUS`, a
        value that reads two ways) when nothing settles it, or values settle it both ways; (None, None) when
        there are no numeric dates, or every one reads the same either way (`05/05/2024`).
    """
    if (
        pd.api.types.is_datetime64_any_dtype(text)
        or not text.iloc[:SAMPLE].astype(str).str.match(NUMERIC_DATE).any()
    ):
        return None, None  # ISO dates (most files): told by their first values, without reading every value
    counts = text.astype(str).str.slice(0, 12).value_counts(sort=False)
    parts = counts.index.to_series().str.extract(NUMERIC_DATE).dropna()
    if parts.empty:
        return None, None
    first, second, year = (parts[i].astype(int) for i in range(3))
    day_first, month_first = bool((first > 12).any()), bool((second > 12).any())
    if day_first != month_first:
        return (DAY_FIRST if day_first else MONTH_FIRST), None
    two_ways = parts.index[first != second]
    if two_ways.empty:
        return None, None
    if business_date is not None and not day_first:
        this_year = (year == business_date.year) | (year == business_date.year % 100)
        rows = counts[parts.index].to_numpy()
        on_day = {
            DAY_FIRST: int(
                rows[
                    (this_year & (second == business_date.month) & (first == business_date.day)).to_numpy()
                ].sum()
            ),
            MONTH_FIRST: int(
                rows[
                    (this_year & (first == business_date.month) & (second == business_date.day)).to_numpy()
                ].sum()
            ),
        }
        if on_day[DAY_FIRST] != on_day[MONTH_FIRST]:
            return max(on_day, key=on_day.get), None
    example = text[text.astype(str).str.startswith(two_ways[0])].iloc[0]
    return AMBIGUOUS, str(example).strip()


def parse_timestamps(
    text: pd.Series,
    timestamp_format: str | None = None,
    timezone: str | None = None,
    day_first: bool | None = None,
) -> pd.Series:
    """Naive local datetimes (`datetime64[ns]`) from text, NaT where a value is not a date or time.

    Args:
        text: the values; already typed datetimes (a Parquet source) are only made local.
        timestamp_format: strftime format every value must match; None: any date or time, one format inferred
            for the whole column when it fits every value (fast), else each value read on its own.
        timezone: IANA name that times with an offset are converted to; None keeps their wall-clock time.
        day_first: without a format, whether numeric dates are day-first (as `date_order` found for the file);
            None: as the column's own values settle it (`date_order`), else month-first.
    """
    if pd.api.types.is_datetime64_any_dtype(text):
        parsed = text
    else:
        with warnings.catch_warnings():
            # pandas 2 returns times with different offsets as objects, with a warning that pandas 3 will refuse
            # them: they are made local one by one below either way
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", UserWarning)  # "could not infer format": the fallback below
            parsed = _parse(text, timestamp_format, day_first)
    return _local(parsed, timezone)


def _parse(text: pd.Series, timestamp_format: str | None, day_first: bool | None) -> pd.Series:
    if timestamp_format:
        attempts = [{"format": timestamp_format, "errors": "coerce"}]
    else:
        day_first = date_order(text)[0] == DAY_FIRST if day_first is None else day_first
        attempts = [{"dayfirst": day_first}, {"format": "mixed", "errors": "coerce", "dayfirst": day_first}]
    for options in attempts:
        try:
            return pd.to_datetime(text, **options)
        except (ValueError, TypeError, OverflowError):  # not one format, or offsets pandas will not mix
            continue
    day_first = attempts[-1].get("dayfirst", False)
    return pd.Series(
        [_parse_one(value, timestamp_format, day_first) for value in text], index=text.index, dtype=object
    )


def _parse_one(value: object, timestamp_format: str | None, day_first: bool) -> pd.Timestamp:
    try:
        return pd.to_datetime(value, format=timestamp_format or "mixed", dayfirst=day_first)
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
