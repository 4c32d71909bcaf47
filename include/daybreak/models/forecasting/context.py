"""What every model of one series sees besides its values: the grid it is on, the calendar, the seed.

The calendar comes in as plain data (`CalendarDays`), built by the caller from `marts.dim_calendar` (the nightly
forecast) or from `daybreak.datasets.calendar` (ad hoc), so no model computes a calendar fact itself. The grid
helpers put a history on its frequency's regular grid and name the periods after it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd

from daybreak.core.vocabulary import PANDAS_FREQUENCIES, WEEKDAYS
from daybreak.models.forecasting.spec import CandidateError

SEASON_LENGTHS = {"h": (24, 168), "D": (7, 365), "W": (52,), "M": (12,)}
"""Seasonal periods per base frequency: the first is the main one (seasonal naive, ETS, Theta, ARIMA, MASE)."""
UNCERTAINTY_SAMPLES = 300
"""Interval samples in a forecast, for models whose intervals are sampled (Prophet). 300 instead of Prophet's 1000
covered the store-item holdout as well (80%/95% bands: 81.8%/95.0% of 50 series' actuals, against 82.4%/95.4%
with 1000; docs/benchmarks.md) for less of every Prophet night's time; the bands are still seeded, so
reproducible."""


@dataclasses.dataclass(frozen=True)
class CalendarDays:
    """The dataset calendar as the models see it: closed days and public holidays, as plain data.

    It must cover the history and the forecast's dates.

    Args:
        closed: days the shop is closed; every model forecasts them as exactly zero.
        holidays: `(day, name)` of each public holiday, for models that use them.
    """

    closed: frozenset[dt.date] = frozenset()
    holidays: tuple[tuple[dt.date, str], ...] = ()

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> CalendarDays:
        """From rows `date_day, is_closed, holiday_name` (`dim_calendar`, `BusinessCalendar.frame`)."""
        days = pd.to_datetime(frame["date_day"]).dt.date
        closed = frozenset(days[frame["is_closed"].astype(bool).to_numpy()])
        named = frame["holiday_name"].notna().to_numpy()
        holidays = tuple(sorted(zip(days[named], frame["holiday_name"][named].astype(str), strict=True)))
        return cls(closed=closed, holidays=holidays)

    def closed_mask(self, dates: pd.DatetimeIndex) -> np.ndarray:
        """True where the day of `dates` is closed."""
        return np.array([d.date() in self.closed for d in pd.DatetimeIndex(dates)], dtype=bool)

    def holiday_mask(self, dates: pd.DatetimeIndex) -> np.ndarray:
        """True where the day of `dates` is a public holiday."""
        days = {day for day, _ in self.holidays}
        return np.array([d.date() in days for d in pd.DatetimeIndex(dates)], dtype=bool)


@dataclasses.dataclass(frozen=True)
class SeriesContext:
    """What every model of one series needs besides the values: the grid, the calendar and the seed.

    Args:
        freq: the pandas frequency of the grid (`h`, `D`, `W-SUN`, `MS`, `ME`, ...).
        seed: seeds every fit and the interval samples.
        calendar: closed days and public holidays (the days forecast as zero, and what models that use the
            calendar see).
        non_negative: the target cannot go below zero (units, revenue): no forecast or bound does.
        uncertainty_samples: interval samples of models that sample them (fewer in backtests, where only the
            point is needed).
    """

    freq: str
    seed: int = 0
    calendar: CalendarDays = CalendarDays()
    non_negative: bool = False
    uncertainty_samples: int = UNCERTAINTY_SAMPLES

    @property
    def base(self) -> str:
        return base_frequency(self.freq)

    @property
    def season_length(self) -> int:
        return SEASON_LENGTHS[self.base][0]


def base_frequency(freq: str) -> str:
    """`h`, `D`, `W` or `M` for a pandas alias (`W-MON` -> `W`, `MS`/`ME` -> `M`)."""
    head = freq.split("-")[0].upper()
    if head in ("H",):
        return "h"
    if head in ("D", "W"):
        return head
    if head in ("M", "MS", "ME"):
        return "M"
    raise CandidateError(
        f"unsupported frequency {freq!r}: use hourly (h), daily (D), weekly (W) or monthly (MS)"
    )


def pandas_frequency(frequency: str) -> str:
    """Map a dataset config frequency (`daily`, ...) to its pandas offset alias (`D`, ...).

    Raises:
        ValueError: for a frequency Daybreak does not forecast at.
    """
    try:
        return PANDAS_FREQUENCIES[frequency]
    except KeyError:
        raise ValueError(
            f"frequency must be one of {sorted(PANDAS_FREQUENCIES)}, got {frequency!r}"
        ) from None


def grid_frequency(freq: str, origin: pd.Timestamp) -> str:
    """The pandas alias whose grid the origin sits on: weekly series are anchored on the origin's weekday."""
    if freq.upper() == "W":
        return "W-" + WEEKDAYS[origin.weekday()]
    return freq


def future_dates(origin: pd.Timestamp, horizon: int, freq: str) -> pd.DatetimeIndex:
    """The `horizon` periods after `origin` on the frequency's grid."""
    dates = pd.date_range(origin, periods=horizon + 1, freq=freq)
    return dates[dates > origin][:horizon]


def regular_history(
    ds: np.ndarray, y: np.ndarray, origin: pd.Timestamp, freq: str
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """The history on a regular grid from its first period to `origin`; missing periods are NaN."""
    frame = pd.DataFrame(
        {"ds": pd.to_datetime(ds), "y": pd.to_numeric(pd.Series(y), errors="coerce").astype(float)}
    )
    frame = frame.loc[frame["ds"] <= origin].dropna(subset=["ds"])
    if frame.empty:
        return pd.DatetimeIndex([]), np.array([], dtype=float)
    values = frame.groupby("ds")["y"].sum(min_count=1)
    grid = pd.date_range(values.index.min(), origin, freq=freq)
    if len(grid) == 0 or grid[-1] != origin:
        grid = grid.union(pd.DatetimeIndex([origin]))
    return grid, values.reindex(grid).to_numpy(dtype=float)
