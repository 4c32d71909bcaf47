"""A forecast's bands (the point and its 80% and 95% intervals) and what holds whatever a model said.

Every family's forecast is `BAND_COLUMNS` over the future. Whatever it says, the engine applies the calendar
(`calendar_bands`: a closed day is zero with zero-width intervals, and a non-negative target has no forecast or
bound below zero) and nests the intervals (`nested_bands`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from daybreak.models.forecasting.context import SeriesContext

BAND_COLUMNS = ("yhat", "yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95")
NORMAL_Z = {"80": 1.2815515655446004, "95": 1.959963984540054}
"""The standard normal's quantiles of the two central intervals, for families with Gaussian intervals."""


def calendar_bands(
    bands: dict[str, np.ndarray], future: pd.DatetimeIndex, ctx: SeriesContext
) -> dict[str, np.ndarray]:
    """What the calendar says whatever the model said: closed days are zero with zero-width intervals, and a
    non-negative target has no forecast or bound below zero.

    Closed days only apply to daily and hourly grids: a week or month with a closed day in it still trades.
    """
    bands = {c: np.asarray(v, dtype=float).copy() for c, v in bands.items()}
    if ctx.non_negative:
        bands = {c: np.maximum(v, 0.0) for c, v in bands.items()}
    if ctx.calendar.closed and ctx.base in ("h", "D") and len(future):
        closed = ctx.calendar.closed_mask(pd.DatetimeIndex(future).normalize())
        for column in bands:
            bands[column][closed] = 0.0
    return bands


def nested_bands(bands: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Widen bounds where needed so the 95% band holds the 80% band holds the point.

    Sampled intervals (Prophet) and back-transformed ones (log1p) can cross the point by a hair; the point itself
    is never moved.
    """
    yhat = bands["yhat"]
    lower_80 = np.minimum(bands["yhat_lower_80"], yhat)
    upper_80 = np.maximum(bands["yhat_upper_80"], yhat)
    return {
        "yhat": yhat,
        "yhat_lower_80": lower_80,
        "yhat_upper_80": upper_80,
        "yhat_lower_95": np.minimum(bands["yhat_lower_95"], lower_80),
        "yhat_upper_95": np.maximum(bands["yhat_upper_95"], upper_80),
    }


def is_finite_bands(bands: dict[str, np.ndarray]) -> bool:
    return all(np.isfinite(bands[c]).all() for c in BAND_COLUMNS)


def filled(y: np.ndarray) -> np.ndarray:
    """Interior gaps interpolated, leading ones dropped, trailing ones carried forward (for models that take no
    NaN)."""
    y = np.asarray(y, dtype=float)
    known = np.flatnonzero(~np.isnan(y))
    if len(known) == 0:
        return np.array([], dtype=float)
    y = y[known[0] :]
    if np.isnan(y).any():
        index = np.arange(len(y))
        mask = ~np.isnan(y)
        y = np.interp(index, index[mask], y[mask])
    return y
