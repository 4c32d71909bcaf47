"""A retrain night's backtest of one series: every candidate, the baseline and the champion on the same folds,
the best of them (or of the combination of the top ones) the challenger.

The backtest makes as few fits as it can without changing what is measured: every candidate runs on the newest
fold first and one far behind there is dropped before the older folds (`halving`), models with sampled intervals
draw none (the metric needs the point), and each fold starts from the previous fold's fitted parameters, the
winner's final fit from its newest fold's. A global candidate's folds were fitted across all series already
(`panel`): they are looked up and scored like the others. Ties go to the candidates' order in the config.
"""

from __future__ import annotations

import dataclasses
import time
from typing import NamedTuple

import numpy as np
import pandas as pd

from daybreak.models.forecasting import registry
from daybreak.models.forecasting.bands import is_finite_bands
from daybreak.models.forecasting.context import SeriesContext
from daybreak.models.forecasting.fitting import fit_forecast, ineligible, sampled
from daybreak.models.forecasting.halving import halved
from daybreak.models.forecasting.metrics import (
    backtest_cutoffs,
    finite,
    fold_metrics,
    mean_score,
    min_train,
    summary,
)
from daybreak.models.forecasting.options import ForecastOptions
from daybreak.models.forecasting.spec import CandidateSpec
from daybreak.models.forecasting.tasks import BACKTEST_COLUMNS, FOLD_COLUMNS, PanelForecast, SeriesTask
from daybreak.models.forecasting.time_limit import TimeLimitExceeded, time_limit


class Fold(NamedTuple):
    """One backtest fold of a candidate: its training length, its bands over the test periods, its metrics."""

    cutoff: int
    bands: dict
    metrics: dict


@dataclasses.dataclass
class Run:
    """One candidate's backtest, fold by fold.

    Args:
        role: `baseline`, `candidate`, `champion` or `ensemble`.
        folds: fold index -> its fold.
        state: the last fold's fitted state, the next fold's warm start.
        newest: the newest fold's fitted state, the final fit's warm start should this candidate win.
        seconds: the time spent on it so far (its time limit covers its whole backtest).
    """

    role: str
    spec: CandidateSpec
    folds: dict[int, Fold] = dataclasses.field(default_factory=dict)
    state: dict | None = None
    newest: dict | None = None
    seconds: float = 0.0

    @property
    def ordered(self) -> list[Fold]:
        return [self.folds[i] for i in sorted(self.folds)]


@dataclasses.dataclass
class Outcome:
    """What the backtest found: its rows, the winner (spec, score, metrics, warm start), the baseline's and the
    champion's scores, why there was none (too short), and every candidate's folds by label."""

    frame: pd.DataFrame
    best: CandidateSpec
    score: float | None
    metrics: dict
    state: dict | None
    baseline_score: float | None
    champion_score: float | None
    reason: str | None
    folds: dict[str, list[Fold]]


