"""Coherent hierarchies: reconcile the night's per-series forecasts so every parent is the sum of its children.

Each series is forecast on its own, so the published total need not equal the sum of its locations. The series
ids define the hierarchy (`daybreak.models.hierarchy`). Reconciliation (hierarchicalforecast) maps the base
forecasts of every series in the hierarchy onto coherent ones, `S @ P @ yhat`, with one of `hierarchy.METHODS`:

- `bottom_up`: the bottom series' own forecasts, summed upwards.
- `top_down_forecast_proportions`, `top_down_average_proportions`: the top's forecast split by the children's
  forecast shares, or by their average historical shares (only for a strict tree with one top, e.g. total ->
  locations).
- `min_trace_ols`, `min_trace_wls_struct`: MinTrace with identity, or structural (number of bottom series under a
  node) weights. MinTrace with a residual covariance (`mint_shrink`) is not offered: the night has no in-sample
  residuals, and estimating it from the backtest folds that also choose the method would score it on its own
  training data. For a non-negative target a MinTrace result with a negative value is solved again with the
  non-negativity constraint (`nonnegative=True`).

What is coherent: the point forecast `yhat`, always: every parent equals the sum of its children at every step
(to rounding). The intervals are not sums, and must not be: a quantile of a sum is not the sum of the quantiles
(unless the children move in lockstep). Each series' interval is first its own base interval moved with its point
(shifted by the reconciliation's adjustment), which the series' backtest calibrated. For every method but
`top_down_forecast_proportions` hierarchicalforecast also gives the 80% and 95% intervals of a coherent Gaussian
(its `normality`: the base standard deviations read off each series' own 80/95% bounds, the reconciled
distribution `N(S P yhat, S P W_h P' S')`, computed in closed form as every W here is diagonal), and a bound is
widened to the Gaussian's where that is wider. It is never narrowed to it: the Gaussian treats the base errors as
independent, but a shop's locations move together (one weather, one promotion), so its reconciled bands were
narrower than the series' own calibrated ones, and on a stationary synthetic shop the monitoring then took
ordinary days for surprises (4 false alarms in 30 nights, against at most one with the base bands).
`top_down_forecast_proportions` has intervals in hierarchicalforecast only by bootstrapping in-sample residuals,
which the night has not: its series keep the shifted base interval. For a non-negative target lower bounds are
clipped at zero.

The method is chosen on the backtest (`backtest_scores`): each fold's base predictions are reconciled with every
method and scored with the dataset's selection metric, averaged over the folds and then over the series of the
hierarchy; the lowest wins. Series outside the hierarchy (a dataset with one total, keys without a parent, or an
id not of this form) pass through unchanged.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.stats import norm

from daybreak.models.forecasting.bands import BAND_COLUMNS
from daybreak.models.forecasting.metrics import fold_metrics
from daybreak.models.hierarchy import Hierarchy

BASE = "base"
"""The unreconciled forecasts' label in the backtest scores (for comparison; never chosen: it is incoherent)."""
LEVELS = (80, 95)


def reconcile(
    forecasts: pd.DataFrame,
    hierarchy: Hierarchy | None,
    method: str,
    *,
    history: pd.DataFrame | None = None,
    non_negative: bool = False,
) -> pd.DataFrame:
    """The forecasts with the hierarchy's series reconciled by `method` (see the module docstring).

    Args:
        forecasts: one row per series and period: `series_id, ds` and BAND_COLUMNS (other columns are kept).
        hierarchy: from `build_hierarchy`; None passes everything through.
        method: one of the hierarchy's `methods()`.
        history: `series_id, ds, y`, the actuals up to the origin (the average proportions of top-down).
        non_negative: the target cannot go below zero.

    Returns:
        `forecasts`, same rows and order, the hierarchy's rows' BAND_COLUMNS replaced by the reconciled ones.

    Raises:
        ValueError: a method that does not apply to the hierarchy, or a series of it without forecasts for
            every period.
    """
    if hierarchy is None:
        return forecasts.copy()
    if method not in hierarchy.methods():
        raise ValueError(f"method {method!r} does not apply to this hierarchy; one of {hierarchy.methods()}")
    frame = forecasts.copy()
    for column in BAND_COLUMNS:
        frame[column] = frame[column].astype("float64")
    grid = _Grid(frame, hierarchy)
    bands = {c: grid.matrix(frame[c].to_numpy(), c) for c in BAND_COLUMNS}
    base = bands["yhat"]
    sigma = np.mean(
        [(bands[f"yhat_upper_{lv}"] - bands[f"yhat_lower_{lv}"]) / (2 * _z(lv)) for lv in LEVELS], axis=0
    )
    result = _apply(method, hierarchy, base, sigma=sigma, history=history, non_negative=non_negative)
    shift = result["mean"] - base
    out = {"yhat": result["mean"]} | {c: bands[c] + shift for c in BAND_COLUMNS if c != "yhat"}
    if "quantiles" in result:  # sorted: lower 95, lower 80, upper 80, upper 95; never inside the own band
        q = result["quantiles"]
        for column, k, widest in (
            ("yhat_lower_95", 0, np.minimum),
            ("yhat_lower_80", 1, np.minimum),
            ("yhat_upper_80", 2, np.maximum),
            ("yhat_upper_95", 3, np.maximum),
        ):
            out[column] = widest(out[column], q[:, :, k])
    for column, values in out.items():
        frame[column] = grid.long(
            frame[column].to_numpy(), np.maximum(values, 0.0) if non_negative else values
        )
    return frame


