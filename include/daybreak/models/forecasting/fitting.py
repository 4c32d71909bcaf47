"""Fit any spec, or forecast from its stored fit, through its family; and apply the calendar to what it says.

The engine's one way into the families: it looks the spec's family up in the registry, fits it (a combination:
each member through here, then combined), and applies the calendar whatever the family said
(`bands.calendar_bands`). Nothing here knows a family by name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from daybreak.models.forecasting import registry
from daybreak.models.forecasting.bands import calendar_bands
from daybreak.models.forecasting.context import SeriesContext
from daybreak.models.forecasting.family import Combination, Fitted
from daybreak.models.forecasting.spec import CandidateSpec


def fit_forecast(
    candidate: CandidateSpec,
    ds: pd.DatetimeIndex,
    y: np.ndarray,
    future: pd.DatetimeIndex,
    ctx: SeriesContext,
    *,
    state: dict | None = None,
    components: bool = False,
) -> Fitted:
    """Fit `candidate` on (ds, y) and forecast `future` with 80% and 95% intervals (`Family.fit`).

    Args:
        candidate: a spec (search or concrete).
        ds, y: the history on the regular grid of `ctx.freq`; missing values as NaN.
        future: the dates to forecast, after the history.
        state: the fitted parameters of an earlier fit of the same spec, to start from (warm start).
        components: also return the forecast's components.

    Raises:
        any error of the underlying library; callers turn it into a flagged fallback.
    """
    family = registry.family(candidate.name)
    if isinstance(family, Combination):
        fitted = _combined(family, [fit_forecast(m, ds, y, future, ctx) for m in candidate.members])
    else:
        fitted = family.fit(candidate, ds, y, future, ctx, state=state, components=components)
    fitted.bands = calendar_bands(fitted.bands, future, ctx)
    return fitted


def forecast_stored(
    candidate: CandidateSpec,
    fit: dict,
    ds: pd.DatetimeIndex,
    y: np.ndarray,
    future: pd.DatetimeIndex,
    ctx: SeriesContext,
    *,
    components: bool = False,
) -> Fitted:
    """Forecast `future` from a stored fit (`Fitted.fit` of an earlier fit of the concrete `candidate`), not
    fitting again (`Family.predict_stored`). A combination's members with a stored fit do the same; its other
    members are refit on (ds, y). The forecast uses only the data the stored fit was made on (as of its
    training). The calendar is applied as in `fit_forecast`.

    Raises:
        CandidateError: the family keeps no stored fit; or any error of predicting from it: callers refit instead.
    """
    family = registry.family(candidate.name)
    if isinstance(family, Combination):
        members = [
            fit_forecast(member, ds, y, future, ctx)
            if stored is None
            else forecast_stored(member, stored, ds, y, future, ctx)
            for member, stored in zip(candidate.members, fit["members"], strict=True)
        ]
        fitted = _combined(family, members)
    else:
        fitted = family.predict_stored(candidate, fit, future, ctx, components=components)
    fitted.bands = calendar_bands(fitted.bands, future, ctx)
    return fitted


def _combined(family: Combination, members: list[Fitted]) -> Fitted:
    """The combination of the members' fits; its stored fit is its members' (None where a member has none)."""
    stored = {"members": [m.fit for m in members]} if any(m.fit for m in members) else None
    return Fitted(
        family.combine([m.bands for m in members]), family.spec_of([m.spec for m in members]), fit=stored
    )


def ineligible(candidate: CandidateSpec, y: np.ndarray, ctx: SeriesContext) -> str | None:
    """Why the candidate's family cannot be fitted on this history, or None (`Family.ineligible`)."""
    return registry.family(candidate.name).ineligible(candidate, y, ctx)


def sampled(candidate: CandidateSpec) -> bool:
    """Whether the candidate's intervals come from samples (absent when a backtest draws none); a combination's
    when any member's do."""
    family = registry.family(candidate.name)
    if isinstance(family, Combination):
        return any(sampled(member) for member in candidate.members)
    return family.sampled
