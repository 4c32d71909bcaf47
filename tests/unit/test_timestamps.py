"""Timestamps from text as the shop's local time: formats, offsets that differ by row, a configured time zone."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from daybreak.ingest.timestamps import AMBIGUOUS, DAY_FIRST, MONTH_FIRST, date_order, parse_timestamps


def parsed(values, *args, **kwargs) -> list[str]:
    result = parse_timestamps(pd.Series(values, dtype=object), *args, **kwargs)
    assert str(result.dtype) == "datetime64[ns]", "always naive local time"
    return ["NaT" if pd.isna(v) else str(v) for v in result]


def test_one_format_for_the_column_or_each_value_on_its_own():
    assert parsed(["2024-03-05 09:15:00", "2024-03-05 10:00:00", ""]) == [
        "2024-03-05 09:15:00",
        "2024-03-05 10:00:00",
        "NaT",
    ]
    assert parsed(["2024-03-05", "3/5/2024 17:15", "not a time"]) == [
        "2024-03-05 00:00:00",
        "2024-03-05 17:15:00",
        "NaT",
    ]
    assert parsed(["20240305", "20240230"], "%Y%m%d") == ["2024-03-05 00:00:00", "NaT"]


def test_offsets_keep_the_wall_clock_time_as_written_by_default():
    # a file across the UK's clock change, a UTC log line and a New York sale late in the evening
    values = [
        "2024-03-31T00:30:00+00:00",
        "2024-03-31T03:30:00+01:00",
        "2024-03-31T12:00:00Z",
        "2024-03-31T23:30:00-04:00",
    ]
    assert parsed(values) == [
        "2024-03-31 00:30:00",
        "2024-03-31 03:30:00",
        "2024-03-31 12:00:00",
        "2024-03-31 23:30:00",
    ]
    assert parsed(values[:1] * 2) == ["2024-03-31 00:30:00"] * 2  # one offset throughout


def test_offsets_are_converted_to_the_configured_time_zone_and_naive_times_kept():
    values = ["2024-03-31T12:00:00Z", "2024-03-31T03:30:00+01:00", "2024-03-31 18:00:00", "oops"]
    assert parsed(values, timezone="Europe/London") == [
        "2024-03-31 13:00:00",
        "2024-03-31 03:30:00",
        "2024-03-31 18:00:00",
        "NaT",
    ]
    assert parsed(values[:1], timezone="America/New_York") == ["2024-03-31 08:00:00"]


def test_typed_times_are_only_made_local():
    aware = pd.Series(pd.to_datetime(["2024-03-05 12:00:00"]).tz_localize("UTC"))
    assert parse_timestamps(aware, timezone="Asia/Tokyo").tolist() == [pd.Timestamp("2024-03-05 21:00:00")]
    naive = pd.Series(pd.to_datetime(["2024-03-05 12:00:00"]))
    assert parse_timestamps(naive).tolist() == [pd.Timestamp("2024-03-05 12:00:00")]


@pytest.mark.parametrize("timezone", [None, "UTC"])
def test_nothing_but_missing_values(timezone):
    assert parsed(["", ""], timezone=timezone) == ["NaT", "NaT"]


def test_numeric_dates_are_read_day_first_when_a_value_settles_it():
    # 03/04/2024 is 3 April in a file whose other dates can only be day-first, whatever the order of the values
    assert parsed(["03/04/2024 09:15", "25/03/2024 10:00"]) == ["2024-04-03 09:15:00", "2024-03-25 10:00:00"]
    assert parsed(["25/03/2024", "03/04/2024"]) == ["2024-03-25 00:00:00", "2024-04-03 00:00:00"]
    assert parsed(["03/04/2024", "03/25/2024"]) == ["2024-03-04 00:00:00", "2024-03-25 00:00:00"]


@pytest.mark.parametrize(
    ("values", "order"),
    [
        (["05/03/2024 09:15", "05/03/2024 10:00"], (AMBIGUOUS, "05/03/2024 09:15")),
        (["25.03.2024", "03.04.2024"], (DAY_FIRST, None)),
        (["3-25-24", "4-1-24"], (MONTH_FIRST, None)),
        (["13/03/2024", "03/13/2024"], (AMBIGUOUS, "13/03/2024")),  # settled both ways: no one reading
        (["05/05/2024 09:00"], (None, None)),  # the same date either way
        (["2024-03-05 09:15:00", ""], (None, None)),
    ],
)
def test_date_order_says_when_no_value_settles_day_or_month_first(values, order):
    assert date_order(pd.Series(values, dtype=object)) == order


def test_the_business_date_settles_the_order_when_no_value_does():
    # 03/04/2024 in the export of 3 April is day-first; in the export of 4 March month-first
    april = pd.Series(["03/04/2024 09:15", "03/04/2024 10:00", "03/04/24 11:00"], dtype=object)
    assert date_order(april, dt.date(2024, 4, 3)) == (DAY_FIRST, None)
    assert date_order(april, dt.date(2024, 3, 4)) == (MONTH_FIRST, None)
    # on neither day, or half the rows on it either way, nothing settles it
    assert date_order(april, dt.date(2024, 5, 1)) == (AMBIGUOUS, "03/04/2024 09:15")
    halves = pd.Series(["05/03/2024", "03/05/2024"], dtype=object)
    assert date_order(halves, dt.date(2024, 3, 5)) == (AMBIGUOUS, "05/03/2024")
    # and what the day settles is how the file is read
    assert parsed(["03/04/2024 09:15"], day_first=True) == ["2024-04-03 09:15:00"]