def backtest(task: SeriesTask, ds: pd.DatetimeIndex, y: np.ndarray, skipped: dict[str, str]) -> Outcome:
    """Backtest every eligible candidate, the baseline and the champion on the same folds; pick the best.

    Candidates left out (ineligible, failed, over the time limit, dropped by halving) get their reason in
    `skipped`, by label.
    """
    ctx, options = task.context, task.options
    backtest_ctx = dataclasses.replace(ctx, uncertainty_samples=options.backtest_uncertainty_samples)
    m = ctx.season_length
    cutoffs = backtest_cutoffs(len(y), options.bt_horizon, options.folds, options.bt_step, min_train(m))
    baseline = registry.BASELINE
    entries: list[tuple[str, CandidateSpec]] = [("baseline", baseline)]
    entries += [("candidate", c) for c in options.candidates if c != baseline]
    champion = task.champion.spec if task.champion is not None else None
    if champion is not None and champion not in [c for _, c in entries]:
        entries.append(("champion", champion))
    if not cutoffs:
        reason = (
            f"too short to backtest: {int((~np.isnan(y)).sum())} values, a fold needs {min_train(m)} to train "
            f"and {options.bt_horizon} to test; the seasonal naive is used"
        )
        empty = pd.DataFrame(columns=list(BACKTEST_COLUMNS))
        return Outcome(empty, baseline, None, {"folds": 0}, None, None, None, reason, {})
    results: dict[str, Run] = {}
    last = [len(cutoffs) - 1]
    earlier = list(range(len(cutoffs) - 2, -1, -1))  # newest first: each fold warm-starts the next one
    runs: dict[str, Run] = {}
    for role, candidate in entries:
        name = candidate.label
        if name in results or name in runs:
            continue
        if registry.across_series(candidate):
            folds, reason = _panel_folds(task.panel, candidate, ds, y, cutoffs, options.bt_horizon, m)
            if reason:
                skipped[name] = reason
            else:
                results[name] = Run(role, candidate, dict(enumerate(folds)))
            continue
        if reason := ineligible(candidate, y, ctx):
            skipped[name] = reason
            continue
        run = Run(role, candidate)
        if reason := _run_folds(run, last, cutoffs, ds, y, backtest_ctx, options):
            skipped[name] = reason
            continue
        runs[name] = run
    if earlier:
        runs = {name: runs[name] for name in halved(runs, options, skipped)}
    for name, run in runs.items():
        if reason := _run_folds(run, earlier, cutoffs, ds, y, backtest_ctx, options):
            skipped[name] = reason
            continue
        results[name] = run
    results = {c.label: results[c.label] for _, c in entries if c.label in results}  # the config's order
    ranked = [n for n, r in results.items() if r.role in ("baseline", "candidate")]
    if options.ensemble_top >= 2:
        _add_ensemble(results, ranked, cutoffs, y, backtest_ctx, options)
    scores = {n: mean_score(r.ordered, options.metric) for n, r in results.items()}
    order = {n: i for i, n in enumerate(ranked)}
    best_name = min(ranked, key=lambda n: (scores[n] if np.isfinite(scores[n]) else np.inf, order[n]))
    rows = []
    for name, result in results.items():
        for fold, (cutoff, _, metrics) in enumerate(result.ordered, start=1):
            rows.append(
                {
                    "candidate": name,
                    "model": result.spec.name,
                    "role": result.role,
                    "fold": fold,
                    "cutoff": ds[cutoff - 1].date(),
                    "n_train": int((~np.isnan(y[:cutoff])).sum()),
                    **metrics,
                    "selected": name == best_name,
                }
            )
    champion_name = champion.label if champion is not None else None
    best = results[best_name]
    return Outcome(
        frame=pd.DataFrame(rows, columns=list(BACKTEST_COLUMNS)),
        best=best.spec,
        score=finite(scores[best_name]),
        metrics=summary(best.ordered, options.metric),
        state=best.newest,
        baseline_score=finite(scores.get(baseline.label)),
        champion_score=finite(scores.get(champion_name)) if champion_name in scores else None,
        reason=None,
        folds={name: result.ordered for name, result in results.items()},
    )


def _add_ensemble(
    results: dict[str, Run],
    ranked: list[str],
    cutoffs: list[int],
    y: np.ndarray,
    ctx: SeriesContext,
    options: ForecastOptions,
) -> None:
    """Add the combination of the best `ensemble_top` candidates to `results` and `ranked`, when there are two.

    Global candidates are left out: a global member could not be refitted per series.
    """
    finite_scores = [
        n
        for n in ranked
        if np.isfinite(mean_score(results[n].ordered, options.metric))
        and not registry.across_series(results[n].spec)
    ]
    top = sorted(
        finite_scores, key=lambda n: (mean_score(results[n].ordered, options.metric), ranked.index(n))
    )[: options.ensemble_top]
    if len(top) < 2:
        return
    members = [results[n].spec for n in top]
    intervals = ctx.uncertainty_samples > 0 or not any(sampled(c) for c in members)
    folds = {}
    for i, cutoff in enumerate(cutoffs):
        bands = registry.ENSEMBLE.combine([results[n].folds[i].bands for n in top])
        test_end = cutoff + options.bt_horizon
        metrics = fold_metrics(y[cutoff:test_end], bands, y[:cutoff], ctx.season_length, intervals=intervals)
        folds[i] = Fold(cutoff, bands, metrics)
    ensemble = registry.ENSEMBLE.spec_of(members)
    results[ensemble.label] = Run("ensemble", ensemble, folds)  # its role in `backtest_metrics.role`
    ranked.append(ensemble.label)


