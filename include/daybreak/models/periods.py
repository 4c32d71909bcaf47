"""A dataset's forecast periods: which period a day falls in, when a period closes, and daily values summed into them.

A weekly or monthly dataset is forecast on whole periods, so the night sums the daily mart's days into periods and
forecasts only from a complete one (a half-finished week would look like a slump); an hourly one reads the hourly
mart, and each night closes the day's 24 hours. Labels: the hour for an hourly series, the day for a daily one, the
week's last day (its `week_ends_on` weekday, so a retailer whose weeks end on Friday gets W-FRI weeks), the month's
first day. A period is complete once its closing business day has passed: its last day
that is not closed (the calendar's closed days), so a shop closed on Sundays closes its Sunday-ending week on the
Saturday. The night of that day is the one night the period's forecast is due. Pure: the caller passes the closed
days (from `marts.dim_calendar`), never computes them here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import pandas as pd

from daybreak.core.vocabulary import SUNDAY, WEEKDAYS
from daybreak.models.forecasting.context import pandas_frequency


def period_alias(frequency: str, week_ends_on: int = SUNDAY) -> str:
    """The pandas alias of the dataset's periods: `D`, `W-FRI` (weeks ending on `week_ends_on`), `MS`, `h`."""
    freq = pandas_frequency(frequency)
    return f"W-{WEEKDAYS[week_ends_on]}" if freq == "W" else freq


def period_bounds(frequency: str, day: dt.date, week_ends_on: int = SUNDAY) -> tuple[dt.date, dt.date]:
    """The first and last day of the period that holds `day` (an hourly series: the day, whose hours a night
    closes together)."""
    freq = pandas_frequency(frequency)
    if freq in ("h", "D"):
        return day, day
    if freq == "W":
        end = day + dt.timedelta(days=(week_ends_on - day.weekday()) % 7)
        return end - dt.timedelta(days=6), end
    start = day.replace(day=1)
    return start, (pd.Timestamp(start) + pd.offsets.MonthEnd(1)).date()


def period_label(frequency: str, day: dt.date, week_ends_on: int = SUNDAY) -> pd.Timestamp:
    """The label of the last period that `day` holds: the day's last hour, the day, the week's last day, the
    month's first day."""
    start, end = period_bounds(frequency, day, week_ends_on)
    freq = pandas_frequency(frequency)
    if freq == "h":
        return pd.Timestamp(end) + pd.Timedelta(hours=23)
    return pd.Timestamp(start if freq == "MS" else end)


def closing_day(
    frequency: str, day: dt.date, week_ends_on: int = SUNDAY, closed: Collection[dt.date] = ()
) -> dt.date:
    """The period's closing business day: its last day that is not closed (its last day when all are).

    A daily period (an hourly series' day) closes on its own day, closed or not: daily and hourly series forecast
    every night.
    """
    start, end = period_bounds(frequency, day, week_ends_on)
    if start == end:
        return end
    closing = end
    while closing > start and closing in closed:
        closing -= dt.timedelta(days=1)
    return end if closing in closed else closing


def is_due(
    frequency: str, day: dt.date, week_ends_on: int = SUNDAY, closed: Collection[dt.date] = ()
) -> bool:
    """Whether the night of `day` closes a period, so the dataset's forecast is due that night."""
    return closing_day(frequency, day, week_ends_on, closed) == day


def nights_since_last_close(
    frequency: str, day: dt.date, week_ends_on: int = SUNDAY, closed: Collection[dt.date] = ()
) -> tuple[dt.date, dt.date]:
    """The nights from the one after the previous period's closing day to `day` (both included).

    What happened on them (a scheduled retrain weekday, monitoring's retrain decision) is acted on when the
    period closes: a Sunday retrain is not lost on a dataset whose weeks close on Fridays.
    """
    start, _ = period_bounds(frequency, day, week_ends_on)
    previous = closing_day(frequency, start - dt.timedelta(days=1), week_ends_on, closed)
    return previous + dt.timedelta(days=1), day


def last_complete_period(
    frequency: str, as_of: dt.date, week_ends_on: int = SUNDAY, closed: Collection[dt.date] = ()
) -> pd.Timestamp:
    """The label of the last period complete on `as_of`: its own period once its closing day is reached, else
    the one before."""
    if as_of >= closing_day(frequency, as_of, week_ends_on, closed):
        return period_label(frequency, as_of, week_ends_on)
    start, _ = period_bounds(frequency, as_of, week_ends_on)
    return period_label(frequency, start - dt.timedelta(days=1), week_ends_on)


def to_periods(
    daily: pd.DataFrame,
    *,
    frequency: str,
    as_of: dt.date,
    week_ends_on: int = SUNDAY,
    closed: Collection[dt.date] = (),
) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Sum daily values into the forecast frequency's periods, keeping only periods complete by `as_of`.

    Args:
        daily: one row per series and day (per hour for an hourly series, from the hourly mart), columns
            `series_id, ds, y`; rows after `as_of` are ignored.
        frequency: `hourly`, `daily`, `weekly` or `monthly`.
        as_of: the business date the forecast is made on.
        week_ends_on: the weekday weeks end on (Monday = 0).
        closed: the dataset's closed days; a period whose remaining days are all closed is complete.

    Returns:
        the period frame (`series_id, ds, y`, ds = the period's label) and the origin: the label of the last
        complete period, which forecasts count their steps from.
    """
    freq = pandas_frequency(frequency)
    origin = last_complete_period(frequency, as_of, week_ends_on, closed)
    next_day = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    frame = daily.loc[pd.to_datetime(daily["ds"]) < next_day, ["series_id", "ds", "y"]].copy()
    frame["ds"] = pd.to_datetime(frame["ds"])
    if freq in ("h", "D"):
        return frame.sort_values(["series_id", "ds"], ignore_index=True), origin
    if freq == "W":
        frame["ds"] = frame["ds"] + pd.to_timedelta((week_ends_on - frame["ds"].dt.weekday) % 7, unit="D")
    else:
        frame["ds"] = frame["ds"].dt.to_period("M").dt.start_time
    periods = frame.groupby(["series_id", "ds"], as_index=False, sort=True)["y"].sum(min_count=1)
    return periods.loc[periods["ds"] <= origin].reset_index(drop=True), origin
