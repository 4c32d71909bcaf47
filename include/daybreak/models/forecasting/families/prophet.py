"""Prophet: trend, weekly and yearly seasonality, the calendar's holidays and calendar regressors, additive or
multiplicative seasonality, optionally on log1p of the target.

Its intervals are sampled (seeded, so reproducible), and a backtest may draw none (`Family.sampled`). A fit keeps
its fitted parameters (the next fit's warm start) and a stored fit (`prophet_stan.stored_prophet`, about 5 kB of
JSON), from which a later night forecasts again without Stan (`predict_stored`). Both paths predict through
`_forecast`, so they give the same numbers.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import numpy as np
import pandas as pd

from daybreak.models.forecasting.families import prophet_stan
from daybreak.models.forecasting.family import Family, Fitted, too_few_values
from daybreak.models.forecasting.spec import CandidateError, CandidateSpec

CALENDAR_REGRESSORS = ("month_of_year", "weekend", "holiday", "closed")
QUANTILES = {"yhat_lower_95": 2.5, "yhat_lower_80": 10.0, "yhat_upper_80": 90.0, "yhat_upper_95": 97.5}
SEARCH = "search"
"""`seasonality_mode: search` in a config stands for two candidates, additive and multiplicative."""


class Prophet(Family):
    """Parameters: `seasonality_mode` (additive, multiplicative), `transform` (none, log1p),
    `changepoint_prior_scale`, `yearly_seasonality`, `regressors` (of `CALENDAR_REGRESSORS`), and `holidays`
    (false turns the calendar's holidays off for that candidate)."""

    name = "prophet"
    params = (
        "seasonality_mode",
        "transform",
        "changepoint_prior_scale",
        "yearly_seasonality",
        "regressors",
        "holidays",
    )
    sampled = True
    preload = ("cmdstanpy", "prophet")

    def validate(self, params):
        if params.get("seasonality_mode", "additive") not in ("additive", "multiplicative"):
            raise CandidateError("prophet seasonality_mode must be additive or multiplicative")
        if params.get("transform", "none") not in ("none", "log1p"):
            raise CandidateError("prophet transform must be none or log1p")
        if bad := sorted(set(params.get("regressors") or ()) - set(CALENDAR_REGRESSORS)):
            raise CandidateError(
                f"unknown regressors {bad}; calendar regressors are {list(CALENDAR_REGRESSORS)}"
            )

    def expand(self, params):
        if params.get("seasonality_mode") == SEARCH:
            return [{**params, "seasonality_mode": mode} for mode in ("additive", "multiplicative")]
        return [params]

    def ineligible(self, spec, y, ctx):
        known = y[~np.isnan(y)]
        if reason := too_few_values(known):
            return reason
        if spec.params.get("transform") == "log1p" and (known < 0).any():
            return "log1p needs non-negative values"
        return None

    def fit(self, spec, ds, y, future, ctx, *, state=None, components=False) -> Fitted:
        from cmdstanpy.utils import get_logger  # heavy (Stan's interface): imported where a fit needs it
        from prophet import Prophet as ProphetModel
        from prophet.utilities import warm_start_params

        get_logger().setLevel(
            logging.WARNING
        )  # cmdstanpy sets DEBUG on its first call; take it down after that
        logging.getLogger("prophet").setLevel(logging.WARNING)
        params = spec.params
        mode = params.get("seasonality_mode", "additive")
        log = params.get("transform", "none") == "log1p"
        base = ctx.base
        history = (
            pd.DataFrame({"ds": ds, "y": np.log1p(y) if log else y})
            .dropna(subset=["y"])
            .reset_index(drop=True)
        )
        span_days = (history["ds"].max() - history["ds"].min()).days
        yearly = params.get("yearly_seasonality", "auto")
        if yearly == "auto":
            yearly = "auto" if span_days >= (365 if base in ("h", "D") else 730) else False
        holidays = None
        if ctx.calendar.holidays and base in ("h", "D") and params.get("holidays", True):
            holidays = prophet_stan.holidays_frame(ctx.calendar)
        model = ProphetModel(
            seasonality_mode=mode,
            yearly_seasonality=yearly,
            weekly_seasonality="auto" if base in ("h", "D") else False,
            daily_seasonality="auto" if base == "h" else False,
            changepoint_prior_scale=float(params.get("changepoint_prior_scale", 0.05)),
            holidays=holidays,
            uncertainty_samples=ctx.uncertainty_samples,
        )
        names = tuple(params.get("regressors") or ())
        if names:
            past = calendar_regressors(pd.DatetimeIndex(history["ds"]), names, ctx)
            for column in past.columns:
                if (
                    past[column].nunique() > 1
                ):  # a constant column carries nothing and Prophet cannot scale it
                    model.add_regressor(column)
                    history[column] = past[column].to_numpy()
        model.stan_backend = prophet_stan.array_backend()
        fit_kwargs: dict[str, Any] = {"seed": ctx.seed}
        if state is not None:
            fit_kwargs["init"] = {k: np.asarray(v) if isinstance(v, list) else v for k, v in state.items()}
        with prophet_stan.stan_workspace():
            try:
                model.fit(history, **fit_kwargs)
            except Exception:
                if state is None:
                    raise
                # the champion's parameters no longer match the features (a new holiday entered the window): cold
                model = prophet_stan.refit_cold(model, history, ctx.seed)
        bands, parts = _forecast(model, params, future, ctx, components)
        concrete = CandidateSpec(
            self.name,
            dict(
                sorted({**params, "seasonality_mode": mode, "transform": "log1p" if log else "none"}.items())
            ),
        )
        fitted_state = {k: (np.asarray(v).tolist()) for k, v in warm_start_params(model).items()}
        return Fitted(bands, concrete, fitted_state, parts, prophet_stan.stored_prophet(model))

    def predict_stored(self, spec, stored, future, ctx, *, components=False) -> Fitted:
        """Prophet predicts from its stored parameters: no Stan call and none of its fitting work. With the same
        seed and future it is exactly the forecast the fit itself made; the holidays come from `ctx`'s calendar,
        the one source of them."""
        model = prophet_stan.restored_prophet(stored, ctx)
        bands, parts = _forecast(model, spec.params, future, ctx, components)
        return Fitted(bands, spec, None, parts, stored)


def calendar_regressors(dates: pd.DatetimeIndex, names: tuple[str, ...] | list[str], ctx) -> pd.DataFrame:
    """Known-in-advance calendar columns for `dates`: what Prophet can use as extra regressors.

    * `month_of_year`: one 0/1 column per month February..December (`month_02` ...), so a month's level can step
      at its first day, which a smooth yearly curve cannot do.
    * `weekend`: Saturday or Sunday. `holiday`: a public holiday of the calendar.
    * `closed`: a day the dataset's calendar says the shop is closed (weekdays, annual and dated closures).
    """
    frame = pd.DataFrame(index=pd.RangeIndex(len(dates)))
    days = pd.DatetimeIndex(dates).normalize()
    for name in names:
        if name == "month_of_year":
            for month in range(2, 13):
                frame[f"month_{month:02d}"] = (days.month == month).astype(float)
        elif name == "weekend":
            frame["weekend"] = (days.weekday >= 5).astype(float)
        elif name == "holiday":
            frame["holiday"] = ctx.calendar.holiday_mask(days).astype(float)
        elif name == "closed":
            frame["closed"] = ctx.calendar.closed_mask(days).astype(float)
        else:
            raise CandidateError(f"unknown regressor {name!r}")
    return frame


def _forecast(model, params, future: pd.DatetimeIndex, ctx, components: bool):
    """A fitted (or restored) Prophet model's bands over `future`, and its components when asked.

    The one prediction path of a fit and of a stored fit, so both give the same numbers: the future frame gets
    the calendar regressors the model was fitted with, and one `predict` with numpy seeded by `ctx.seed` gives the
    point, the components and the interval samples (`_single_pass`).
    """
    log = params.get("transform", "none") == "log1p"
    future_frame = pd.DataFrame({"ds": future})
    regressors = list(model.extra_regressors)
    if regressors:
        ahead = calendar_regressors(future, tuple(params.get("regressors") or ()), ctx)
        for column in regressors:
            future_frame[column] = ahead[column].to_numpy()
    model.uncertainty_samples = ctx.uncertainty_samples
    with _seeded_numpy(ctx.seed), _single_pass(model) as drawn:
        predicted = model.predict(future_frame)
    samples = drawn["yhat"] if ctx.uncertainty_samples else None
    point = predicted["yhat"].to_numpy()
    bands = {"yhat": point}
    if samples is not None:
        bands.update({c: np.percentile(samples, q, axis=1) for c, q in QUANTILES.items()})
    else:
        bands.update({c: point.copy() for c in QUANTILES})
    if log:
        bands = {c: np.expm1(v) for c, v in bands.items()}
    parts = _components(model, predicted, regressors, log) if components else None
    return bands, parts


@contextlib.contextmanager
def _seeded_numpy(seed: int):
    """Seed numpy's global generator for Prophet's samples, and give the caller's state back afterwards."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


@contextlib.contextmanager
def _single_pass(model):
    """Within the block, `model.predict` builds its features once and hands over its interval samples.

    Prophet's `predict` builds the future's seasonality, holiday and regressor features twice (for the components
    and again for the samples), computes an interval for every component, and keeps only one interval level of
    the samples; `predictive_samples` would build the features a third time. Here the second build reuses the
    first (same frame, read-only use in both), the components are computed without intervals (nothing reads
    them), and the samples are kept (`drawn["yhat"]`) for the 80% and 95% bands, so one `predict` gives
    everything: about a third less time per forecast, with the same numbers (the same random draws, in the same
    order).
    """
    features = model.make_all_seasonality_features
    sample = model.sample_posterior_predictive
    seasonal = model.predict_seasonal_components
    memo: dict[str, Any] = {}
    drawn: dict[str, np.ndarray] = {}

    def built_once(df):
        if memo.get("df") is not df:
            memo.update(df=df, features=features(df))
        return memo["features"]

    def kept(*args, **kwargs):
        drawn.update(sample(*args, **kwargs))
        return drawn

    def without_intervals(df):
        samples, model.uncertainty_samples = model.uncertainty_samples, 0
        try:
            return seasonal(df)
        finally:
            model.uncertainty_samples = samples

    model.make_all_seasonality_features = built_once
    model.sample_posterior_predictive = kept
    model.predict_seasonal_components = without_intervals
    try:
        yield drawn
    finally:
        del model.make_all_seasonality_features, model.sample_posterior_predictive
        del model.predict_seasonal_components


def _components(model, predicted: pd.DataFrame, regressors: list[str], log: bool) -> pd.DataFrame:
    """Prophet's decomposition of the forecast, long format: `ds, component, value, mode`.

    Additive components are in the target's units (log1p units for a log model); multiplicative ones are
    fractions of the trend. `regressors` sums the extra regressors' effects.
    """
    mode_of = {"trend": "additive"}
    columns = {"trend": "trend"}
    for name in ("daily", "weekly", "yearly", "holidays"):
        if name in predicted:
            columns[name] = name
            mode_of[name] = (
                "multiplicative" if name in model.component_modes["multiplicative"] else "additive"
            )
    frames = []
    for component, column in columns.items():
        frames.append(
            pd.DataFrame(
                {"ds": predicted["ds"], "component": component, "value": predicted[column].to_numpy()}
            ).assign(mode=mode_of[component])
        )
    if regressors:
        for mode in ("additive", "multiplicative"):
            column = f"extra_regressors_{mode}"
            if column in predicted and column.endswith(model.seasonality_mode):
                frames.append(
                    pd.DataFrame(
                        {
                            "ds": predicted["ds"],
                            "component": "regressors",
                            "value": predicted[column].to_numpy(),
                        }
                    ).assign(mode=mode)
                )
    result = pd.concat(frames, ignore_index=True)
    if log:
        result["mode"] = "log1p_" + result["mode"]
    return result
