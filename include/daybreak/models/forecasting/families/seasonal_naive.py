"""The seasonal naive: each period repeats the one a season earlier. The baseline every other candidate must beat,
and the fallback of every failure (`registry.BASELINE`)."""

from __future__ import annotations

import numpy as np

from daybreak.models.forecasting.bands import NORMAL_Z, filled
from daybreak.models.forecasting.family import Family, Fitted


class SeasonalNaive(Family):
    """No parameters, fits on any history (an empty one forecasts zero), costs nothing."""

    name = "seasonal_naive"

    def fit(self, spec, ds, y, future, ctx, *, state=None, components=False) -> Fitted:
        return Fitted(seasonal_naive(y, len(future), ctx.season_length), spec)


def seasonal_naive(y: np.ndarray, horizon: int, season_length: int) -> dict[str, np.ndarray]:
    """Each step repeats the value one season earlier; the mean when there is less than one season.

    Intervals widen with the number of seasons ahead (sqrt(k) times the spread of the seasonal differences),
    the textbook seasonal-naive intervals. Missing values are interpolated first; an empty history forecasts 0.
    """
    values = filled(y)
    if len(values) > season_length:
        last_season = values[-season_length:]
        yhat = np.array([last_season[step % season_length] for step in range(horizon)], dtype=float)
        diffs = values[season_length:] - values[:-season_length]
        spread = float(np.std(diffs, ddof=1)) if len(diffs) >= 2 else 0.0
        seasons_ahead = np.floor(np.arange(horizon) / season_length) + 1
    else:
        yhat = np.full(horizon, float(values.mean()) if len(values) else 0.0)
        spread = float(np.std(values, ddof=1)) if len(values) >= 2 else 0.0
        seasons_ahead = np.ones(horizon)
    width = spread * np.sqrt(seasons_ahead)
    return {
        "yhat": yhat,
        "yhat_lower_80": yhat - NORMAL_Z["80"] * width,
        "yhat_upper_80": yhat + NORMAL_Z["80"] * width,
        "yhat_lower_95": yhat - NORMAL_Z["95"] * width,
        "yhat_upper_95": yhat + NORMAL_Z["95"] * width,
    }
