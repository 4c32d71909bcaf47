"""The business calendar: closed days and holidays from the dataset config, as answers and as a typed frame."""

from __future__ import annotations

import datetime as dt

import pytest

from daybreak.datasets import load_dataset_config
from daybreak.datasets.calendar import BusinessCalendar

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