def _run_folds(
    run: Run,
    indices: list[int],
    cutoffs: list[int],
    ds: pd.DatetimeIndex,
    y: np.ndarray,
    ctx: SeriesContext,
    options: ForecastOptions,
) -> str | None:
    """Backtest `run`'s candidate on the folds `indices` (in that order), adding them to `run.folds`; the reason
    it was abandoned or failed, or None.

    Each fold starts from the fold fitted before it (`run.state`, the newest fold's after the first round):
    neighbouring folds share most of their history, so the optimiser starts near the answer instead of from the
    model's default guess. The time limit covers the candidate's whole backtest across both rounds; the baseline
    is never abandoned: it is what everything else falls back to, and it takes no time.
    """
    candidate, m = run.spec, ctx.season_length
    limit = None if run.role == "baseline" or not options.time_limit_seconds else options.time_limit_seconds
    intervals = ctx.uncertainty_samples > 0 or not sampled(candidate)
    started = time.perf_counter()
    try:
        with time_limit(None if limit is None else max(limit - run.seconds, 1e-3)):
            for index in indices:
                cutoff = cutoffs[index]
                test_end = cutoff + options.bt_horizon
                fitted = fit_forecast(
                    candidate, ds[:cutoff], y[:cutoff], ds[cutoff:test_end], ctx, state=run.state
                )
                if not is_finite_bands(fitted.bands):
                    raise ValueError("non-finite forecast")
                metrics = fold_metrics(y[cutoff:test_end], fitted.bands, y[:cutoff], m, intervals=intervals)
                run.folds[index] = Fold(cutoff, fitted.bands, metrics)
                run.state = fitted.state
                if index == len(cutoffs) - 1:
                    run.newest = fitted.state  # the final fit's start, should this candidate win
    except TimeLimitExceeded as error:
        return f"abandoned in the backtest: {error}"
    except Exception as error:  # noqa: BLE001 - a candidate that fails is skipped, flagged
        return f"failed in the backtest: {type(error).__name__}: {str(error)[:200]}"
    finally:
        run.seconds += time.perf_counter() - started
    return None


def _panel_folds(
    panel: dict[str, PanelForecast] | None,
    candidate: CandidateSpec,
    ds: pd.DatetimeIndex,
    y: np.ndarray,
    cutoffs: list[int],
    horizon: int,
    m: int,
) -> tuple[list[Fold], str | None]:
    """A global candidate's backtest folds for this series from the fits across all series: (folds, None), or
    ([], why not) when a fold has no forecast (the series was too short at that cutoff, or the fit failed)."""
    made = (panel or {}).get(candidate.label)
    if made is None:
        return [], "no global forecast was made"
    if made.reason:
        return [], made.reason
    folds = []
    for cutoff in cutoffs:
        bands = made.folds.get(ds[cutoff - 1])
        if bands is None:
            return [], f"too short for the global model at the fold ending {ds[cutoff - 1].date()}"
        test_end = cutoff + horizon
        folds.append(Fold(cutoff, bands, fold_metrics(y[cutoff:test_end], bands, y[:cutoff], m)))
    return folds, None


def fold_frame(folds: dict[str, list[Fold]], spec: CandidateSpec, best: CandidateSpec, ds, y, horizon: int):
    """The backtest predictions of the model that scores tonight (else the backtest's winner) as FOLD_COLUMNS."""
    chosen = folds.get(spec.label, folds.get(best.label, []))
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