class _Grid:
    """Where each row of a long frame sits in the hierarchy's series x periods matrix (rows outside: -1)."""

    def __init__(self, frame: pd.DataFrame, hierarchy: Hierarchy):
        codes = pd.Categorical(frame["series_id"].astype(str), categories=list(hierarchy.series)).codes
        self.inside = codes >= 0
        ds = pd.to_datetime(frame["ds"]).to_numpy()[self.inside]
        self.dates = np.unique(ds)
        self.rows, self.columns = codes[self.inside], np.searchsorted(self.dates, ds)
        self.shape = (len(hierarchy.series), len(self.dates))
        self.series = hierarchy.series

    def matrix(self, values: np.ndarray, name: str) -> np.ndarray:
        """The rows' `values` as series x periods; every series of the hierarchy needs every period."""
        matrix = np.full(self.shape, np.nan)
        matrix[self.rows, self.columns] = values[self.inside]
        if np.isnan(matrix).any():
            missing = [self.series[i] for i in np.flatnonzero(np.isnan(matrix).any(axis=1))]
            raise ValueError(f"series of the hierarchy without a {name} for every period: {missing[:5]}")
        return matrix

    def long(self, values: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        """`values` (one per row) with the hierarchy's rows taken from `matrix`."""
        values = values.astype("float64", copy=True)
        values[self.inside] = matrix[self.rows, self.columns]
        return values


def backtest_scores(
    folds: pd.DataFrame,
    hierarchy: Hierarchy,
    history: pd.DataFrame,
    *,
    metric: str,
    season_length: int,
    non_negative: bool = False,
) -> pd.DataFrame:
    """Every applicable method's (and the base forecasts') backtest score on the hierarchy's series.

    Each fold (a cutoff, over the periods every series backtested at it predicted) is reconciled as of its cutoff
    (the history up to it) and scored per series with the selection metric
    (`daybreak.models.forecasting.metrics.fold_metrics`, the same as the candidates' selection); a series' score is its
    mean over folds, a method's the mean over series. A series without predictions at a cutoff (too short or all
    zero to be backtested then, so a model would have forecast about nothing) counts as forecasting zero there,
    and is not scored on that fold.

    Args:
        folds: `series_id, cutoff, ds, y, yhat`: each series' backtest predictions of its scoring model.
        history: `series_id, ds, y`: the actuals (MASE's scale, top-down's historical proportions).
        metric: `mase`, `smape` or `rmse` (lower is better).
        season_length: the seasonal naive's lag in MASE's scale.

    Returns:
        one row per method, `METHODS` order then `base`: `method, score, folds, series, chosen`; empty when no
        series of the hierarchy was backtested. `chosen` marks the lowest finite score (ties: the earlier method).
    """
    folds = folds.assign(series_id=folds["series_id"].astype(str), ds=pd.to_datetime(folds["ds"]))
    folds = folds[folds["series_id"].isin(hierarchy.series)]
    history = history.assign(series_id=history["series_id"].astype(str), ds=pd.to_datetime(history["ds"]))
    history = history[history["series_id"].isin(hierarchy.series)].sort_values(["series_id", "ds"])
    histories = {
        s: (g["ds"].to_numpy(), g["y"].to_numpy(dtype=float))
        for s, g in history.groupby("series_id", sort=False)
    }
    methods = hierarchy.methods()
    per_series: dict[str, dict[str, list[float]]] = {m: {} for m in (*methods, BASE)}
    used = 0
    for cutoff, fold in folds.groupby(pd.to_datetime(folds["cutoff"]), sort=True):
        yhat = fold.pivot_table(index="series_id", columns="ds", values="yhat", aggfunc="first")
        yhat = yhat.reindex(list(hierarchy.series))
        scored = yhat.notna().any(axis=1).to_numpy()
        yhat = yhat.dropna(axis=1, subset=yhat.index[scored]).fillna(0.0)
        if yhat.shape[1] == 0:
            continue
        actual = (
            fold.pivot_table(index="series_id", columns="ds", values="y", aggfunc="first")
            .reindex(index=list(hierarchy.series), columns=yhat.columns)
            .to_numpy(dtype=float)
        )
        past = history[history["ds"] <= cutoff] if "top_down_average_proportions" in methods else None
        trains = {
            s: y[: np.searchsorted(ds, cutoff.to_datetime64(), side="right")]
            for s, (ds, y) in histories.items()
        }
        used += 1
        candidates = {BASE: yhat.to_numpy(dtype=float)}
        for method in methods:
            try:
                candidates[method] = _apply(
                    method, hierarchy, candidates[BASE], history=past, non_negative=non_negative
                )["mean"]
            except Exception:  # noqa: BLE001 - a method that cannot reconcile a fold scores NaN on it, and loses
                candidates[method] = np.full_like(candidates[BASE], np.nan)
        for method, values in candidates.items():
            for i, series_id in enumerate(hierarchy.series):
                if not scored[i]:
                    continue
                point = {"yhat": values[i]} | {
                    f"yhat_{s}_{lv}": values[i] for s in ("lower", "upper") for lv in LEVELS
                }
                score = fold_metrics(actual[i], point, trains.get(series_id, np.array([])), season_length)[
                    metric
                ]
                per_series[method].setdefault(series_id, []).append(score)
    if not used:
        return pd.DataFrame(columns=["method", "score", "folds", "series", "chosen"])
    rows = []
    for method, scores in per_series.items():
        means = [np.nanmean(v) for v in scores.values() if np.isfinite(v).any()]
        rows.append(
            {
                "method": method,
                "score": float(np.mean(means)) if means else float("nan"),
                "folds": used,
                "series": len(means),
            }
        )
    frame = pd.DataFrame(rows)
    eligible = frame[frame["method"].isin(methods) & np.isfinite(frame["score"])]
    frame["chosen"] = False
    if len(eligible):
        frame.loc[eligible["score"].idxmin(), "chosen"] = True
    return frame


def aggregate_bottom_up(
    frame: pd.DataFrame, hierarchy: Hierarchy | None, overridden: np.ndarray
) -> pd.DataFrame:
    """After overrides: parents re-summed from their children's final forecasts where a child was overridden.

    Args:
        frame: `series_id, ds` and BAND_COLUMNS, the overrides applied.
        hierarchy: from `build_hierarchy`; None returns `frame` as it is.
        overridden: per row of `frame`, whether a planner's override set it.

    Returns:
        `frame` where each parent not overridden itself equals the sum of its children on every date one of them
        was overridden, its bounds shifted by the same change as its point (so they still enclose it). An
        overridden parent stands as the planner set it; rows of other dates are untouched (already coherent).
    """
    overridden = np.asarray(overridden, dtype=bool)
    if hierarchy is None or frame.empty or not overridden.any():
        return frame
    frame = frame.copy()
    for column in BAND_COLUMNS:
        frame[column] = frame[column].astype("float64")
    series = frame["series_id"].astype(str).to_numpy()
    ds = pd.to_datetime(frame["ds"]).to_numpy()
    for parent, children in hierarchy.parents.items():
        child_rows = np.isin(series, children)
        changed = set(ds[child_rows & overridden])
        rows = (series == parent) & ~overridden & np.isin(ds, list(changed))
        if not rows.any():
            continue
        sums = frame.loc[child_rows, "yhat"].groupby(ds[child_rows]).sum()
        shift = sums.reindex(ds[rows]).to_numpy() - frame.loc[rows, "yhat"].to_numpy()
        for column in BAND_COLUMNS:
            before = frame.loc[rows, column].to_numpy()
            # like an override's own bounds, a bound that was not negative does not become negative
            frame.loc[rows, column] = np.where(before >= 0, np.maximum(before + shift, 0.0), before + shift)
    return frame


def _apply(
    method: str,
    hierarchy: Hierarchy,
    base: np.ndarray,
    *,
    sigma: np.ndarray | None = None,
    history: pd.DataFrame | None = None,
    non_negative: bool = False,
) -> dict:
    """hierarchicalforecast's reconciler for `method` on `base` (S's rows x steps): `{"mean", "quantiles"?}`.

    With `sigma` (the base standard deviations, S's rows x steps), also the LEVELS' quantiles of the reconciled
    Gaussian, as hierarchicalforecast's `normality` gives them for a diagonal W (every method here has one: the
    identity, or structural weights), whose correlation is the identity: the reconciled variance of a series is
    `((S P) ** 2) @ sigma ** 2`. It is computed here in that closed form because the library builds the full
    covariance `S P W_h P' S'` for every step, cubic in the series (14 s for 500 series and 90 steps; this: 0.1).
    """
    from hierarchicalforecast.methods import (
        BottomUpSparse,
        MinTrace,
        TopDown,
    )  # heavy: only reconciling needs it

    if method == "bottom_up":  # P = [0 | I]: S P is S with zero columns for the parents, kept sparse
        n_parents = len(hierarchy.series) - len(hierarchy.bottom)
        result = BottomUpSparse().fit_predict(S=hierarchy.S, y_hat=base)
        if sigma is not None:
            result["quantiles"] = _quantiles(result["mean"], np.sqrt(hierarchy.S @ sigma[n_parents:] ** 2))
        return result
    S, tags = hierarchy.S.toarray(), hierarchy.tags()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # hierarchicalforecast warns about NaN shares and zero variances
        if method == "top_down_forecast_proportions":
            reconciler = TopDown("forecast_proportions")
            result = reconciler.fit_predict(S=S, y_hat=base, tags=tags)
        elif method == "top_down_average_proportions":
            reconciler = TopDown("average_proportions")
            result = reconciler.fit_predict(
                S=S, y_hat=base, tags=tags, y_insample=_shares_history(hierarchy, history)
            )
        else:
            kind = method.removeprefix("min_trace_")
            reconciler = MinTrace(kind)
            result = reconciler.fit_predict(S=S, y_hat=base)
            if non_negative and (result["mean"] < -1e-9).any():
                reconciler = MinTrace(kind, nonnegative=True)
                result = reconciler.fit_predict(S=S, y_hat=base)
    if not np.isfinite(result["mean"]).all():
        raise ValueError(f"{method} gave non-finite forecasts")
    if sigma is not None and method != "top_down_forecast_proportions":
        result["quantiles"] = _quantiles(result["mean"], np.sqrt((S @ reconciler.P) ** 2 @ sigma**2))
    return result


def _quantiles(mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """The LEVELS' Gaussian bounds, rows x steps x (lower 95, lower 80, upper 80, upper 95)."""
    return np.stack(
        [mean + sign * _z(level) * sd for sign, level in ((-1, 95), (-1, 80), (1, 80), (1, 95))], axis=2
    )


def _shares_history(hierarchy: Hierarchy, history: pd.DataFrame | None) -> np.ndarray:
    """S's rows x periods of actuals for top-down's average proportions.

    A period without a positive top is left out of the shares (NaN); a child without a value in a period sold
    nothing in it (0).
    """
    if history is None or history.empty:
        raise ValueError("top_down_average_proportions needs the history")
    matrix = (
        history.assign(series_id=history["series_id"].astype(str), ds=pd.to_datetime(history["ds"]))
        .pivot_table(index="series_id", columns="ds", values="y", aggfunc="sum")
        .reindex(list(hierarchy.series))
        .to_numpy(dtype=float)
    )
    top = int(np.asarray(hierarchy.S.sum(axis=1)).ravel().argmax())
    usable = matrix[top] > 0
    if not usable.any():
        raise ValueError("top_down_average_proportions: the top series has no positive value in the history")
    matrix = np.nan_to_num(matrix[:, usable], nan=0.0)
    return matrix


def _z(level: int) -> float:
    return float(norm.ppf(0.5 + level / 200))
