"""A toy model family in one file: the worked example of docs/model-families.md.

`recent_mean` forecasts every period as the mean of the last `window` known values, with normal intervals from
their spread. It shows every part of the interface: a parameter that is checked, a rule for which histories it
takes, a fit with intervals that names its concrete spec, and a stored fit a later night forecasts from without
fitting. `tests/unit/test_model_families.py` registers it and runs forecast nights with it.
"""

from __future__ import annotations

import numpy as np

from daybreak.models.forecasting.bands import NORMAL_Z
from daybreak.models.forecasting.family import Family, Fitted, too_few_values
from daybreak.models.forecasting.spec import CandidateError, CandidateSpec


class RecentMean(Family):
    """The mean of the last `window` known values (default: one season), its spread for the intervals."""

    name = "recent_mean"
    params = ("window",)

    def validate(self, params):
        if int(params.get("window", 1)) < 1:
            raise CandidateError("recent_mean window must be at least 1")

    def ineligible(self, spec, y, ctx):
        return too_few_values(y[~np.isnan(y)])

    def fit(self, spec, ds, y, future, ctx, *, state=None, components=False):
        window = int(spec.params.get("window", ctx.season_length))
        recent = y[~np.isnan(y)][-window:]
        stored = {"level": float(np.mean(recent)), "spread": float(np.std(recent, ddof=1))}
        concrete = CandidateSpec(self.name, {"window": window})  # a later refit uses the same window
        return self.predict_stored(concrete, stored, future, ctx)

    def predict_stored(self, spec, stored, future, ctx, *, components=False):
        level = np.full(len(future), stored["level"])
        bands = {"yhat": level}
        for interval in ("80", "95"):
            bands[f"yhat_lower_{interval}"] = level - NORMAL_Z[interval] * stored["spread"]
            bands[f"yhat_upper_{interval}"] = level + NORMAL_Z[interval] * stored["spread"]
        return Fitted(bands, spec, fit=stored)
