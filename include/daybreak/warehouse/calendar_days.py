"""The dataset's calendar written into the warehouse as data (`reference.calendar_days`), for dbt's `dim_calendar`.

The calendar itself is `daybreak.datasets.calendar`; the transform step writes it here before dbt runs, so every
model reads calendar facts from one table on DuckDB and on Spark alike.
"""

from __future__ import annotations

import datetime as dt

from daybreak.datasets.calendar import BusinessCalendar
from daybreak.warehouse import tables
from daybreak.warehouse.schemas.reference import CALENDAR_DAYS
from daybreak.warehouse.writes import replace_table

FIRST_SALE_SQL = "select min(business_date) from raw.sales_lines where business_date <= ?"


def write_calendar_days(connection, calendar: BusinessCalendar, business_date: dt.date, run_id: str) -> int:
    """Replace `reference.calendar_days` with the calendar from the lake's first day to `calendar.days_ahead` past
    the run date (as far as the dataset's forecasts reach).

    The transform step calls this before dbt, so `dim_calendar`, which covers exactly these days, and everything
    reading it sees the calendar as data. The whole table is replaced: it is a pure function of the config and the
    dates, a few thousand rows.

    Returns:
        the rows written.
    """
    first = (
        connection.execute(FIRST_SALE_SQL, [business_date]).fetchone()[0]
        if tables.exists(connection, "raw.sales_lines")
        else None
    )
    days = calendar.frame(
        min(first or business_date, business_date), business_date + dt.timedelta(calendar.days_ahead)
    )
    return replace_table(connection, CALENDAR_DAYS, days.assign(run_id=run_id))
