"""The table of schema `reference`: facts of the dataset config as data, written before dbt runs."""

from __future__ import annotations

from daybreak.warehouse.declaration import RUN_ID, Table, column, key

CALENDAR_DAYS = Table(
    "reference",
    "calendar_days",
    "The dataset's business calendar (include/daybreak/datasets/calendar.py), one row per day from the lake's first "
    "business day to as far past the run date as the dataset's forecasts reach (days_ahead), replaced by every "
    "transform run before dbt: the shop's closed days (config calendar:) and the public holidays of "
    "series.holidays_country.",
    (
        key("date_day", "DATE", "The day."),
        column(
            "is_closed",
            "BOOLEAN",
            "The shop is closed: its sales are zero and every forecast of it is zero.",
            False,
        ),
        column("is_holiday", "BOOLEAN", "A public holiday of series.holidays_country.", False),
        column("holiday_name", "VARCHAR", "The holiday's name (several joined by '; '); null on other days."),
        RUN_ID,
    ),
    ("date_day",),
    None,
)

TABLES = (CALENDAR_DAYS,)
"""In declaration order."""
