"""The grain a forecast is made at, as the pages need it: how its periods step, are named and are labelled.

A dataset forecasts hourly, daily, weekly or monthly (`series.frequency`); `predictions.forecasts` records the grain
of each row in `frequency` and the period in `target_date` (an hourly row's hour in `target_time`). The pages
compare a forecast with actuals summed into the same periods, so everything here follows the forecast's rows:
a week's label is its last day, so the rows' own weekday is the weekday the dataset's weeks end on.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd

from daybreak.models import periods

NOUNS = {"hourly": "hour", "daily": "day", "weekly": "week", "monthly": "month"}
RECENT = {"hourly": 24, "daily": 7, "weekly": 4, "monthly": 3}
"""The periods the pages call "recent": a day of hours, a week of days, four weeks, a quarter."""
LABEL_FORMATS = {
    "hourly": "%a %d %b %Y %H:%M",
    "daily": "%a %d %b %Y",
    "weekly": "%a %d %b %Y",
    "monthly": "%b %Y",
}
AXIS_FORMATS = {"hourly": "%-d %b %H:%M", "daily": "%-d %b", "weekly": "%-d %b", "monthly": "%b %Y"}


@dataclasses.dataclass(frozen=True)
class Grain:
    """A forecast's grain: `frequency` (hourly, daily, weekly, monthly) and, for weeks, the weekday they end on."""

    frequency: str = "daily"
    week_ends_on: int = periods.SUNDAY

    @classmethod
    def of(cls, rows: pd.DataFrame) -> Grain:
        """The grain of one forecast version's rows (`data.series.forecast`); daily for rows written before
        `frequency` was recorded."""
        if rows.empty or rows["frequency"].isna().all():
            return cls()
        frequency = rows["frequency"].dropna().iloc[0]
        if frequency == "weekly":
            return cls(frequency, pd.Timestamp(rows["period"].iloc[0]).weekday())
        return cls(frequency)

    @property
    def is_daily(self) -> bool:
        return self.frequency == "daily"

    @property
    def alias(self) -> str:
        """The pandas alias of the periods: `h`, `D`, `W-FRI`, `MS`."""
        return periods.period_alias(self.frequency, self.week_ends_on)

    @property
    def noun(self) -> str:
        return NOUNS[self.frequency]

    def count(self, n: int) -> str:
        """`3 days`, `1 week`."""
        return f"{n} {self.noun}{'' if n == 1 else 's'}"

    @property
    def recent(self) -> int:
        return RECENT[self.frequency]

    @property
    def year(self) -> pd.DateOffset:
        """A year back that lands on the same weekday (52 weeks), or the same month for monthly periods."""
        return pd.DateOffset(months=12) if self.frequency == "monthly" else pd.DateOffset(weeks=52)

    @property
    def axis_format(self) -> str:
        return AXIS_FORMATS[self.frequency]

    @property
    def label_format(self) -> str:
        """`label`'s format, for a chart's tooltip (Vega and strftime share these directives)."""
        return LABEL_FORMATS[self.frequency]

    def label(self, period: pd.Timestamp | dt.date) -> str:
        """`Mon 01 Apr 2024 14:00` for an hour, `Fri 05 Apr 2024` for a day or the week ending on it, `Apr 2024`."""
        return pd.Timestamp(period).strftime(self.label_format)

    def span(self, first: pd.Timestamp, last: pd.Timestamp) -> pd.DatetimeIndex:
        """Every period label from `first` to `last`, both included."""
        return pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq=self.alias)

    def shift(self, period: pd.Timestamp, steps: int) -> pd.Timestamp:
        """The period `steps` periods after `period` (before it when negative)."""
        return pd.Timestamp(period) + steps * pd.tseries.frequencies.to_offset(self.alias)

    def periods_of(self, daily: pd.DataFrame, last_day: dt.date) -> pd.DataFrame:
        """Daily actuals (`sales_date, units, revenue`) summed into this grain's periods complete by `last_day`
        (`daybreak.models.periods.to_periods`, the rule the forecast job sums by): `period, units, revenue`."""
        summed = []
        for measure in ("units", "revenue"):
            frame = pd.DataFrame(
                {"series_id": "s", "ds": pd.to_datetime(daily["sales_date"]), "y": daily[measure]}
            )
            by_period, _ = periods.to_periods(
                frame, frequency=self.frequency, as_of=last_day, week_ends_on=self.week_ends_on
            )
            summed.append(by_period.set_index("ds")["y"].rename(measure))
        return pd.concat(summed, axis=1).rename_axis("period").reset_index()
