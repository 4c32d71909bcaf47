"""`apps/streamlit/grain.py`: a forecast's grain read off its rows, and actuals summed into its periods the way the
forecast job sums them."""

from __future__ import annotations

import datetime as dt

import pandas as pd

FRIDAY = 4


def _rows(frequency, periods) -> pd.DataFrame:
    return pd.DataFrame({"frequency": frequency, "period": pd.to_datetime(periods)})


def test_a_weekly_forecast_names_the_weekday_its_weeks_end_on(grain):
    weekly = grain.Grain.of(_rows("weekly", ["2024-04-05", "2024-04-12"]))

    assert (weekly.frequency, weekly.week_ends_on, weekly.alias) == ("weekly", FRIDAY, "W-FRI")
    assert weekly.label(pd.Timestamp("2024-04-05")) == "Fri 05 Apr 2024"
    assert weekly.count(1) == "1 week" and weekly.count(13) == "13 weeks"
    assert weekly.shift(pd.Timestamp("2024-04-05"), -1) == pd.Timestamp("2024-03-29")
    assert len(weekly.span(pd.Timestamp("2024-03-08"), pd.Timestamp("2024-03-29"))) == 4


def test_rows_without_a_recorded_frequency_and_no_rows_are_daily(grain):
    assert grain.Grain.of(_rows(None, ["2024-04-05"])) == grain.Grain()
    assert grain.Grain.of(_rows("daily", [])[:0]) == grain.Grain()
    hourly = grain.Grain.of(_rows("hourly", ["2024-04-01 00:00"]))
    assert hourly.label(pd.Timestamp("2024-04-01 14:00")) == "Mon 01 Apr 2024 14:00" and hourly.recent == 24


def test_days_are_summed_into_whole_weeks_and_months_only(grain):
    days = pd.date_range("2024-03-02", "2024-04-03")  # Saturday 2 March to Wednesday 3 April
    daily = pd.DataFrame({"sales_date": days.date, "units": 1.0, "revenue": 10.0})

    weeks = grain.Grain("weekly", FRIDAY).periods_of(daily, dt.date(2024, 4, 3))
    months = grain.Grain("monthly").periods_of(daily, dt.date(2024, 4, 3))

    # four whole Saturday-to-Friday weeks; the week ending Friday 5 April has not closed
    assert weeks["period"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-03-08",
        "2024-03-15",
        "2024-03-22",
        "2024-03-29",
    ]
    assert weeks["revenue"].tolist() == [70.0] * 4 and weeks["units"].tolist() == [7.0] * 4
    # March is complete (from its 2nd: the days it has), April is not
    assert months["period"].tolist() == [pd.Timestamp("2024-03-01")] and months["units"].tolist() == [30.0]
