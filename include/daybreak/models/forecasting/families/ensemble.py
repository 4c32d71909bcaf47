"""The ensemble: the mean of its members' forecasts, bands and all.

A retrain night tries it when `forecasting.ensemble_top` asks for it, of the best candidates on the backtest
(`selection`); it then competes like any other. Its members are fitted (or restored from their stored fits) by
the engine, each with its own family (`fitting.fit_forecast`), and handed over here.
"""

from __future__ import annotations

import numpy as np

from daybreak.models.forecasting.bands import BAND_COLUMNS
from daybreak.models.forecasting.family import Combination, statistical_ineligible


class Ensemble(Combination):
    """Parameter: `members`, the specs it averages. Eligible where the statistical models are."""

    name = "ensemble"

    def ineligible(self, spec, y, ctx):
        return statistical_ineligible(y, ctx)

    def combine(self, members):
        return {c: np.mean([m[c] for m in members], axis=0) for c in BAND_COLUMNS}
