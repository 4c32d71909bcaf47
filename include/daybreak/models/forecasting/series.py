"""One series' night: its history and its champion in, its forecast, components, backtest and selection out.

`run_series` is the unit of work: a pure, top-level function of one picklable task, so it runs in a loop, in
worker processes (`pool.run_all`), or on Spark executors (`daybreak.nights.spark_models`), one series at a time,
with the same result.

On a retrain night a series gets a rolling-origin backtest of every candidate (`backtest`), and the best becomes
the challenger; `daybreak.models.promotion.decide_promotion` says whether it replaces the champion. On other
nights (`ForecastOptions.normal_night`) a champion with a stored fit forecasts from it (no fitting, so a normal
night costs a fraction of a fit); with `refit`, or without a stored fit, the champion's concrete model is refit on
the new data (warm-started from the champion's fitted parameters) and scores.

Nothing fails the night for one series: a model that cannot fit, or exceeds the time limit, is abandoned for the
next best, and in the end for the baseline, with the reason recorded. Every fit is seeded, and nothing reads the
clock except the time limit, which only matters when it fires.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd

from daybreak.models.forecasting import registry
from daybreak.models.forecasting.backtest import Outcome, backtest, fold_frame
from daybreak.models.forecasting.bands import is_finite_bands, nested_bands
from daybreak.models.forecasting.context import SeriesContext, future_dates, regular_history
from daybreak.models.forecasting.family import Fitted
from daybreak.models.forecasting.fitting import fit_forecast, forecast_stored, ineligible
from daybreak.models.forecasting.options import ForecastOptions
from daybreak.models.forecasting.spec import CandidateSpec
from daybreak.models.forecasting.tasks import (
    BACKTEST_COLUMNS,
    COMPONENT_COLUMNS,
    FORECAST_COLUMNS,
    Challenger,
    PanelForecast,
    Selection,
    SeriesResult,
    SeriesTask,
)
from daybreak.models.forecasting.time_limit import TimeLimitExceeded, time_limit
from daybreak.models.promotion import decide_promotion


def run_series(task: SeriesTask) -> SeriesResult:
    """Train (on a retrain night) or refit the champion of one series, and forecast it.

    Pure: the same task gives the same result. See the module docstring for the rules. Whatever goes wrong for
    this series, the result is a forecast: an unexpected error gives the baseline, flagged with the error, so one
    series never fails the night.
    """
    try:
        return _run_series(task)
    except Exception as error:  # noqa: BLE001 - the last line of defence for one series
        return _fallback(task, f"error: {type(error).__name__}: {str(error)[:300]}")


def degenerate(y: np.ndarray) -> str | None:
    """Why a history gives no model anything to learn (no known value, or only zeros), or None.

    Such a series is forecast by the flagged baseline (zero for zeros) rather than silently, so an analyst sees
    that the zero is a fallback and not a prediction.
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


def _blank_selection(task: SeriesTask, n_history: int) -> Selection:
    """A series' selection before anything is decided: what every path starts from."""
    return Selection(
        retrained=task.retrain,
        n_history=n_history,
        metric=task.options.metric,
        champion_version=task.champion.version if task.champion is not None else None,
    )


