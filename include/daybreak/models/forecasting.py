"""Forecasts per series: backtested model selection, champion refits, intervals, components and fallbacks.

`run_series` is the unit of work: one series' history and what the registry knows about it (its champion) in, its
forecast, components, backtest metrics and selection out. It is a pure, top-level function of one picklable
argument, so it runs in a loop, in worker processes (`run_all`, here), or on Spark executors (`run_all`'s
`map_series`, `daybreak.nights.spark_models`), one series at a time, with the same result.

On a retrain night a series gets a rolling-origin backtest of every candidate of the dataset config (plus the
seasonal naive baseline, plus the champion's own model on the same folds), and the best candidate, or an ensemble
of the top ones, becomes the challenger. `daybreak.models.promotion.decide_promotion` says whether it replaces the
champion. On other nights (`ForecastOptions.normal_night`) a Prophet champion, or an ensemble with Prophet members,
scores from the fit stored at its training (`candidates.forecast_stored`: no fitting, so a normal night costs a
fraction of one Prophet fit); with `refit`, or without a stored fit (older versions, other models), the champion's
concrete model is refit on the new data (Prophet starting from the champion's fitted parameters) and scores.

A retrain's cost is Prophet fits, so the backtest makes as few as it can without changing what is measured:
every candidate runs on the newest fold first and one far behind there is dropped before the older folds
(`_halved`, successive halving), Prophet's backtests draw no interval samples (the metric needs the point), and
each Prophet fit starts from the previous fold's parameters, the winner's final fit from its newest fold's.

Nothing fails the night for one series: a model that cannot fit, or exceeds the time limit, is abandoned for the
next best, and in the end for the seasonal naive, with the reason recorded.

Determinism: every fit is seeded, ties are broken by the candidates' order in the config, and nothing reads the
clock except the time limit, which only matters when it fires.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import json
import multiprocessing
import os
import signal
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from daybreak.core.vocabulary import METRICS, NORMAL_NIGHTS, SELECTION_METRICS
from daybreak.models import global_model
from daybreak.models.candidates import (
    BAND_COLUMNS,
    GLOBAL_MODELS,
    Fitted,
    SeriesContext,
    calendar_bands,
    check_spec,
    fit_forecast,
    forecast_stored,
    ineligible,
    is_finite_bands,
    label,
    nested_bands,
    seasonal_naive,
)
from daybreak.models.promotion import decide_promotion

FORECAST_COLUMNS = ("ds", "horizon_step", *BAND_COLUMNS, "model")
COMPONENT_COLUMNS = ("ds", "component", "value", "mode")
BACKTEST_COLUMNS = (
    "candidate",
    "model",
    "role",
    "fold",
    "cutoff",
    "n_train",
    "n_test",
    *METRICS,
    "selected",
)
FOLD_COLUMNS = ("cutoff", "ds", "y", "yhat")
BASELINE = {"name": "seasonal_naive", "params": {}}
SEQUENTIAL_MAX_SERIES = 4
"""Up to this many series run in a loop: starting worker processes costs more than it saves."""


class TimeLimitExceeded(Exception):  # noqa: N818 - reads as what happened
    """A fit ran past the per-series time limit."""


@dataclasses.dataclass(frozen=True)
class ForecastOptions:
    """How a series is trained and scored; built from the dataset config's `forecasting:` section.

    Args:
        candidates: specs to backtest (see `daybreak.models.candidates`); the seasonal naive is always added.
        horizon: periods to forecast.
        folds, backtest_horizon, step: rolling-origin backtest: `folds` cutoffs `step` periods apart, each
            scored over the next `backtest_horizon` periods (defaults: the forecast horizon).
        metric: what picks the winner: `mase`, `smape` or `rmse` (mean over folds, lower is better).
        ensemble_top: 2 or more: also try the mean of the best `ensemble_top` candidates; 0 turns it off.
        promotion_margin: the relative improvement a challenger needs over the champion.
        time_limit_seconds: per model and series (a candidate's whole backtest, or the final fit); None: none.
        backtest_uncertainty_samples: Prophet's interval samples inside backtests. The selection metrics need
            only the point, so the default draws none (the backtest's coverage is then NaN for Prophet); the
            forecast's intervals come from the final fit's samples either way.
        halving_margin: successive halving: after every candidate is scored on the newest fold, one more than
            this share above the best there is dropped before the older folds (`_halved`); None: no halving.
        normal_night: on a night that does not retrain, `score`: a champion with a stored fit (Prophet, an
            ensemble with Prophet members) forecasts from it without fitting, from the data up to its training;
            `refit`: the champion is refit on tonight's history first (warm-started), as is any champion without
            a stored fit either way.
    """

    candidates: tuple[dict, ...]
    horizon: int
    folds: int = 3
    backtest_horizon: int | None = None
    step: int | None = None
    metric: str = "mase"
    ensemble_top: int = 0
    promotion_margin: float = 0.02
    time_limit_seconds: float | None = 120.0
    backtest_uncertainty_samples: int = 0
    halving_margin: float | None = 0.1
    normal_night: str = "score"

    def __post_init__(self) -> None:
        if self.normal_night not in NORMAL_NIGHTS:
            raise ValueError(f"normal_night must be one of {NORMAL_NIGHTS}, got {self.normal_night!r}")
        if self.horizon < 1:
            raise ValueError(f"horizon must be at least 1, got {self.horizon}")
        if self.metric not in SELECTION_METRICS:
            raise ValueError(f"metric must be one of {SELECTION_METRICS}, got {self.metric!r}")
        if self.folds < 1:
            raise ValueError(f"folds must be at least 1, got {self.folds}")
        object.__setattr__(self, "candidates", tuple(check_spec(c) for c in self.candidates))

    @property
    def bt_horizon(self) -> int:
        return self.backtest_horizon or self.horizon

    @property
    def bt_step(self) -> int:
        return self.step or self.bt_horizon


@dataclasses.dataclass(frozen=True)
class SeriesTask:
    """Everything `run_series` needs for one series, and nothing that needs a connection.

    Args:
        ds, y: the history (any order, gaps allowed); rows after `origin` are ignored.
        origin: the last period of the history; step 1 is the period after it.
        retrain: backtest the candidates and pick a challenger (else: refit the champion).
        champion: the registry's champion going into the night: `{"version", "spec", "state", "fit"}` (`fit`,
            the stored fit, may be absent), or None.
        decision: `decide` (apply the promotion rule), or the outcome already recorded for this night's version,
            `promote` or `reject` (a rerun repeats what the first run decided).
        decision_reason: the recorded reason, with a recorded decision.
        panel: the global candidates' forecasts for this series, made across all series by `run_all`
            (`with_panel_forecasts`): label -> `{"folds": {fold's last training period: bands}, "final": bands
            or None, "reason": why the series has none, or None}`.
    """

    series_id: str
    ds: np.ndarray
    y: np.ndarray
    origin: pd.Timestamp
    context: SeriesContext
    options: ForecastOptions
    retrain: bool = True
    champion: dict | None = None
    decision: str = "decide"
    decision_reason: str | None = None
    components: bool = True
    panel: dict | None = None


@dataclasses.dataclass
class SeriesResult:
    """One series' outputs. `selection` explains them in words for `predictions.forecast_selection`."""

    series_id: str
    forecast: pd.DataFrame
    components: pd.DataFrame
    backtest: pd.DataFrame
    selection: dict
    challenger: dict | None = None
    scoring_state: dict | None = None
    seconds: float = 0.0
    folds: pd.DataFrame | None = None
    """On a retrain night, the scoring model's backtest predictions (`FOLD_COLUMNS`): reconciliation's folds."""


def grid_frequency(freq: str, origin: pd.Timestamp) -> str:
    """The pandas alias whose grid the origin sits on: weekly series are anchored on the origin's weekday."""
    if freq.upper() == "W":
        return "W-" + ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")[origin.weekday()]
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


def backtest_cutoffs(n: int, horizon: int, folds: int, step: int, min_train: int) -> list[int]:
    """Training lengths of the rolling-origin folds, oldest first; the last fold's test ends at the history's end.

    Folds whose training part would be shorter than `min_train` are dropped (a short series gets fewer folds,
    or none).
    """
    cutoffs = [n - horizon - step * (folds - 1 - k) for k in range(folds)]
    return [c for c in cutoffs if c >= min_train]


def fold_metrics(
    actual: np.ndarray,
    bands: dict[str, np.ndarray],
    train: np.ndarray,
    season_length: int,
    *,
    intervals: bool = True,
) -> dict:
    """MASE, sMAPE (percent, 0..200), RMSE, bias (forecast minus actual) and interval coverage of one fold.

    MASE divides the mean absolute error by the in-sample mean absolute error of the seasonal naive forecast
    (lag `season_length`, or lag 1 when the training part is shorter than a season); it is NaN when that scale is
    zero (a constant history). Periods whose actual is missing are left out. `intervals=False` (a Prophet
    backtest drawn without interval samples: its bands are the point) leaves the coverage NaN, not a false 0.
    """
    mask = ~np.isnan(actual)
    a = actual[mask]
    f = bands["yhat"][mask]
    if len(a) == 0:
        return {m: float("nan") for m in METRICS} | {"n_test": 0}
    error = f - a
    train = train[~np.isnan(train)]
    lag = season_length if len(train) > season_length else 1
    scale = float(np.mean(np.abs(train[lag:] - train[:-lag]))) if len(train) > lag else float("nan")
    denominator = np.abs(a) + np.abs(f)
    smape_terms = np.where(
        denominator == 0, 0.0, 2 * np.abs(error) / np.where(denominator == 0, 1, denominator)
    )
    inside = {
        level: (bands[f"yhat_lower_{level}"][mask] <= a) & (a <= bands[f"yhat_upper_{level}"][mask])
        for level in ("80", "95")
    }
    return {
        "mase": float(np.mean(np.abs(error)) / scale) if scale and np.isfinite(scale) else float("nan"),
        "smape": float(100 * np.mean(smape_terms)),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "bias": float(np.mean(error)),
        "coverage_80": float(np.mean(inside["80"])) if intervals else float("nan"),
        "coverage_95": float(np.mean(inside["95"])) if intervals else float("nan"),
        "n_test": int(len(a)),
    }


@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Abandon the block after `seconds`.

    In a worker process the block is interrupted with SIGALRM. In the main process signals are left alone
    (Airflow's task runner uses them), so the block runs to the end and is abandoned afterwards when it ran
    over: the result is the same fallback, only later.
    """
    if not seconds:
        yield
        return
    started = time.perf_counter()
    use_alarm = multiprocessing.parent_process() is not None and hasattr(signal, "setitimer")
    if use_alarm:

        def _expired(signum, frame):
            raise TimeLimitExceeded(f"exceeded the time limit of {seconds:g} s")

        previous = signal.signal(signal.SIGALRM, _expired)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    if time.perf_counter() - started > seconds:
        raise TimeLimitExceeded(f"exceeded the time limit of {seconds:g} s")


def run_series(task: SeriesTask) -> SeriesResult:
    """Train (on a retrain night) or refit the champion of one series, and forecast it.

    Pure: the same task gives the same result. See the module docstring for the rules. Whatever goes wrong for
    this series, the result is a forecast: an unexpected error gives the seasonal naive, flagged with the error,
    so one series never fails the night.
    """
    try:
        return _run_series(task)
    except Exception as error:  # noqa: BLE001 - the last line of defence for one series
        return _failed(task, error)


def _failed(task: SeriesTask, error: Exception) -> SeriesResult:
    return _fallback(task, f"error: {type(error).__name__}: {str(error)[:300]}")


def _blank_selection(task: SeriesTask, n_history: int) -> dict:
    """A series' `forecast_selection` row before anything is decided: what every path starts from."""
    return {
        "retrained": task.retrain,
        "n_history": n_history,
        "metric": task.options.metric,
        "champion_version": (task.champion or {}).get("version"),
        "champion_score": None,
        "challenger": None,
        "challenger_model": None,
        "challenger_score": None,
        "baseline_score": None,
        "decision": None,
        "decision_reason": None,
        "fallback_reason": None,
    }


def _fallback(task: SeriesTask, reason: str) -> SeriesResult:
    """The seasonal naive for one series, flagged with `reason` (nothing is trained or registered)."""
    origin = pd.Timestamp(task.origin)
    future = future_dates(origin, task.options.horizon, task.context.freq)
    order = np.argsort(pd.to_datetime(task.ds).to_numpy()) if len(task.ds) else np.array([], dtype=int)
    values = np.asarray(task.y, dtype=float)[order] if len(order) else np.array([], dtype=float)
    bands = seasonal_naive(values, len(future), task.context.season_length)
    bands = nested_bands(calendar_bands(bands, future, task.context))
    forecast = pd.DataFrame(
        {
            "ds": future,
            "horizon_step": np.arange(1, len(future) + 1, dtype="int32"),
            **bands,
            "model": BASELINE["name"],
        }
    )
    selection = {
        **_blank_selection(task, int(np.isfinite(values).sum())),
        "scoring_model": BASELINE["name"],
        "scoring_role": "fallback",
        "fallback_reason": reason,
        "skipped": None,
    }
    return SeriesResult(
        series_id=task.series_id,
        forecast=forecast.loc[:, list(FORECAST_COLUMNS)],
        components=pd.DataFrame(columns=list(COMPONENT_COLUMNS)),
        backtest=pd.DataFrame(columns=list(BACKTEST_COLUMNS)),
        selection=selection,
    )


def degenerate(y: np.ndarray) -> str | None:
    """Why a history gives no model anything to learn (no known value, or only zeros), or None.

    Such a series is forecast by the flagged seasonal naive (zero for zeros) rather than silently, so an analyst
    sees that the zero is a fallback and not a prediction.
    """
    known = np.asarray(y, dtype=float)
    known = known[~np.isnan(known)]
    if len(known) == 0:
        return (
            "no known values (every value is missing): the zero forecast is a placeholder, not a prediction"
        )
    if (known == 0).all():
        return f"every value is zero ({len(known)} known values): forecast zero"
    return None


def _run_series(task: SeriesTask) -> SeriesResult:
    started = time.perf_counter()
    ctx, options = task.context, task.options
    origin = pd.Timestamp(task.origin)
    ds, y = regular_history(task.ds, task.y, origin, ctx.freq)
    if reason := degenerate(y):
        return _fallback(task, reason)
    future = future_dates(origin, options.horizon, ctx.freq)
    known = y[~np.isnan(y)]
    skipped: dict[str, str] = {}
    backtest = pd.DataFrame(columns=list(BACKTEST_COLUMNS))
    selection = _blank_selection(task, int(len(known)))
    challenger: dict | None = None
    scoring_spec, scoring_state, scoring_role = None, None, "champion"
    scoring_fit: dict | None = None

    if task.retrain:
        bt = _backtest_all(task, ds, y, skipped)
        backtest = bt["frame"]
        best = bt["best"]
        selection.update(
            challenger=label(best["spec"]),
            challenger_model=best["spec"]["name"],
            challenger_score=best["score"],
            baseline_score=bt["baseline_score"],
            champion_score=bt["champion_score"],
        )
        if bt["reason"]:
            selection["fallback_reason"] = bt["reason"]
        challenger = {"spec": best["spec"], "state": None, "fit": None, "metrics": best["metrics"]}
        if task.decision == "decide" and task.champion is None:
            promote = True
            reason = "no champion yet" + (
                f"; challenger scores {best['score']:.6g}"
                if best["score"] is not None
                else "; not backtested"
            )
        elif task.decision == "decide":
            champion_score = bt["champion_score"] if bt["champion_score"] is not None else float("nan")
            promote, reason = decide_promotion(
                champion_score,
                best["score"] if best["score"] is not None else float("nan"),
                options.promotion_margin,
            )
        else:
            promote, reason = task.decision == "promote", task.decision_reason
        if promote or task.champion is None:
            # the winner's fit on the newest fold is the final fit's start (the histories differ by one fold)
            scoring_spec, scoring_state, scoring_role = best["spec"], best.get("state"), "challenger"
        else:
            scoring_spec, scoring_state = task.champion["spec"], task.champion.get("state")
        selection.update(decision="promote" if promote else "reject", decision_reason=reason)
    else:
        if task.champion is None:
            raise ValueError(f"series {task.series_id!r}: no champion to refit and retrain is off")
        scoring_spec, scoring_state = task.champion["spec"], task.champion.get("state")
        if options.normal_night == "score":
            scoring_fit = task.champion.get("fit")

    fitted, fallback = _final_fit(
        scoring_spec, ds, y, future, ctx, scoring_state, options, task.components, task.panel, scoring_fit
    )
    if fallback and scoring_role == "challenger" and task.decision == "decide" and task.champion is not None:
        # the winner could not be fitted on the full history: it is rejected and the champion scores. What the
        # selection says is then what a rerun, which repeats the recorded rejection, says: the challenger's
        # failure is the decision's reason, the fallback reason only the champion's own, and the challenger is
        # registered as what was backtested, not as the fallback that stood in for it
        selection.update(decision="reject", decision_reason=f"challenger's final fit failed: {fallback}")
        scoring_spec, scoring_state, scoring_role = (
            task.champion["spec"],
            task.champion.get("state"),
            "champion",
        )
        fitted, fallback = _final_fit(
            scoring_spec, ds, y, future, ctx, scoring_state, options, task.components, task.panel
        )
    if fallback:
        selection["fallback_reason"] = "; ".join(r for r in (selection["fallback_reason"], fallback) if r)
    if challenger is not None and scoring_role == "challenger":
        challenger.update(spec=fitted.spec, state=fitted.state, fit=fitted.fit)
    elif challenger is not None and fitted.fit is not None:
        # the champion stays and was refit on tonight's history: the next normal nights score from this fit, not
        # from the one made when it was trained (forecast_night.registry_state finds it)
        challenger["champion_fit"] = {"version": task.champion["version"], "fit": fitted.fit}
    selection["scoring_model"] = label(fitted.spec)
    selection["scoring_role"] = (
        "fallback" if fitted.spec == BASELINE and scoring_spec != BASELINE else scoring_role
    )
    selection["skipped"] = json.dumps(skipped, sort_keys=True) if skipped else None

    bands = nested_bands(fitted.bands)
    forecast = pd.DataFrame(
        {
            "ds": future,
            "horizon_step": np.arange(1, len(future) + 1, dtype="int32"),
            **bands,
            "model": fitted.spec["name"],
        }
    )
    components = _component_frame(fitted.components, future)
    folds = None
    if task.retrain:
        folds = _fold_frame(bt["folds"], fitted.spec, best["spec"], ds, y, options.bt_horizon)
    if challenger is not None:
        challenger["data_start"] = ds[~np.isnan(y)].min().date() if len(known) else None
        challenger["data_end"] = origin.date()
    return SeriesResult(
        series_id=task.series_id,
        forecast=forecast.loc[:, list(FORECAST_COLUMNS)],
        components=components,
        backtest=backtest,
        selection=selection,
        challenger=challenger,
        scoring_state=fitted.state,
        seconds=time.perf_counter() - started,
        folds=folds,
    )


def _fold_frame(folds: dict, spec: dict, best: dict, ds, y, horizon: int) -> pd.DataFrame:
    """The backtest predictions of the model that scores tonight (else the backtest's winner) as FOLD_COLUMNS."""
    chosen = folds.get(label(spec), folds.get(label(best), []))
    parts = [
        pd.DataFrame(
            {
                "cutoff": ds[cutoff - 1],
                "ds": ds[cutoff : cutoff + horizon],
                "y": y[cutoff : cutoff + horizon],
                "yhat": bands["yhat"],
            }
        )
        for cutoff, bands, _ in chosen
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(FOLD_COLUMNS))


def _final_fit(spec, ds, y, future, ctx, state, options, components, panel=None, fit=None):
    """Fit the scoring model on the whole history; on failure or timeout the seasonal naive, with the reason.

    A global candidate was fitted across all series already (`with_panel_forecasts`): its forecast is looked up.
    With a stored fit (`fit`, a normal night's champion) the model forecasts from it instead of fitting; should
    that fail (the calendar's features no longer match it), it is refit as without one.
    """
    if spec["name"] in GLOBAL_MODELS:
        made = (panel or {}).get(label(spec)) or {"final": None, "reason": "no global forecast was made"}
        if made["final"] is not None:
            return Fitted(made["final"], spec), None
        reason = f"{label(spec)} cannot fit: {made['reason']}"
        return fit_forecast(BASELINE, ds, y, future, ctx), reason
    if fit is not None:
        try:
            with time_limit(options.time_limit_seconds):
                fitted = forecast_stored(spec, fit, ds, y, future, ctx, components=components)
            if is_finite_bands(fitted.bands):
                return fitted, None
        except Exception:  # noqa: BLE001, S110 - the refit below is the answer to a stored fit that cannot predict
            pass
    reason = ineligible(spec, y, ctx)
    if reason is None:
        try:
            with time_limit(options.time_limit_seconds):
                fitted = fit_forecast(spec, ds, y, future, ctx, state=state, components=components)
            if is_finite_bands(fitted.bands):
                return fitted, None
            reason = f"{label(spec)} forecast non-finite values"
        except TimeLimitExceeded as error:
            reason = f"{label(spec)} {error}"
        except Exception as error:  # noqa: BLE001 - one series' failure must not fail the night
            reason = f"{label(spec)} failed: {type(error).__name__}: {str(error)[:200]}"
    else:
        reason = f"{label(spec)} cannot fit: {reason}"
    return fit_forecast(BASELINE, ds, y, future, ctx), reason


def _backtest_all(task: SeriesTask, ds: pd.DatetimeIndex, y: np.ndarray, skipped: dict[str, str]) -> dict:
    """Backtest every eligible candidate, the baseline and the champion on the same folds; pick the best."""
    ctx, options = task.context, task.options
    backtest_ctx = dataclasses.replace(ctx, uncertainty_samples=options.backtest_uncertainty_samples)
    m = ctx.season_length
    cutoffs = backtest_cutoffs(
        len(y), options.bt_horizon, options.folds, options.bt_step, min_train=max(2 * m + 2, 3)
    )
    entries: list[tuple[str, dict]] = [("baseline", BASELINE)]
    entries += [("candidate", c) for c in options.candidates if c != BASELINE]
    champion_spec = (task.champion or {}).get("spec")
    if champion_spec is not None and champion_spec not in [c for _, c in entries]:
        entries.append(("champion", champion_spec))
    if not cutoffs:
        reason = (
            f"too short to backtest: {int((~np.isnan(y)).sum())} values, a fold needs {max(2 * m + 2, 3)} to train "
            f"and {options.bt_horizon} to test; the seasonal naive is used"
        )
        return {
            "frame": pd.DataFrame(columns=list(BACKTEST_COLUMNS)),
            "best": {"spec": BASELINE, "score": None, "metrics": {"folds": 0}},
            "baseline_score": None,
            "champion_score": None,
            "reason": reason,
            "folds": {},
        }
    results: dict[str, dict] = {}
    rows: list[dict] = []
    last = [len(cutoffs) - 1]
    earlier = list(range(len(cutoffs) - 2, -1, -1))  # newest first: each fold warm-starts the next one
    runs: dict[str, dict] = {}
    for role, candidate in entries:
        name = label(candidate)
        if name in results or name in runs:
            continue
        if candidate["name"] in GLOBAL_MODELS:
            folds, reason = _panel_folds(task.panel, candidate, ds, y, cutoffs, options.bt_horizon, m)
            if reason:
                skipped[name] = reason
            else:
                results[name] = {"role": role, "spec": candidate, "folds": folds, "state": None}
            continue
        if reason := ineligible(candidate, y, ctx):
            skipped[name] = reason
            continue
        run = {"role": role, "spec": candidate, "folds": {}, "state": None, "newest": None, "seconds": 0.0}
        if reason := _run_folds(run, last, cutoffs, ds, y, backtest_ctx, options):
            skipped[name] = reason
            continue
        runs[name] = run
    if earlier:
        runs = {name: runs[name] for name in _halved(runs, options, skipped)}
    for name, run in runs.items():
        if reason := _run_folds(run, earlier, cutoffs, ds, y, backtest_ctx, options):
            skipped[name] = reason
            continue
        folds = [run["folds"][i] for i in sorted(run["folds"])]
        results[name] = {"role": run["role"], "spec": run["spec"], "folds": folds, "state": run["newest"]}
    results = {label(c): results[label(c)] for _, c in entries if label(c) in results}  # the config's order
    ranked = [n for n, r in results.items() if r["role"] in ("baseline", "candidate")]
    if options.ensemble_top >= 2:
        # a global member could not be refitted per series, so ensembles are of per-series models
        finite = [
            n
            for n in ranked
            if np.isfinite(_score(results[n], options.metric))
            and results[n]["spec"]["name"] not in GLOBAL_MODELS
        ]
        top = sorted(finite, key=lambda n: (_score(results[n], options.metric), ranked.index(n)))[
            : options.ensemble_top
        ]
        if len(top) >= 2:
            members = [results[n]["spec"] for n in top]
            intervals = backtest_ctx.uncertainty_samples > 0 or not any(_sampled(c) for c in members)
            folds = []
            for i, cutoff in enumerate(cutoffs):
                bands = {
                    c: np.mean([results[n]["folds"][i][1][c] for n in top], axis=0) for c in BAND_COLUMNS
                }
                test_end = cutoff + options.bt_horizon
                metrics = fold_metrics(y[cutoff:test_end], bands, y[:cutoff], m, intervals=intervals)
                folds.append((cutoff, bands, metrics))
            ensemble = {"name": "ensemble", "params": {"members": members}}
            results[label(ensemble)] = {"role": "ensemble", "spec": ensemble, "folds": folds}
            ranked.append(label(ensemble))
    scores = {n: _score(r, options.metric) for n, r in results.items()}
    order = {n: i for i, n in enumerate(ranked)}
    best_name = min(ranked, key=lambda n: (scores[n] if np.isfinite(scores[n]) else np.inf, order[n]))
    for name, result in results.items():
        for fold, (cutoff, _, metrics) in enumerate(result["folds"], start=1):
            rows.append(
                {
                    "candidate": name,
                    "model": result["spec"]["name"],
                    "role": result["role"],
                    "fold": fold,
                    "cutoff": ds[cutoff - 1].date(),
                    "n_train": int((~np.isnan(y[:cutoff])).sum()),
                    **metrics,
                    "selected": name == best_name,
                }
            )
    champion_name = label(champion_spec) if champion_spec is not None else None
    best = results[best_name]
    summary = _summary(best["folds"], options.metric)
    return {
        "frame": pd.DataFrame(rows, columns=list(BACKTEST_COLUMNS)),
        "best": {
            "spec": best["spec"],
            "score": _finite(scores[best_name]),
            "metrics": summary,
            "state": best.get("state"),
        },
        "baseline_score": _finite(scores.get(label(BASELINE))),
        "champion_score": _finite(scores.get(champion_name)) if champion_name in scores else None,
        "reason": None,
        "folds": {name: result["folds"] for name, result in results.items()},
    }


def _run_folds(
    run: dict,
    indices: list[int],
    cutoffs: list[int],
    ds: pd.DatetimeIndex,
    y: np.ndarray,
    ctx: SeriesContext,
    options: ForecastOptions,
) -> str | None:
    """Backtest `run`'s candidate on the folds `indices` (in that order), adding them to `run["folds"]`; the
    reason it was abandoned or failed, or None.

    Each Prophet fold starts from the fold fitted before it (`run["state"]`, the newest fold's after the first
    round): neighbouring folds share most of their history, so the optimiser starts near the answer instead of
    from Prophet's default guess. The time limit covers the candidate's whole backtest across both rounds; the
    baseline is never abandoned: it is what everything else falls back to, and it takes no time.
    """
    candidate, m = run["spec"], ctx.season_length
    limit = (
        None if run["role"] == "baseline" or not options.time_limit_seconds else options.time_limit_seconds
    )
    intervals = ctx.uncertainty_samples > 0 or not _sampled(candidate)
    started = time.perf_counter()
    try:
        with time_limit(None if limit is None else max(limit - run["seconds"], 1e-3)):
            for index in indices:
                cutoff = cutoffs[index]
                test_end = cutoff + options.bt_horizon
                fitted = fit_forecast(
                    candidate, ds[:cutoff], y[:cutoff], ds[cutoff:test_end], ctx, state=run["state"]
                )
                if not is_finite_bands(fitted.bands):
                    raise ValueError("non-finite forecast")
                metrics = fold_metrics(y[cutoff:test_end], fitted.bands, y[:cutoff], m, intervals=intervals)
                run["folds"][index] = (cutoff, fitted.bands, metrics)
                run["state"] = fitted.state
                if index == len(cutoffs) - 1:
                    run["newest"] = fitted.state  # the final fit's start, should this candidate win
    except TimeLimitExceeded as error:
        return f"abandoned in the backtest: {error}"
    except Exception as error:  # noqa: BLE001 - a candidate that fails is skipped, flagged
        return f"failed in the backtest: {type(error).__name__}: {str(error)[:200]}"
    finally:
        run["seconds"] += time.perf_counter() - started
    return None


def _sampled(candidate: dict) -> bool:
    """Whether the candidate's intervals come from Prophet's samples (absent when a backtest draws none)."""
    if candidate["name"] == "ensemble":
        return any(_sampled(member) for member in candidate["params"]["members"])
    return candidate["name"] == "prophet"


def _halved(runs: dict[str, dict], options: ForecastOptions, skipped: dict[str, str]) -> list[str]:
    """Which candidates go on to the earlier folds after every one was scored on the newest (successive halving).

    The rule: a candidate whose score on the newest fold is more than `options.halving_margin` (a share) above
    the best score there is dropped, its reason recorded in `skipped`. Always kept: the baseline (the fallback,
    and free), the champion (promotion compares it on the same folds), a candidate without a finite score (it
    cannot be judged), and the best `ensemble_top` candidates other than the baseline, at least one (an ensemble
    needs its members' folds, and the baseline never wins by pruning its only challengers). A margin of None runs
    every candidate on every fold. The newest fold is the closest to what the forecast will face, and a
    candidate that far behind there rarely makes up the gap on the older ones, while each fold a Prophet
    candidate skips saves one fit, the bulk of a retrain night's time.
    """
    if options.halving_margin is None:
        return list(runs)
    newest = {n: r["folds"][max(r["folds"])][2][options.metric] for n, r in runs.items()}
    contenders = [n for n in runs if runs[n]["role"] in ("baseline", "candidate") and np.isfinite(newest[n])]
    if not contenders:
        return list(runs)
    best = min(newest[n] for n in contenders)
    challengers = sorted((n for n in contenders if runs[n]["role"] == "candidate"), key=lambda n: newest[n])
    keep_top = set(challengers[: max(options.ensemble_top, 1)])
    bar = best * (1 + options.halving_margin)
    kept = []
    for name, run in runs.items():
        if (
            run["role"] != "candidate"
            or not np.isfinite(newest[name])
            or name in keep_top
            or newest[name] <= bar
        ):
            kept.append(name)
        else:
            skipped[name] = (
                f"dropped after the newest fold: {options.metric} {newest[name]:.4g} is more than "
                f"{options.halving_margin:.0%} above the best's {best:.4g}"
            )
    return kept


def _panel_folds(
    panel: dict | None,
    candidate: dict,
    ds: pd.DatetimeIndex,
    y: np.ndarray,
    cutoffs: list[int],
    horizon: int,
    m: int,
) -> tuple[list, str | None]:
    """A global candidate's backtest folds for this series from the fits across all series: (folds, None), or
    ([], why not) when a fold has no forecast (the series was too short at that cutoff, or the fit failed)."""
    made = (panel or {}).get(label(candidate))
    if made is None:
        return [], "no global forecast was made"
    if made["reason"]:
        return [], made["reason"]
    folds = []
    for cutoff in cutoffs:
        bands = made["folds"].get(ds[cutoff - 1])
        if bands is None:
            return [], f"too short for the global model at the fold ending {ds[cutoff - 1].date()}"
        test_end = cutoff + horizon
        folds.append((cutoff, bands, fold_metrics(y[cutoff:test_end], bands, y[:cutoff], m)))
    return folds, None


def _score(result: dict, metric: str) -> float:
    values = [f[2][metric] for f in result["folds"] if np.isfinite(f[2][metric])]
    return float(np.mean(values)) if values else float("nan")


def _summary(folds: list, metric: str) -> dict:
    summary = {"metric": metric, "folds": len(folds)}
    for name in METRICS:
        values = [f[2][name] for f in folds if np.isfinite(f[2][name])]
        summary[name] = round(float(np.mean(values)), 10) if values else None
    summary["score"] = summary[metric]
    return summary


def _finite(value: float | None) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def _component_frame(parts: pd.DataFrame | None, future: pd.DatetimeIndex) -> pd.DataFrame:
    if parts is None or parts.empty:
        return pd.DataFrame(columns=list(COMPONENT_COLUMNS))
    if "step" in parts:
        parts = parts.assign(ds=future[parts["step"].to_numpy()]).drop(columns="step")
    return parts.loc[:, list(COMPONENT_COLUMNS)].reset_index(drop=True)


def run_all(
    tasks: list[SeriesTask],
    *,
    max_workers: int | None = None,
    map_series: Callable[[list[SeriesTask]], list[SeriesResult]] | None = None,
) -> list[SeriesResult]:
    """`run_series` over many series, in worker processes when there are more than a handful.

    The global candidates are fitted first, across all series (`with_panel_forecasts`); then each series is
    independent, so the results do not depend on how the work is split; they come back in the tasks' order.

    Args:
        max_workers: worker processes, for the global fits and (without `map_series`) the series.
        map_series: runs `run_series` over the tasks elsewhere and returns the results in the tasks' order (the
            Spark engine's executors, `daybreak.nights.spark_models.map_series`); None: here, in worker processes.
    """
    if not tasks:
        return []
    tasks = with_panel_forecasts(tasks, max_workers=max_workers)
    if map_series is not None:
        return map_series(tasks)
    workers = min(max_workers or os.cpu_count() or 1, len(tasks))
    if len(tasks) <= SEQUENTIAL_MAX_SERIES or workers < 2:
        return [run_series(task) for task in tasks]
    _warm_up()  # forked workers inherit the imports instead of each paying
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, initializer=_warm_up) as pool:
        return list(pool.map(run_series, tasks, chunksize=1))


def with_panel_forecasts(tasks: list[SeriesTask], *, max_workers: int | None = None) -> list[SeriesTask]:
    """The tasks with their global candidates' forecasts (`SeriesTask.panel`), fitted across all series.

    Series that share an origin, a context and the backtest's shape share the fits: for every global spec a
    series backtests (a candidate on a retrain night) or scores with (its champion), one fit per backtest fold
    on every eligible series' history up to the fold's cutoff (the same cutoffs `backtest_cutoffs` gives each
    series: they count back from the common origin), and one on the full histories. The fits are independent
    and single-threaded, so they run side by side in up to `max_workers` processes. Each series then scores
    its share like any other candidate's, in its own selection and promotion gate. A fit that fails leaves its
    series a reason instead, never a failed night.
    """
    wanted: dict[int, list[dict]] = {}
    for index, task in enumerate(tasks):
        specs = [c for c in task.options.candidates if c["name"] in GLOBAL_MODELS] if task.retrain else []
        champion = (task.champion or {}).get("spec")
        if champion is not None and champion["name"] in GLOBAL_MODELS and champion not in specs:
            specs.append(champion)
        if specs:
            wanted[index] = specs
    if not wanted:
        return tasks
    groups: dict[tuple, list[int]] = {}
    for index, task in enumerate(tasks):
        o = task.options
        key = (pd.Timestamp(task.origin), task.context, o.horizon, o.bt_horizon, o.bt_step, o.folds)
        groups.setdefault(key, []).append(index)
    entries: dict[tuple[int, str], dict] = {}
    fits: list[tuple[str, pd.Timestamp | None, dict, tuple]] = []
    for members in groups.values():
        if any(i in wanted for i in members):
            _plan_group(tasks, members, wanted, entries, fits)
    workers = min(max_workers or os.cpu_count() or 1, len(fits))
    jobs = [job for _, _, _, job in fits]
    if workers < 2:
        outcomes = [_panel_fit(job) for job in jobs]
    else:
        with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
            outcomes = list(pool.map(_panel_fit, jobs))
    for (name, end, part, _), (bands, failure) in zip(fits, outcomes, strict=True):
        for i in part:
            entry = entries[(i, name)]
            if failure is not None:
                entry["reason"] = failure
            elif end is None:
                entry.update(final=bands[tasks[i].series_id], reason=None)
            else:
                entry["folds"][end] = bands[tasks[i].series_id]
    panels: dict[int, dict] = {}
    for (i, name), entry in entries.items():
        panels.setdefault(i, {})[name] = entry
    return [dataclasses.replace(t, panel=panels[i]) if i in panels else t for i, t in enumerate(tasks)]


def _plan_group(
    tasks: list[SeriesTask],
    members: list[int],
    wanted: dict[int, list[dict]],
    entries: dict[tuple[int, str], dict],
    fits: list,
) -> None:
    """The global fits of one group of series sharing an origin and a context (see `with_panel_forecasts`):
    adds each series' empty entry per spec to `entries`, and each fit, `(label, fold end or None for the final
    fit, the series in it, the job for _panel_fit)`, to `fits`."""
    first = tasks[members[0]]
    ctx, options = first.context, first.options
    origin = pd.Timestamp(first.origin)
    histories = {i: regular_history(tasks[i].ds, tasks[i].y, origin, ctx.freq) for i in members}
    usable = [i for i in members if degenerate(histories[i][1]) is None]
    specs: list[dict] = []
    for i in members:
        specs.extend(s for s in wanted.get(i, []) if s not in specs)
    retrained = any(tasks[i].retrain and i in wanted for i in members)
    m = ctx.season_length
    offsets = [options.bt_horizon + options.bt_step * (options.folds - 1 - k) for k in range(options.folds)]
    for spec in specs:
        name = label(spec)
        reasons = {i: global_model.ineligible(spec, histories[i][1], ctx, options.horizon) for i in usable}
        for i in members:
            reason = reasons.get(i, "no known non-zero value")
            entries[(i, name)] = {"folds": {}, "final": None, "reason": reason}
        planned = [(None, options.horizon, {i: histories[i] for i in usable if reasons[i] is None})]
        if retrained:
            for offset in offsets:
                part = {}
                for i in usable:
                    ds, y = histories[i]
                    cutoff = len(y) - offset
                    if cutoff >= max(2 * m + 2, 3) and not global_model.ineligible(
                        spec, y[:cutoff], ctx, options.bt_horizon, options.horizon
                    ):
                        part[i] = (ds[:cutoff], y[:cutoff])
                if part:
                    planned.append((next(iter(part.values()))[0][-1], options.bt_horizon, part))
        for end, horizon, part in planned:
            if part:
                keyed = {tasks[i].series_id: value for i, value in part.items()}
                fits.append((name, end, part, (spec, keyed, horizon, ctx, options.horizon)))


def _panel_fit(job: tuple) -> tuple[dict | None, str | None]:
    """One global fit: (bands per series, None), or (None, why it failed) - a failure never fails the night."""
    spec, keyed, horizon, ctx, reach = job
    try:
        return global_model.fit_predict_panel(spec, keyed, horizon, ctx, reach), None
    except Exception as error:  # noqa: BLE001 - a failed global fit leaves reasons, not a failed night
        return None, f"the global fit failed: {type(error).__name__}: {str(error)[:200]}"


def _warm_up() -> None:
    """Import Prophet and statsforecast once per process rather than per series.

    Importing cmdstanpy here also makes forked workers share the parent's temporary folder for Stan's files,
    which the parent removes when it exits; workers end without running exit handlers and would leave theirs.
    """
    import cmdstanpy  # noqa: F401
    import prophet  # noqa: F401
    import statsforecast.models  # noqa: F401


def forecast_frame(
    frame: pd.DataFrame,
    *,
    freq: str,
    options: ForecastOptions,
    context: SeriesContext | None = None,
    max_workers: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Select and forecast every series of a long frame (`series_id, ds, y`), each from its own last period.

    The ad-hoc path (`daybreak forecast --input`): every series is trained afresh, nothing is registered.

    Returns:
        (forecasts: `series_id` + FORECAST_COLUMNS, selections: one row per series).
    """
    context = context or SeriesContext(freq=freq)
    tasks = []
    for series_id, group in frame.groupby("series_id", sort=True):
        origin = pd.Timestamp(group["ds"].max())
        ctx = dataclasses.replace(context, freq=grid_frequency(freq, origin))
        tasks.append(
            SeriesTask(
                series_id=str(series_id),
                ds=group["ds"].to_numpy(),
                y=group["y"].to_numpy(dtype=float),
                origin=origin,
                context=ctx,
                options=options,
                components=False,
            )
        )
    results = run_all(tasks, max_workers=max_workers)
    forecasts = pd.concat(
        [r.forecast.assign(series_id=r.series_id) for r in results]
        or [pd.DataFrame(columns=list(FORECAST_COLUMNS))],
        ignore_index=True,
    )
    selections = pd.DataFrame([{"series_id": r.series_id, **r.selection} for r in results])
    return forecasts.loc[:, ["series_id", *FORECAST_COLUMNS]], selections


def naive_baseline(y: np.ndarray, horizon: int, season_length: int) -> np.ndarray:
    """The seasonal naive point forecast (what forecast value added is measured against)."""
    return seasonal_naive(y, horizon, season_length)["yhat"]
