import datetime as dt

import pandas as pd
import pytest

from daybreak.models.forecasting.context import future_dates, grid_frequency, pandas_frequency
from daybreak.models.periods import (
    closing_day,
    is_due,
    last_complete_period,
    nights_since_last_close,
    period_alias,
    period_bounds,
    to_periods,
)

FRIDAY = 4
MON, THU, FRI, SAT, SUN = (dt.date(2024, 3, d) for d in (4, 7, 8, 9, 10))  # one week of March 2024


def _daily(start: str, end: str) -> pd.DataFrame:
    ds = pd.date_range(start, end, freq="D")
    return pd.DataFrame({"series_id": "s", "ds": ds, "y": 1.0})


def test_frequency_aliases():
    assert [pandas_frequency(f) for f in ("hourly", "daily", "weekly", "monthly")] == ["h", "D", "W", "MS"]
    assert period_alias("weekly", FRIDAY) == "W-FRI" and period_alias("weekly") == "W-SUN"
    with pytest.raises(ValueError, match="frequency"):
        pandas_frequency("fortnightly")


def test_a_week_ending_on_friday_runs_saturday_to_friday():
    assert period_bounds("weekly", MON, FRIDAY) == (dt.date(2024, 3, 2), FRI)
    assert period_bounds("weekly", SAT, FRIDAY) == (SAT, dt.date(2024, 3, 15))
    assert period_bounds("weekly", MON) == (MON, SUN)
    assert period_bounds("monthly", MON) == (dt.date(2024, 3, 1), dt.date(2024, 3, 31))
    assert period_bounds("daily", MON) == (MON, MON)


def test_a_period_closes_on_its_last_open_day():
    closed_sundays = {SUN, SUN - dt.timedelta(days=7)}

    assert closing_day("weekly", MON, FRIDAY) == FRI
    assert closing_day("weekly", MON, closed=closed_sundays) == SAT  # a shop closed on Sundays
    assert closing_day("weekly", MON, FRIDAY, closed={FRI}) == THU
    assert closing_day("daily", SUN, closed=closed_sundays) == SUN  # daily series forecast every night
    assert [is_due("weekly", day, FRIDAY) for day in (THU, FRI, SAT)] == [False, True, False]
    assert is_due("monthly", dt.date(2024, 2, 29)) and not is_due("monthly", dt.date(2024, 2, 28))


def test_the_nights_since_the_previous_close_include_closed_days_after_it():
    closed_sundays = {SUN - dt.timedelta(days=7), SUN}

    assert nights_since_last_close("weekly", FRI, FRIDAY) == (dt.date(2024, 3, 2), FRI)
    # the previous week closed on Saturday the 2nd: its closed Sunday belongs to tonight's window
    assert nights_since_last_close("weekly", SAT, closed=closed_sundays) == (dt.date(2024, 3, 3), SAT)
    assert nights_since_last_close("daily", SAT) == (SAT, SAT)


def test_last_complete_period_counts_a_period_complete_from_its_closing_day():
    assert last_complete_period("weekly", FRI, FRIDAY) == pd.Timestamp(FRI)
    assert last_complete_period("weekly", THU, FRIDAY) == pd.Timestamp("2024-03-01")
    assert last_complete_period("weekly", FRI) == pd.Timestamp("2024-03-03")
    assert last_complete_period("weekly", SAT, closed={SUN}) == pd.Timestamp(SUN)
    assert last_complete_period(
        "monthly", dt.date(2024, 3, 30), closed={dt.date(2024, 3, 31)}
    ) == pd.Timestamp("2024-03-01")


def test_to_periods_daily_keeps_days_up_to_the_business_date():
    periods, origin = to_periods(
        _daily("2024-01-01", "2024-01-31"), frequency="daily", as_of=dt.date(2024, 1, 20)
    )

    assert origin == pd.Timestamp("2024-01-20")
    assert periods["ds"].max() == origin and len(periods) == 20


def test_to_periods_weekly_and_monthly_drop_the_unfinished_period():
    daily = _daily("2024-01-01", "2024-03-31")

    weeks, week_origin = to_periods(daily, frequency="weekly", as_of=dt.date(2024, 2, 14))  # a Wednesday
    months, month_origin = to_periods(
        daily, frequency="monthly", as_of=dt.date(2024, 2, 29)
    )  # a month's last day

    assert week_origin == pd.Timestamp("2024-02-11")  # the Sunday closing the last full week
    assert weeks["ds"].dt.weekday.eq(6).all() and weeks["ds"].max() == week_origin
    assert weeks["y"].tolist() == [7.0] * 6
    assert month_origin == pd.Timestamp("2024-02-01")
    assert months["y"].tolist() == [31.0, 29.0]


def test_weeks_ending_on_friday_sum_saturday_to_friday_and_forecast_the_next_fridays():
    daily = _daily("2024-01-06", "2024-03-31")  # from a Saturday

    weeks, origin = to_periods(daily, frequency="weekly", as_of=FRI, week_ends_on=FRIDAY)
    future = future_dates(origin, 13, grid_frequency("W", origin))

    assert origin == pd.Timestamp(FRI)
    assert weeks["ds"].dt.weekday.eq(FRIDAY).all() and weeks["y"].tolist() == [7.0] * 9
    assert (future.weekday == FRIDAY).all() and future[0] == pd.Timestamp("2024-03-15") and len(future) == 13
    assert future[-1] == pd.Timestamp("2024-06-07")


def test_a_week_whose_last_days_are_closed_is_complete_on_its_last_open_day():
    daily = _daily("2024-01-06", "2024-03-09")

    weeks, origin = to_periods(daily, frequency="weekly", as_of=THU, week_ends_on=FRIDAY, closed={FRI})

    assert origin == pd.Timestamp(FRI) and weeks["y"].iloc[-1] == 6.0  # Saturday to Thursday


def test_an_hourly_night_closes_its_day_s_hours():
    hours = pd.DataFrame(
        {"series_id": "s", "ds": pd.date_range("2024-01-01", periods=24 * 5, freq="h"), "y": 1.0}
    )

    periods, origin = to_periods(hours, frequency="hourly", as_of=dt.date(2024, 1, 3))

    assert origin == pd.Timestamp("2024-01-03 23:00") and periods["ds"].max() == origin and len(periods) == 72
    assert is_due("hourly", SUN, closed={SUN}) and period_alias("hourly") == "h"
    assert future_dates(origin, 2, "h").tolist() == [
        pd.Timestamp("2024-01-04 00:00"),
        pd.Timestamp("2024-01-04 01:00"),
    ]