def _fallback(task: SeriesTask, reason: str) -> SeriesResult:
    """The baseline for one series, flagged with `reason` (nothing is trained or registered)."""
    origin = pd.Timestamp(task.origin)
    future = future_dates(origin, task.options.horizon, task.context.freq)
    order = np.argsort(pd.to_datetime(task.ds).to_numpy()) if len(task.ds) else np.array([], dtype=int)
    values = np.asarray(task.y, dtype=float)[order] if len(order) else np.array([], dtype=float)
    fitted = fit_forecast(registry.BASELINE, pd.DatetimeIndex([]), values, future, task.context)
    forecast = _forecast_frame(nested_bands(fitted.bands), future, registry.BASELINE.name)
    selection = _blank_selection(task, int(np.isfinite(values).sum()))
    selection.scoring_model = registry.BASELINE.name
    selection.scoring_role = "fallback"
    selection.fallback_reason = reason
    return SeriesResult(
        series_id=task.series_id,
        forecast=forecast,
        components=pd.DataFrame(columns=list(COMPONENT_COLUMNS)),
        backtest=pd.DataFrame(columns=list(BACKTEST_COLUMNS)),
        selection=selection,
    )


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
    backtest_rows = pd.DataFrame(columns=list(BACKTEST_COLUMNS))
    selection = _blank_selection(task, int(len(known)))
    challenger: Challenger | None = None
    scoring_role = "champion"
    scoring_fit: dict | None = None
    outcome = None

    if task.retrain:
        outcome = backtest(task, ds, y, skipped)
        backtest_rows = outcome.frame
        selection.challenger = outcome.best.label
        selection.challenger_model = outcome.best.name
        selection.challenger_score = outcome.score
        selection.baseline_score = outcome.baseline_score
        selection.champion_score = outcome.champion_score
        if outcome.reason:
            selection.fallback_reason = outcome.reason
        challenger = Challenger(spec=outcome.best, metrics=outcome.metrics)
        promote, reason = _decision(task, outcome, options)
        if promote or task.champion is None:
            # the winner's fit on the newest fold is the final fit's start (the histories differ by one fold)
            scoring_spec, scoring_state, scoring_role = outcome.best, outcome.state, "challenger"
        else:
            scoring_spec, scoring_state = task.champion.spec, task.champion.state
        selection.decision, selection.decision_reason = ("promote" if promote else "reject"), reason
    else:
        if task.champion is None:
            raise ValueError(f"series {task.series_id!r}: no champion to refit and retrain is off")
        scoring_spec, scoring_state = task.champion.spec, task.champion.state
        if options.normal_night == "score":
            scoring_fit = task.champion.fit

    fitted, fallback = _final_fit(
        scoring_spec, ds, y, future, ctx, scoring_state, options, task.components, task.panel, scoring_fit
    )
    if fallback and scoring_role == "challenger" and task.decision == "decide" and task.champion is not None:
        # the winner could not be fitted on the full history: it is rejected and the champion scores. What the
        # selection says is then what a rerun, which repeats the recorded rejection, says: the challenger's
        # failure is the decision's reason, the fallback reason only the champion's own, and the challenger is
        # registered as what was backtested, not as the fallback that stood in for it
        selection.decision, selection.decision_reason = "reject", f"challenger's final fit failed: {fallback}"
        scoring_spec, scoring_state, scoring_role = task.champion.spec, task.champion.state, "champion"
        fitted, fallback = _final_fit(
            scoring_spec, ds, y, future, ctx, scoring_state, options, task.components, task.panel
        )
    if fallback:
        selection.fallback_reason = "; ".join(r for r in (selection.fallback_reason, fallback) if r)
    if challenger is not None and scoring_role == "challenger":
        challenger.spec, challenger.state, challenger.fit = fitted.spec, fitted.state, fitted.fit
    elif challenger is not None and fitted.fit is not None:
        # the champion stays and was refit on tonight's history: the next normal nights score from this fit, not
        # from the one made when it was trained (nights.forecast.registry_state finds it)
        challenger.champion_fit = {"version": task.champion.version, "fit": fitted.fit}
    baseline = registry.BASELINE
    selection.scoring_model = fitted.spec.label
    selection.scoring_role = (
        "fallback" if fitted.spec == baseline and scoring_spec != baseline else scoring_role
    )
    selection.skipped = json.dumps(skipped, sort_keys=True) if skipped else None

    folds = None
    if outcome is not None:
        folds = fold_frame(outcome.folds, fitted.spec, outcome.best, ds, y, options.bt_horizon)
    if challenger is not None:
        challenger.data_start = ds[~np.isnan(y)].min().date() if len(known) else None
        challenger.data_end = origin.date()
    return SeriesResult(
        series_id=task.series_id,
        forecast=_forecast_frame(nested_bands(fitted.bands), future, fitted.spec.name),
        components=_component_frame(fitted.components, future),
        backtest=backtest_rows,
        selection=selection,
        challenger=challenger,
        scoring_state=fitted.state,
        seconds=time.perf_counter() - started,
        folds=folds,
    )


def _decision(task: SeriesTask, outcome: Outcome, options: ForecastOptions) -> tuple[bool, str | None]:
    """Promote the backtest's winner or not, and why: the promotion rule, or the decision already recorded."""
    if task.decision == "decide" and task.champion is None:
        scored = (
            f"; challenger scores {outcome.score:.6g}" if outcome.score is not None else "; not backtested"
        )
        return True, "no champion yet" + scored
    if task.decision == "decide":
        champion_score = outcome.champion_score if outcome.champion_score is not None else float("nan")
        challenger_score = outcome.score if outcome.score is not None else float("nan")
        return decide_promotion(champion_score, challenger_score, options.promotion_margin)
    return task.decision == "promote", task.decision_reason


def _final_fit(
    spec: CandidateSpec,
    ds: pd.DatetimeIndex,
    y: np.ndarray,
    future: pd.DatetimeIndex,
    ctx: SeriesContext,
    state: dict | None,
    options: ForecastOptions,
    components: bool,
    panel: dict[str, PanelForecast] | None = None,
    fit: dict | None = None,
) -> tuple[Fitted, str | None]:
    """Fit the scoring model on the whole history; on failure or timeout the baseline, with the reason.

    A global candidate was fitted across all series already (`panel.with_panel_forecasts`): its forecast is
    looked up. With a stored fit (`fit`, a normal night's champion) the model forecasts from it instead of
    fitting; should that fail (the calendar's features no longer match it), it is refit as without one.
    """
    if registry.across_series(spec):
        made = (panel or {}).get(spec.label) or PanelForecast(reason="no global forecast was made")
        if made.final is not None:
            return Fitted(made.final, spec), None
        reason = f"{spec.label} cannot fit: {made.reason}"
        return fit_forecast(registry.BASELINE, ds, y, future, ctx), reason
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
            reason = f"{spec.label} forecast non-finite values"
        except TimeLimitExceeded as error:
            reason = f"{spec.label} {error}"
        except Exception as error:  # noqa: BLE001 - one series' failure must not fail the night
            reason = f"{spec.label} failed: {type(error).__name__}: {str(error)[:200]}"
    else:
        reason = f"{spec.label} cannot fit: {reason}"
    return fit_forecast(registry.BASELINE, ds, y, future, ctx), reason


def _forecast_frame(bands: dict[str, np.ndarray], future: pd.DatetimeIndex, model: str) -> pd.DataFrame:
    forecast = pd.DataFrame(
        {
            "ds": future,
            "horizon_step": np.arange(1, len(future) + 1, dtype="int32"),
            **bands,
            "model": model,
        }
    )
    return forecast.loc[:, list(FORECAST_COLUMNS)]


def _component_frame(parts: pd.DataFrame | None, future: pd.DatetimeIndex) -> pd.DataFrame:
    if parts is None or parts.empty:
        return pd.DataFrame(columns=list(COMPONENT_COLUMNS))
    if "step" in parts:
        parts = parts.assign(ds=future[parts["step"].to_numpy()]).drop(columns="step")
    return parts.loc[:, list(COMPONENT_COLUMNS)].reset_index(drop=True)
