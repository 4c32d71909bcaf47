"""The dataset's business calendar, in one place: which days the shop is closed and which are public holidays.

Built once per dataset from its config (`calendar:` closed weekdays, annual and dated closures; the country of
`series.holidays_country`). Everything that needs a calendar fact takes it from here: the transform step writes
`frame()` to the warehouse as `reference.calendar_days` (dbt's `dim_calendar` reads it, and the forecast reads
that), the simulator asks `is_open` and `is_holiday`. Holidays are data, not a dbt Python model, so the same table
works on DuckDB and on Spark.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from typing import TYPE_CHECKING

import holidays
import pandas as pd

from daybreak.core.vocabulary import Frequency

if TYPE_CHECKING:
    from daybreak.datasets import DatasetConfig

MIN_DAYS_AHEAD = 90
"""The calendar covers at least this many days past the run date (a quarter ahead, for analysts and the
dashboards), however short the dataset's forecasts reach."""


def days_ahead(frequency: Frequency, horizon: int) -> int:
    """Days past the run date a dataset's calendar covers: as far as its forecasts reach, so every forecast date
    has its closed days and holidays (at least `MIN_DAYS_AHEAD`).

    A forecast of `horizon` periods made on the night of D reaches D + `horizon` days (daily), the day of its last
    hour (hourly), the end of the week `horizon` weeks after the one D closes, which ends at most six days after D
    (weekly), or the first day of the month `horizon` months after D's (monthly).
    """
    reach = {
        "hourly": -(-horizon // 24),
        "daily": horizon,
        "weekly": 7 * horizon + 6,
        "monthly": 31 * horizon,
    }[frequency]
    return max(MIN_DAYS_AHEAD, reach)


@dataclasses.dataclass(frozen=True)
class BusinessCalendar:
    """A dataset's calendar: closed days and public holidays.

    Args:
        closed_weekdays: weekdays the shop never opens, 0 = Monday .. 6 = Sunday.
        closed_annual: `MM-DD` days closed every year (Christmas Day: `12-25`).
        closed_dates: one-off closures.
        holidays_country: ISO 3166 code of the public holidays (`GB`); None for none.
        days_ahead: days past a run date the calendar table covers (`days_ahead()` of the dataset's series).
    """

    closed_weekdays: tuple[int, ...] = ()
    closed_annual: tuple[str, ...] = ()
    closed_dates: tuple[dt.date, ...] = ()
    holidays_country: str | None = None
    days_ahead: int = MIN_DAYS_AHEAD

    @classmethod
    def from_config(cls, config: DatasetConfig) -> BusinessCalendar:
        """The calendar a dataset config describes."""
        return cls(
            closed_weekdays=tuple(config.calendar.closed_weekdays),
            closed_annual=tuple(config.calendar.closed_annual),
            closed_dates=tuple(config.calendar.closed_dates),
            holidays_country=config.series.holidays_country,
            days_ahead=days_ahead(config.series.frequency, config.series.horizon),
        )

    def is_open(self, day: dt.date) -> bool:
        """Whether the shop trades on `day` (a closed day's empty export is expected, its sales are zero)."""
        return not (
            day.weekday() in self.closed_weekdays
            or day.strftime("%m-%d") in self.closed_annual
            or day in self.closed_dates
        )

    def is_holiday(self, day: dt.date) -> bool:
        """Whether `day` is a public holiday of the calendar's country."""
        return self.holiday_name(day) is not None

    def holiday_name(self, day: dt.date) -> str | None:
        """The holiday's name (several on one day joined by "; "), or None on other days."""
        if not self.holidays_country:
            return None
        return _country_holidays(self.holidays_country, day.year).get(day)

    def frame(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        """One row per day from `start` to `end` (both included): `date_day, is_closed, is_holiday, holiday_name`.

        Typed through Arrow (DATE, BOOLEAN, VARCHAR) so the table has the same column types when empty.
        """
        import pyarrow as pa

        if end < start:
            raise ValueError(f"end {end} is before start {start}")
        days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
        names = [self.holiday_name(day) for day in days]
        table = pa.table(
            {
                "date_day": pa.array(days, type=pa.date32()),
                "is_closed": pa.array([not self.is_open(day) for day in days], type=pa.bool_()),
                "is_holiday": pa.array([name is not None for name in names], type=pa.bool_()),
                "holiday_name": pa.array(names, type=pa.string()),
            }
        )
        return table.to_pandas(types_mapper=pd.ArrowDtype)


@functools.lru_cache(maxsize=256)
def _country_holidays(country: str, year: int) -> dict[dt.date, str]:
    """One year's public holidays of `country`, by date, from the `holidays` package (cached: the rules are fixed).

    Raises:
        ValueError: for a country the package does not know.
    """

    try:
        calendar = holidays.country_holidays(country, years=year)
    except NotImplementedError as error:
        raise ValueError(
            f"series.holidays_country: {country!r} is not a country the holidays package knows"
        ) from error
    return {day: name for day, name in sorted(calendar.items())}
