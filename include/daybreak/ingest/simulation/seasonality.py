"""How busy the synthetic shop is on a day: weekly and yearly seasonality, holidays and a trend.

A pure function of the day (`demand_multiplier`), so every day's file can be generated on its own, in any order,
and tests can check the seasonality the models should find without simulating anything.
"""

from __future__ import annotations

import datetime as dt
import functools
import math

from daybreak.datasets import load_dataset_config
from daybreak.datasets.calendar import BusinessCalendar

# The customer base is anchored here: customers of the lapsing type are active in the months after this date and
# then stop; the trend is measured from it. A module constant (not `start`) so that a day's file does not depend
# on which range a run asked for.
EPOCH = dt.date(2023, 1, 1)


@functools.lru_cache(maxsize=1)
def synthetic_calendar() -> BusinessCalendar:
    """The synthetic dataset's calendar (its config's closed days and holidays): what the shop and the models share."""
    return BusinessCalendar.from_config(load_dataset_config("synthetic"))


# Monday .. Sunday: busy early in the week and on Thursday, quiet at the weekend (as in the UCI data).
WEEKDAY_FACTORS = (1.08, 1.10, 1.05, 1.15, 0.95, 0.55, 0.72)
HOLIDAY_FACTOR = 0.35
TREND_PER_YEAR = 1.10


def _circular_gap(doy: float, centre: float) -> float:
    gap = abs(doy - centre) % 365.25
    return min(gap, 365.25 - gap)


def demand_multiplier(day: dt.date) -> float:
    """How busy the shop is on `day` relative to an average weekday of the epoch year (closed days aside).

    The product of a weekday factor, a yearly curve that climbs from September to a peak in mid-November and dips
    in January-February, a cut on the synthetic calendar's public holidays (GB) and a mild upward trend of 10% a year from `EPOCH`.
    A pure function, so tests can check the seasonality without simulating.

    Args:
        day: the business day.

    Returns:
        A positive factor; expected orders of the day are proportional to it.
    """
    doy = float(day.timetuple().tm_yday)
    yearly = (
        0.85
        + 0.75 * math.exp(-0.5 * (_circular_gap(doy, 320.0) / 24.0) ** 2)  # November peak (~16 Nov)
        + 0.25 * math.exp(-0.5 * (_circular_gap(doy, 275.0) / 30.0) ** 2)  # autumn build-up
        - 0.15 * math.exp(-0.5 * (_circular_gap(doy, 35.0) / 25.0) ** 2)  # post-Christmas lull
    )
    weekly = WEEKDAY_FACTORS[day.weekday()]
    holiday = HOLIDAY_FACTOR if synthetic_calendar().is_holiday(day) else 1.0
    trend = TREND_PER_YEAR ** ((day - EPOCH).days / 365.25)
    return weekly * yearly * holiday * trend
