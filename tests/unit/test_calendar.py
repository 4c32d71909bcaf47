"""The business calendar: closed days and holidays from the dataset config, as answers and as a typed frame."""

from __future__ import annotations

import dataclasses
import datetime as dt

import duckdb
import pytest

from daybreak.datasets import load_dataset_config
from daybreak.datasets.calendar import MIN_DAYS_AHEAD, BusinessCalendar, days_ahead
from daybreak.warehouse.calendar_days import write_calendar_days

CHRISTMAS, BOXING_DAY = dt.date(2024, 12, 25), dt.date(2024, 12, 26)


def test_closed_weekdays_annual_and_dated_closures():
    calendar = BusinessCalendar(
        closed_weekdays=(5,), closed_annual=("12-25",), closed_dates=(dt.date(2024, 5, 8),)
    )

    assert not calendar.is_open(dt.date(2024, 5, 4))  # a Saturday
    assert not calendar.is_open(CHRISTMAS) and not calendar.is_open(dt.date(2031, 12, 25))
    assert not calendar.is_open(dt.date(2024, 5, 8))
    assert calendar.is_open(dt.date(2024, 5, 9)) and calendar.is_open(BOXING_DAY)


def test_holidays_of_the_country_and_none_without_one():
    calendar = BusinessCalendar(holidays_country="GB")

    assert calendar.is_holiday(BOXING_DAY) and calendar.holiday_name(BOXING_DAY) == "Boxing Day"
    assert not calendar.is_holiday(dt.date(2024, 12, 27))
    assert calendar.is_open(CHRISTMAS), "a holiday is not a closure unless the config says so"
    assert not BusinessCalendar().is_holiday(CHRISTMAS)


def test_an_unknown_country_is_refused_with_the_key():
    with pytest.raises(ValueError, match="holidays_country"):
        BusinessCalendar(holidays_country="XX").is_holiday(CHRISTMAS)


def test_the_frame_is_one_typed_row_per_day():
    frame = BusinessCalendar(closed_annual=("12-25",), holidays_country="GB").frame(
        dt.date(2024, 12, 24), dt.date(2024, 12, 27)
    )

    assert list(frame.columns) == ["date_day", "is_closed", "is_holiday", "holiday_name"]
    assert [str(t) for t in frame.dtypes] == [
        "date32[day][pyarrow]",
        "bool[pyarrow]",
        "bool[pyarrow]",
        "string[pyarrow]",
    ]
    assert frame["is_closed"].tolist() == [False, True, False, False]
    assert frame["holiday_name"].tolist()[1:3] == ["Christmas Day", "Boxing Day"]
    assert len(BusinessCalendar().frame(CHRISTMAS, CHRISTMAS)) == 1
    with pytest.raises(ValueError, match="before"):
        BusinessCalendar().frame(BOXING_DAY, CHRISTMAS)


def test_the_online_retail_calendar_closes_saturdays_and_its_christmas_break():
    calendar = BusinessCalendar.from_config(load_dataset_config("online_retail"))

    assert not calendar.is_open(dt.date(2011, 12, 3))  # a Saturday
    assert not calendar.is_open(dt.date(2010, 12, 24))
    assert calendar.is_open(dt.date(2011, 12, 5)) and calendar.is_holiday(dt.date(2011, 12, 26))


def test_the_calendar_reaches_as_far_as_the_forecasts_and_a_quarter_at_least():
    assert days_ahead("daily", 28) == MIN_DAYS_AHEAD
    assert days_ahead("daily", 120) == 120
    assert days_ahead("hourly", 24 * 100) == 100 and days_ahead("hourly", 24 * 100 + 1) == 101
    assert days_ahead("weekly", 20) == 7 * 20 + 6
    assert days_ahead("monthly", 6) == 31 * 6
    config = load_dataset_config("synthetic")
    longer = dataclasses.replace(config, series=dataclasses.replace(config.series, horizon=120))
    assert BusinessCalendar.from_config(config).days_ahead == MIN_DAYS_AHEAD
    assert BusinessCalendar.from_config(longer).days_ahead == 120


def test_a_daily_forecast_past_a_quarter_has_every_date_in_the_calendar_table():
    """A horizon of 120 days: every forecast date has a calendar row, its closed Sundays and holidays marked, past
    the quarter the table used to stop at for dbt."""
    config = load_dataset_config("synthetic")
    series = dataclasses.replace(config.series, frequency="daily", horizon=120, holidays_country="GB")
    calendar = BusinessCalendar.from_config(
        dataclasses.replace(
            config,
            series=series,
            calendar=dataclasses.replace(
                config.calendar, closed_weekdays=(6,), closed_annual=(), closed_dates=()
            ),
        )
    )
    night = dt.date(2024, 10, 1)
    with duckdb.connect() as connection:
        write_calendar_days(connection, calendar, night, "test")
        rows = connection.execute(
            "select date_day, is_closed, is_holiday, holiday_name from reference.calendar_days order by date_day"
        ).fetchall()
    forecast_dates = [night + dt.timedelta(days=step) for step in range(1, 121)]
    by_day = {day: (closed, holiday, name) for day, closed, holiday, name in rows}
    assert set(forecast_dates) <= set(by_day)
    assert all(by_day[day][0] == (day.weekday() == 6) for day in forecast_dates), (
        "every Sunday closed, no other day"
    )
    new_year = dt.date(2025, 1, 1)  # 92 days after the night
    assert by_day[new_year][1:] == (True, "New Year's Day") and (new_year - night).days > MIN_DAYS_AHEAD
    assert by_day[dt.date(2025, 1, 26)][0]  # a Sunday 117 days ahead
