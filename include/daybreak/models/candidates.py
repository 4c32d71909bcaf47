"""The candidate forecast models, each behind one signature: fit on a history, forecast a future, say what it chose.

Candidates: `seasonal_naive` (the baseline every other model must beat, and the fallback), `prophet` (the
calendar's holidays, calendar regressors, additive or multiplicative seasonality, optional log1p transform), and
statsforecast's `auto_ets`, `auto_arima`, `mstl` and `theta`; and `global_lgbm`, one LightGBM model across all
series (`daybreak.models.global_model`), which `forecasting.run_all` fits once for every series instead.

A spec is a plain dict, `{"name": ..., "params": {...}}`, so it pickles to worker processes, serialises to the
registry as JSON and compares by value. A *search* spec (`auto_ets` with no `model`) lets the model choose its
structure; `fit_forecast` returns the *concrete* spec it chose (`auto_ets` with `model: "ANA"`), which is what the
registry keeps. A champion refit on a later night uses the concrete spec, so it re-estimates the parameters on
new data without searching again, and Prophet starts from the champion's fitted parameters (warm start).

Whatever a model says, `fit_forecast` applies the calendar: a closed day is zero with zero-width intervals, and a
non-negative target has no forecast or bound below zero (`calendar_bands`).

Everything here is pure: arrays and dates in, arrays out; Prophet's and numpy's randomness are seeded per call.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as dt
import functools
import json
import logging
import math
import os
import shutil
import signal
import sys
import tempfile
import threading
from typing import Any

import numpy as np
import pandas as pd

from daybreak.core.vocabulary import PANDAS_FREQUENCIES

MODEL_NAMES = (
    "seasonal_naive",
    "prophet",
    "auto_ets",
    "auto_arima",
    "mstl",
    "theta",
    "global_lgbm",
    "ensemble",
)
GLOBAL_MODELS = ("global_lgbm",)
"""Candidates fitted once across every series of a dataset (`daybreak.models.global_model`), not per series."""
GLOBAL_PARAMS = ("n_estimators", "learning_rate", "num_leaves", "conformal_windows", "transform")
"""What a global_lgbm spec may set (defaults in `daybreak.models.global_model.DEFAULTS`)."""
STATSFORECAST_MODELS = ("auto_ets", "auto_arima", "mstl", "theta")
BAND_COLUMNS = ("yhat", "yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95")
NORMAL_Z = {"80": 1.2815515655446004, "95": 1.959963984540054}
QUANTILES = {"yhat_lower_95": 2.5, "yhat_lower_80": 10.0, "yhat_upper_80": 90.0, "yhat_upper_95": 97.5}
UNCERTAINTY_SAMPLES = 300
"""Prophet's interval samples in a forecast. 300 instead of Prophet's 1000 covered the store-item holdout as well
(80%/95% bands: 81.8%/95.0% of 50 series' actuals, against 82.4%/95.4% with 1000; docs/benchmarks.md) for less of
every Prophet night's time; the bands are still seeded, so reproducible."""
CALENDAR_REGRESSORS = ("month_of_year", "weekend", "holiday", "closed")
PROPHET_PARAMS = (
    "seasonality_mode",
    "transform",
    "changepoint_prior_scale",
    "yearly_seasonality",
    "regressors",
    "holidays",
)
"""What a prophet spec may set. `holidays: false` turns the calendar's holidays off for that candidate."""

SEASON_LENGTHS = {"h": (24, 168), "D": (7, 365), "W": (52,), "M": (12,)}
"""Seasonal periods per base frequency: the first is the main one (seasonal naive, ETS, Theta, ARIMA, MASE)."""


class CandidateError(ValueError):
    """A spec names an unknown model or a parameter the model does not take."""


@dataclasses.dataclass(frozen=True)
class CalendarDays:
    """The dataset calendar as the models see it: closed days and public holidays, as plain data.

    Built by the caller from `marts.dim_calendar` (the nightly forecast) or from `daybreak.datasets.calendar` (ad hoc), so
    the models never compute a calendar fact themselves. It must cover the history and the forecast's dates.

    Args:
        closed: days the shop is closed; every model forecasts them as exactly zero.
        holidays: `(day, name)` of each public holiday (Prophet's holidays and the `holiday` regressor).
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

    def prophet_holidays(self) -> pd.DataFrame:
        """The holidays as Prophet's `holidays` frame (`holiday, ds`)."""
        return pd.DataFrame(
            {
                "holiday": [name for _, name in self.holidays],
                "ds": pd.to_datetime([d for d, _ in self.holidays]),
            }
        )


@dataclasses.dataclass(frozen=True)
class SeriesContext:
    """What every model of one series needs besides the values: the grid, the calendar and the seed.

    Args:
        freq: the pandas frequency of the grid (`h`, `D`, `W-SUN`, `MS`, `ME`, ...).
        seed: seeds Prophet's fit and the interval samples.
        calendar: closed days and public holidays (Prophet's holidays, the calendar regressors, and the days
            forecast as zero).
        non_negative: the target cannot go below zero (units, revenue): no forecast or bound does.
        uncertainty_samples: Prophet's interval samples (fewer in backtests, where only coverage needs them).
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


@dataclasses.dataclass
class Fitted:
    """One fit's forecast: the bands over the future, the concrete spec, Prophet's state, and components.

    `state` is Prophet's fitted parameters, a later fit's warm start; `fit` is what forecasts again later without
    fitting (`forecast_stored`): Prophet's stored fit, or an ensemble's members' (None for other models).
    """

    bands: dict[str, np.ndarray]
    spec: dict
    state: dict | None = None
    components: pd.DataFrame | None = None
    fit: dict | None = None


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


def spec(name: str, **params: Any) -> dict:
    """A candidate spec, checked: `spec("prophet", seasonality_mode="multiplicative")`."""
    return check_spec({"name": name, "params": params})


def check_spec(candidate: dict) -> dict:
    """Validate a spec's name and parameters; returns it with params sorted (so equal specs compare equal)."""
    name, params = candidate.get("name"), dict(candidate.get("params") or {})
    if name not in MODEL_NAMES:
        raise CandidateError(f"unknown model {name!r}; candidates are {', '.join(MODEL_NAMES[:-1])}")
    allowed = {
        "seasonal_naive": (),
        "prophet": PROPHET_PARAMS,
        "auto_ets": ("model", "damped"),
        "auto_arima": ("order", "seasonal_order", "include_mean", "include_drift"),
        "mstl": ("season_lengths",),
        "theta": ("model",),
        "global_lgbm": GLOBAL_PARAMS,
        "ensemble": ("members",),
    }[name]
    if unknown := sorted(set(params) - set(allowed)):
        raise CandidateError(f"{name} does not take {unknown}; it takes {list(allowed) or 'no parameters'}")
    if name == "prophet":
        if params.get("seasonality_mode", "additive") not in ("additive", "multiplicative"):
            raise CandidateError("prophet seasonality_mode must be additive or multiplicative")
        if params.get("transform", "none") not in ("none", "log1p"):
            raise CandidateError("prophet transform must be none or log1p")
        if bad := sorted(set(params.get("regressors") or ()) - set(CALENDAR_REGRESSORS)):
            raise CandidateError(
                f"unknown regressors {bad}; calendar regressors are {list(CALENDAR_REGRESSORS)}"
            )
    if name == "global_lgbm":
        _check_global(params)
    return {"name": name, "params": dict(sorted(params.items()))}


def _check_global(params: dict) -> None:
    if params.get("transform", "none") not in ("none", "log1p"):
        raise CandidateError("global_lgbm transform must be none or log1p")
    if int(params.get("conformal_windows", 2)) < 2:
        raise CandidateError(
            "global_lgbm conformal_windows must be at least 2 (conformal intervals need two)"
        )
    if (
        int(params.get("n_estimators", 1)) < 1
        or int(params.get("num_leaves", 2)) < 2
        or not 0 < float(params.get("learning_rate", 0.1)) <= 1
    ):
        raise CandidateError(
            "global_lgbm needs n_estimators >= 1, num_leaves >= 2 and 0 < learning_rate <= 1"
        )


def label(candidate: dict) -> str:
    """A short, stable, readable name for a spec: `prophet(seasonality_mode=multiplicative)`."""
    params = candidate["params"]
    if not params:
        return candidate["name"]
    if candidate["name"] == "ensemble":
        return "ensemble(" + " + ".join(label(m) for m in params["members"]) + ")"
    inner = ",".join(f"{k}={_compact(v)}" for k, v in params.items())
    return f"{candidate['name']}({inner})"


def _compact(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ",".join(_compact(v) for v in value) + "]"
    return json.dumps(value) if isinstance(value, dict) else str(value)


def ineligible(candidate: dict, y: np.ndarray, ctx: SeriesContext) -> str | None:
    """Why a model cannot be fitted on this history (too short, too sparse, negative values), or None.

    The rules are deliberately simple and stated in the reason, because the reason is shown to analysts.
    """
    known = y[~np.isnan(y)]
    m = ctx.season_length
    name = candidate["name"]
    if name == "seasonal_naive":
        return None
    if len(known) < 2:
        return f"{len(known)} known values (needs at least 2)"
    if (known == 0).all():
        return "every value is zero"
    if name == "prophet":
        if candidate["params"].get("transform") == "log1p" and (known < 0).any():
            return "log1p needs non-negative values"
        return None
    if len(known) < 2 * m + 2:
        return f"{len(known)} values, fewer than two seasons of {m} (needs {2 * m + 2})"
    zero_share = float((known == 0).mean())
    if zero_share > 0.5:
        return f"intermittent: {zero_share:.0%} of values are zero (statistical models need at most 50%)"
    return None


def fit_forecast(
    candidate: dict,
    ds: pd.DatetimeIndex,
    y: np.ndarray,
    future: pd.DatetimeIndex,
    ctx: SeriesContext,
    *,
    state: dict | None = None,
    components: bool = False,
) -> Fitted:
    """Fit `candidate` on (ds, y) and forecast `future` with 80% and 95% intervals.

    Args:
        candidate: a spec (search or concrete).
        ds, y: the history on the regular grid of `ctx.freq`; missing values as NaN.
        future: the dates to forecast, after the history.
        state: Prophet's fitted parameters from an earlier fit of the same spec, to start from (warm start).
        components: also return the forecast's components (trend, weekly, yearly, holidays, regressors).

    Raises:
        any error of the underlying library; callers turn it into a flagged fallback.
    """
    fitted = _fit(candidate, ds, y, future, ctx, state, components)
    fitted.bands = calendar_bands(fitted.bands, future, ctx)
    return fitted


def _fit(candidate, ds, y, future, ctx, state, components) -> Fitted:
    name = candidate["name"]
    if name in GLOBAL_MODELS:
        raise CandidateError(
            f"{name} is fitted across all series at once (forecasting.run_all), not one series at a time"
        )
    if name == "seasonal_naive":
        return Fitted(seasonal_naive(y, len(future), ctx.season_length), candidate)
    if name == "prophet":
        return _prophet(candidate, ds, y, future, ctx, state, components)
    if name == "ensemble":
        members = [fit_forecast(m, ds, y, future, ctx) for m in candidate["params"]["members"]]
        return _ensemble(members)
    return _statsforecast(candidate, y, len(future), ctx, components)


def _ensemble(members: list[Fitted]) -> Fitted:
    """The mean of the members' forecasts; its stored fit is its members' (None where a member has none)."""
    bands = {c: np.mean([m.bands[c] for m in members], axis=0) for c in BAND_COLUMNS}
    stored = {"members": [m.fit for m in members]} if any(m.fit for m in members) else None
    return Fitted(bands, {"name": "ensemble", "params": {"members": [m.spec for m in members]}}, fit=stored)


def forecast_stored(
    candidate: dict,
    fit: dict,
    ds: pd.DatetimeIndex,
    y: np.ndarray,
    future: pd.DatetimeIndex,
    ctx: SeriesContext,
    *,
    components: bool = False,
) -> Fitted:
    """Forecast `future` from a stored fit (`Fitted.fit` of an earlier fit of the concrete `candidate`), not
    fitting again: a Prophet model predicts from its stored parameters, so no Stan call and none of Prophet's
    fitting work. An ensemble's Prophet members do the same; its other members are refit on (ds, y), which is
    cheap. The forecast uses only the data the stored fit was made on (as of its training), and with the same
    seed and future it is exactly the forecast the fit itself made. The calendar is applied as in
    `fit_forecast`; the holidays come from `ctx`'s calendar, the one source of them.

    Raises:
        any error of Prophet's predict (features that no longer match the stored fit); callers refit instead.
    """
    if candidate["name"] == "ensemble":
        members = [
            fit_forecast(member, ds, y, future, ctx)
            if stored is None
            else forecast_stored(member, stored, ds, y, future, ctx)
            for member, stored in zip(candidate["params"]["members"], fit["members"], strict=True)
        ]
        fitted = _ensemble(members)
    elif candidate["name"] == "prophet":
        model = _restored_prophet(fit, ctx)
        bands, parts = _prophet_forecast(model, candidate["params"], future, ctx, components)
        fitted = Fitted(bands, candidate, None, parts, fit)
    else:
        raise CandidateError(f"{candidate['name']} keeps no stored fit; it is refit")
    fitted.bands = calendar_bands(fitted.bands, future, ctx)
    return fitted


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


def seasonal_naive(y: np.ndarray, horizon: int, season_length: int) -> dict[str, np.ndarray]:
    """Each step repeats the value one season earlier; the mean when there is less than one season.

    Intervals widen with the number of seasons ahead (sqrt(k) times the spread of the seasonal differences),
    the textbook seasonal-naive intervals. Missing values are interpolated first; an empty history forecasts 0.
    """
    values = _filled(y)
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


def _filled(y: np.ndarray) -> np.ndarray:
    """Interior gaps interpolated, leading ones dropped, trailing ones carried forward (statsforecast takes no NaN)."""
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


def calendar_regressors(
    dates: pd.DatetimeIndex, names: tuple[str, ...] | list[str], ctx: SeriesContext
) -> pd.DataFrame:
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


STAN_MODULES = (
    "cmdstanpy",
    "cmdstanpy.model",
    "cmdstanpy.stanfit.mcmc",
    "cmdstanpy.stanfit.runset",
    "cmdstanpy.utils.filesystem",
)
"""The cmdstanpy modules that copy its temporary folder's name when imported."""


@contextlib.contextmanager
def stan_workspace():
    """A temporary folder for Stan's files during one fit, removed on every way out, SIGTERM included.

    cmdstanpy writes each fit's data and output under a folder it makes at import and removes only at a normal
    interpreter exit, so a process killed mid-fit (a task timeout, a stopped container) leaves it behind. Here each
    fit gets its own folder, removed when the block ends or fails; a SIGTERM meanwhile removes it, and cmdstanpy's
    own, before the previous handler (or the default, terminating) runs.
    """
    import cmdstanpy  # noqa: F401 - loads the modules whose folder name is swapped below

    modules = [sys.modules[name] for name in STAN_MODULES if name in sys.modules]
    original = {module: module._TMPDIR for module in modules}
    # the handler is in place before the folder exists, so no SIGTERM can fall between the two
    created: list[str] = []
    handler_installed = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if handler_installed else None

    def _terminated(signum, frame):
        for folder in {*created, *original.values()}:
            shutil.rmtree(folder, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
        if callable(previous):
            previous(signum, frame)
        else:
            os.kill(os.getpid(), signal.SIGTERM)

    if handler_installed:
        signal.signal(signal.SIGTERM, _terminated)
    try:
        created.append(tempfile.mkdtemp(prefix="daybreak-stan-"))
        workspace = created[0]
        for module in modules:
            module._TMPDIR = workspace
        yield workspace
    finally:
        if handler_installed:
            signal.signal(signal.SIGTERM, previous)
        for module, folder in original.items():
            module._TMPDIR = folder
        for folder in created:
            shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _seeded_numpy(seed: int):
    """Seed numpy's global generator for Prophet's samples, and give the caller's state back afterwards."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def _prophet(
    candidate: dict,
    ds: pd.DatetimeIndex,
    y: np.ndarray,
    future: pd.DatetimeIndex,
    ctx: SeriesContext,
    state: dict | None,
    components: bool,
) -> Fitted:
    from cmdstanpy.utils import get_logger
    from prophet import Prophet

    get_logger().setLevel(logging.WARNING)  # cmdstanpy sets DEBUG on its first call; take it down after that
    logging.getLogger("prophet").setLevel(logging.WARNING)
    params = candidate["params"]
    mode = params.get("seasonality_mode", "additive")
    log = params.get("transform", "none") == "log1p"
    base = ctx.base
    history = (
        pd.DataFrame({"ds": ds, "y": np.log1p(y) if log else y}).dropna(subset=["y"]).reset_index(drop=True)
    )
    span_days = (history["ds"].max() - history["ds"].min()).days
    yearly = params.get("yearly_seasonality", "auto")
    if yearly == "auto":
        yearly = "auto" if span_days >= (365 if base in ("h", "D") else 730) else False
    holidays = None
    if ctx.calendar.holidays and base in ("h", "D") and params.get("holidays", True):
        holidays = ctx.calendar.prophet_holidays()
    model = Prophet(
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
            if past[column].nunique() > 1:  # a constant column carries nothing and Prophet cannot scale it
                model.add_regressor(column)
                history[column] = past[column].to_numpy()
    model.stan_backend = _array_backend()
    fit_kwargs: dict[str, Any] = {"seed": ctx.seed}
    if state is not None:
        fit_kwargs["init"] = {k: np.asarray(v) if isinstance(v, list) else v for k, v in state.items()}
    with stan_workspace():
        try:
            model.fit(history, **fit_kwargs)
        except Exception:
            if state is None:
                raise
            # the champion's parameters no longer match the features (a new holiday entered the window): cold
            model = _refit_cold(model, history, ctx.seed)
    bands, parts = _prophet_forecast(model, params, future, ctx, components)
    concrete = {
        "name": "prophet",
        "params": dict(
            sorted({**params, "seasonality_mode": mode, "transform": "log1p" if log else "none"}.items())
        ),
    }
    from prophet.utilities import warm_start_params

    fitted_state = {k: (np.asarray(v).tolist()) for k, v in warm_start_params(model).items()}
    return Fitted(bands, concrete, fitted_state, parts, stored_prophet(model))


def _prophet_forecast(
    model, params: dict, future: pd.DatetimeIndex, ctx: SeriesContext, components: bool
) -> tuple[dict[str, np.ndarray], pd.DataFrame | None]:
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
    parts = _prophet_components(model, predicted, regressors, log) if components else None
    return bands, parts


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


STORED_HISTORY_ROWS = 2
"""Rows of the history a stored Prophet fit keeps: `predict` refuses a model without history, reads the last date
of it, and the step between periods when the future is one period long."""


def stored_prophet(model) -> dict:
    """What a fitted Prophet model needs to predict later without its history or Stan, as JSON-ready data.

    Prophet's own serialisation (`prophet.serialize.model_to_dict`) of a trimmed copy: the fitted parameters
    without the per-period `trend` (predict recomputes it from `k`, `m` and `delta`), no history dates, fit
    arguments (the warm start's init) or changepoint dates (predict uses their positions, `changepoints_t`), no
    holidays frame (the calendar gives it back when the fit is used, `_restored_prophet`), and not the table of
    which feature feeds which component (`train_component_cols`, only compared with itself in `predict`: the
    features come out in the same order from the same seasonalities, sorted holiday names and regressors). Of
    the history, only `ds` and `t` of its last `STORED_HISTORY_ROWS` rows, as plain lists (`history_tail`):
    parsing Prophet's table-JSON of it would be a sixth of a stored fit's forecast. So the stored fit is about
    5 kB whatever the history's length (docs/benchmarks.md).
    """
    from prophet.serialize import model_to_dict

    tail = model.history.tail(STORED_HISTORY_ROWS)
    trimmed = copy.copy(model)  # shallow: the attributes below are replaced, never changed in place
    trimmed.history = tail.iloc[:0]  # model_to_dict insists on a fitted model's history
    trimmed.history_dates = None
    trimmed.changepoints = None
    trimmed.fit_kwargs = {}
    trimmed.params = {k: v for k, v in model.params.items() if k != "trend"}
    trimmed.holidays = None
    trimmed.train_component_cols = None
    stored = model_to_dict(trimmed)
    stored["history"] = None
    stored["history_tail"] = {
        "ds": [d.isoformat() for d in tail["ds"]],
        "t": [float(t) for t in tail["t"]],
    }
    return stored


def _restored_prophet(fit: dict, ctx: SeriesContext):
    """The Prophet model of a stored fit (`stored_prophet`), its holidays from `ctx`'s calendar."""
    from prophet.serialize import model_from_dict

    model = model_from_dict(dict(fit))  # model_from_dict fills in keys of older versions in place
    tail = fit["history_tail"]
    model.history = pd.DataFrame({"ds": pd.to_datetime(tail["ds"]), "t": tail["t"]})
    if model.train_holiday_names is not None:
        model.holidays = ctx.calendar.prophet_holidays()
    return model


@functools.cache
def _array_backend():
    """Prophet's cmdstanpy backend, handing Stan its data as numpy arrays instead of Python lists.

    Prophet's own backend turns every array (the feature matrix too) into nested lists, which cmdstanpy's JSON
    writer then walks element by element in Python: about a third of a store-item fit's time (bench
    forecast_store_item). Arrays take the writer's vectorised path and give the same file, so the same fit. One
    instance per process: it only holds the last fit's handle, and fits run one at a time.
    """
    from prophet.models import CmdStanPyBackend

    class ArrayBackend(CmdStanPyBackend):
        @staticmethod
        def prepare_data(init: dict[str, Any], data: dict[str, Any]) -> tuple[dict, dict]:
            arrays = ("y", "t", "cap", "t_change", "s_a", "s_m", "delta", "beta")
            keys = ("T", "S", "K", "tau", "trend_indicator", "y", "t", "cap", "t_change", "s_a", "s_m")
            stan_data = {k: np.asarray(data[k]) if k in arrays else data[k] for k in keys}
            stan_data.update(X=data["X"].to_numpy(), sigmas=data["sigmas"])  # Prophet's order, its exact file
            stan_init = {
                k: np.asarray(init[k]) if k in arrays else init[k]
                for k in ("k", "m", "delta", "beta", "sigma_obs")
            }
            return stan_init, stan_data

    return ArrayBackend()


def _refit_cold(template, history: pd.DataFrame, seed: int):
    from prophet import Prophet

    model = Prophet(
        seasonality_mode=template.seasonality_mode,
        yearly_seasonality=template.yearly_seasonality,
        weekly_seasonality=template.weekly_seasonality,
        daily_seasonality=template.daily_seasonality,
        changepoint_prior_scale=template.changepoint_prior_scale,
        holidays=template.holidays,
        uncertainty_samples=template.uncertainty_samples,
    )
    for name in template.extra_regressors:
        model.add_regressor(name)
    model.stan_backend = _array_backend()
    return model.fit(history, seed=seed)


def _prophet_components(model, predicted: pd.DataFrame, regressors: list[str], log: bool) -> pd.DataFrame:
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


def _statsforecast(
    candidate: dict, y: np.ndarray, horizon: int, ctx: SeriesContext, components: bool
) -> Fitted:
    from statsforecast.models import ARIMA, MSTL, AutoARIMA, AutoETS, AutoTheta
    from statsforecast.models import AutoETS as TrendETS

    name, params = candidate["name"], candidate["params"]
    values = _filled(y)
    m = ctx.season_length
    parts = None
    if name == "auto_ets":
        model = AutoETS(season_length=m, model=params.get("model", "ZZZ"), damped=params.get("damped"))
        model.fit(values)
        method = model.model_["method"]  # e.g. "ETS(A,Ad,N)"
        error, trend, season = method[4:-1].split(",")
        concrete = {"model": error + trend[0] + season, "damped": trend.endswith("d")}
    elif name == "auto_arima":
        if "order" in params:
            model = ARIMA(
                order=tuple(params["order"]),
                seasonal_order=tuple(params["seasonal_order"]),
                season_length=m,
                include_mean=params.get("include_mean", True),
                include_drift=params.get("include_drift", False),
            )
        else:
            model = AutoARIMA(season_length=m)
        model.fit(values)
        p, q, sp, sq, _, d, sd = model.model_["arma"]
        coef = model.model_["coef"]
        concrete = {
            "order": [int(p), int(d), int(q)],
            "seasonal_order": [int(sp), int(sd), int(sq)],
            "include_mean": "intercept" in coef,
            "include_drift": "drift" in coef,
        }
    elif name == "mstl":
        lengths = params.get("season_lengths") or [
            s for s in SEASON_LENGTHS[ctx.base] if len(values) >= 2 * s + 2
        ]
        lengths = [int(s) for s in lengths if len(values) >= 2 * int(s) + 2] or [m]
        model = MSTL(season_length=lengths, trend_forecaster=TrendETS(model="ZZN"))
        model.fit(values)
        concrete = {"season_lengths": lengths}
        if components:
            parts = _mstl_components(model.model_, lengths, horizon)
    elif name == "theta":
        model = AutoTheta(season_length=m, model=params.get("model"))
        model.fit(values)
        concrete = {"model": model.model_["modeltype"]}
    else:  # pragma: no cover - check_spec rejects other names
        raise CandidateError(name)
    forecast = model.predict(h=horizon, level=[80, 95])
    bands = {
        "yhat": np.asarray(forecast["mean"], dtype=float),
        "yhat_lower_80": np.asarray(forecast["lo-80"], dtype=float),
        "yhat_upper_80": np.asarray(forecast["hi-80"], dtype=float),
        "yhat_lower_95": np.asarray(forecast["lo-95"], dtype=float),
        "yhat_upper_95": np.asarray(forecast["hi-95"], dtype=float),
    }
    if name == "mstl" and parts is not None:
        trend = bands["yhat"] - sum(v for c, v in parts.items() if c != "trend")
        parts["trend"] = trend
    frame = None
    if parts is not None:
        frame = pd.concat(
            [
                pd.DataFrame({"step": np.arange(horizon), "component": c, "value": v})
                for c, v in parts.items()
            ],
            ignore_index=True,
        ).assign(mode="additive")
    return Fitted(bands, {"name": name, "params": dict(sorted(concrete.items()))}, None, frame)


SEASON_NAMES = {24: "daily", 168: "weekly", 7: "weekly", 365: "yearly", 52: "yearly", 12: "yearly"}


def _mstl_components(decomposition: pd.DataFrame, lengths: list[int], horizon: int) -> dict[str, np.ndarray]:
    """MSTL's future seasonal parts (each repeats its last cycle, as MSTL forecasts them); trend is filled later."""
    parts: dict[str, np.ndarray] = {"trend": np.zeros(horizon)}
    seasonal_columns = [c for c in decomposition.columns if c.startswith("seasonal")]
    for length, column in zip(lengths, seasonal_columns, strict=False):
        last = decomposition[column].to_numpy()[-length:]
        parts[SEASON_NAMES.get(length, f"season_{length}")] = np.array(
            [last[i % length] for i in range(horizon)]
        )
    return parts


def is_finite_bands(bands: dict[str, np.ndarray]) -> bool:
    return all(np.isfinite(bands[c]).all() for c in BAND_COLUMNS)


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


def finite_or_nan(value: float) -> float:
    return float(value) if value is not None and math.isfinite(value) else float("nan")
