"""The interface every model family implements, and the fit it returns.

A family is one kind of model: the seasonal naive, Prophet, ETS, one LightGBM model across all series, an
ensemble. The engine (fitting, backtests, selection, the worker pool) talks to a family only through this
interface and finds it by name in the registry (`daybreak.models.forecasting.registry`), so adding a family is one
module with a class like these and one line there (docs/model-families.md). Three kinds:

* `Family`: fitted on one series at a time. It says which parameters a spec may set (`params`, `validate`,
  `expand` for a config shorthand), whether it can be fitted on a history (`ineligible`, the reason shown to
  analysts), fits and forecasts with 80% and 95% intervals (`fit`), and, if it stores its fit, forecasts again
  later from what it stored without fitting (`predict_stored`).
* `PanelFamily`: fitted once across every series of a dataset (`fit_panel`), each series then scoring its share.
* `Combination`: combines other candidates' forecasts (`combine`); its spec lists them as `members`, and the
  engine fits (or restores) each member and hands their bands over.

A family is pure: arrays and dates in, arrays out, seeded by `SeriesContext.seed`. Whatever it forecasts, the
engine applies the calendar afterwards (`bands.calendar_bands`), so a family need not know the closed days.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from daybreak.models.forecasting.context import SeriesContext
from daybreak.models.forecasting.spec import CandidateError, CandidateSpec

Bands = dict[str, np.ndarray]
"""`BAND_COLUMNS` -> one value per forecast period."""


@dataclasses.dataclass
class Fitted:
    """One fit's forecast: the bands over the future, the concrete spec, its state, components and stored fit.

    Args:
        bands: `BAND_COLUMNS` over the future.
        spec: the concrete spec the fit chose (what the registry keeps).
        state: the fitted parameters a later fit of the same spec may start from (a warm start), or None.
        components: the forecast's decomposition, `ds` (or `step`, 0-based), `component`, `value`, `mode`.
        fit: what forecasts again later without fitting (`Family.predict_stored`), JSON-ready, or None.
    """

    bands: Bands
    spec: CandidateSpec
    state: dict | None = None
    components: pd.DataFrame | None = None
    fit: dict | None = None


class Family(abc.ABC):
    """A model family fitted on one series at a time (see the module docstring).

    Class attributes:
        name: the family's name in the registry and in specs.
        params: what a spec may set (`validate` checks their values).
        sampled: the intervals come from samples, which a backtest may not draw (its coverage is then unknown).
        preload: modules worth importing once per worker process rather than once per series.
    """

    name: str
    params: tuple[str, ...] = ()
    sampled: bool = False
    preload: tuple[str, ...] = ()

    def validate(self, params: Mapping[str, Any]) -> None:  # noqa: B027 - a family may take any value
        """Refuse a parameter value the family cannot take (`CandidateError`); the names are checked already."""

    def expand(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """The candidates one config entry stands for (a shorthand such as `seasonality_mode: search`)."""
        return [params]

    def ineligible(self, spec: CandidateSpec, y: np.ndarray, ctx: SeriesContext) -> str | None:
        """Why the family cannot be fitted on this history (too short, negative values, ...), or None.

        The reason is shown to analysts, so it says the rule.
        """
        return None

    @abc.abstractmethod
    def fit(
        self,
        spec: CandidateSpec,
        ds: pd.DatetimeIndex,
        y: np.ndarray,
        future: pd.DatetimeIndex,
        ctx: SeriesContext,
        *,
        state: dict | None = None,
        components: bool = False,
    ) -> Fitted:
        """Fit `spec` on (ds, y) and forecast `future` with 80% and 95% intervals.

        Args:
            ds, y: the history on the regular grid of `ctx.freq`; missing values as NaN.
            future: the dates to forecast, after the history.
            state: the fitted parameters of an earlier fit of the same spec, to start from (warm start).
            components: also return the forecast's components.

        Raises:
            any error of the underlying library; the engine turns it into a flagged fallback.
        """

    def predict_stored(
        self,
        spec: CandidateSpec,
        stored: dict,
        future: pd.DatetimeIndex,
        ctx: SeriesContext,
        *,
        components: bool = False,
    ) -> Fitted:
        """Forecast `future` from a stored fit (`Fitted.fit` of an earlier fit of `spec`), without fitting.

        Raises:
            CandidateError: the family stores no fit (the engine refits instead), or any error of predicting
                from it (features that no longer match it).
        """
        raise CandidateError(f"{self.name} keeps no stored fit; it is refit")


class PanelFamily(Family):
    """A family fitted once across every series of a dataset; each series scores its share like any forecast.

    The engine fits it once per backtest fold and once on the full histories (`panel.with_panel_forecasts`).
    """

    def fit(self, spec, ds, y, future, ctx, *, state=None, components=False) -> Fitted:
        raise CandidateError(
            f"{self.name} is fitted across all series at once (forecasting.pool.run_all), not one series at a time"
        )

    @abc.abstractmethod
    def panel_ineligible(
        self, spec: CandidateSpec, y: np.ndarray, ctx: SeriesContext, horizon: int, reach: int | None = None
    ) -> str | None:
        """Why this series cannot take part in a fit that forecasts `horizon` periods (lags chosen for `reach`,
        default the horizon), or None."""

    @abc.abstractmethod
    def fit_panel(
        self,
        spec: CandidateSpec,
        histories: dict[str, tuple[pd.DatetimeIndex, np.ndarray]],
        horizon: int,
        ctx: SeriesContext,
        reach: int | None = None,
    ) -> dict[str, Bands]:
        """Fit one model on every (eligible) history and forecast `horizon` periods after each series' last one.

        Returns:
            series id -> its bands, the calendar applied (`bands.calendar_bands`).
        """


class Combination(Family):
    """A family that combines the forecasts of other candidates, its spec's `members`."""

    params = ("members",)

    def fit(self, spec, ds, y, future, ctx, *, state=None, components=False) -> Fitted:
        raise CandidateError(f"{self.name} combines its members' fits; the engine fits the members")

    @abc.abstractmethod
    def combine(self, members: Sequence[Bands]) -> Bands:
        """The combined bands of the members' bands (in the spec's order)."""

    def spec_of(self, members: Sequence[CandidateSpec]) -> CandidateSpec:
        """The spec that combines `members`."""
        return CandidateSpec(self.name, {"members": [member.to_dict() for member in members]})


def too_few_values(known: np.ndarray) -> str | None:
    """The rule every fitted model shares: at least two known values, not all zero (else the reason)."""
    if len(known) < 2:
        return f"{len(known)} known values (needs at least 2)"
    if (known == 0).all():
        return "every value is zero"
    return None


def statistical_ineligible(y: np.ndarray, ctx: SeriesContext) -> str | None:
    """The statistical models' rule: `too_few_values`, two seasons and two more, and at most half zeros."""
    known = y[~np.isnan(y)]
    if reason := too_few_values(known):
        return reason
    m = ctx.season_length
    if len(known) < 2 * m + 2:
        return f"{len(known)} values, fewer than two seasons of {m} (needs {2 * m + 2})"
    zero_share = float((known == 0).mean())
    if zero_share > 0.5:
        return f"intermittent: {zero_share:.0%} of values are zero (statistical models need at most 50%)"
    return None
