"""Coherent hierarchies: reconcile the night's per-series forecasts so every parent is the sum of its children.

Each series is forecast on its own, so the published total need not equal the sum of its locations. The series
ids define the hierarchy (`total`; `location=A`; `location=A|product_id=7`): the series with the most keys are the
bottom, and a series whose keys are a strict subset of theirs (the total has none) is the parent of every bottom
series that agrees with it on those keys. Reconciliation (hierarchicalforecast) maps the base forecasts of every
series in the hierarchy onto coherent ones, `S @ P @ yhat`, with one of `METHODS`:

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
(unless the children move in lockstep). For every method but `top_down_forecast_proportions` they are the 80% and
95% intervals of a coherent Gaussian forecast distribution (hierarchicalforecast's `normality`: the base standard
deviations are read off each series' own 80/95% bounds, and the reconciled distribution is
`N(S P yhat, S P W_h P' S')`, computed in closed form as every W here is diagonal), so a draw from it adds up, the
bounds are centred on the reconciled yhat, and a parent's interval is never wider than the sum of its children's
widths. `top_down_forecast_proportions` has intervals in hierarchicalforecast only by bootstrapping in-sample
residuals, which the night has not: each series keeps its base interval shifted by its reconciliation adjustment
(centred on the coherent yhat, but not derived from a coherent distribution). For a non-negative target lower
bounds are clipped at zero.

The method is chosen on the backtest (`backtest_scores`): each fold's base predictions are reconciled with every
method and scored with the dataset's selection metric, averaged over the folds and then over the series of the
hierarchy; the lowest wins. Series outside the hierarchy (a dataset with one total, keys without a parent, or an
id not of this form) pass through unchanged.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd

TOTAL = "total"
METHODS = (
    "bottom_up",
    "top_down_forecast_proportions",
    "top_down_average_proportions",
    "min_trace_ols",
    "min_trace_wls_struct",
)
DEFAULT_METHOD = "bottom_up"
"""What a night reconciles with before any backtest has chosen (the simplest coherent method)."""
BASE = "base"
"""The unreconciled forecasts' label in the backtest scores (for comparison; never chosen: it is incoherent)."""
LEVELS = (80, 95)
BAND_COLUMNS = ("yhat", "yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95")


@dataclasses.dataclass(frozen=True)
class Hierarchy:
    """The summing structure of a set of series.

    Args:
        series: S's rows: the parents (fewest keys first, then by id), then the bottom series (by id).
        bottom: the bottom series, S's columns.
        S: the summing matrix, `len(series) x len(bottom)`, 1 where a bottom series counts towards a row's series.
        levels: level name (`total`, `location`, `location/product_id`, ...) -> its series.
    """

    series: tuple[str, ...]
    bottom: tuple[str, ...]
    S: np.ndarray
    levels: dict[str, tuple[str, ...]]

    @property
    def parents(self) -> dict[str, tuple[str, ...]]:
        """Each parent -> the bottom series it sums."""
        n_parents = len(self.series) - len(self.bottom)
        return {
            self.series[i]: tuple(b for b, one in zip(self.bottom, self.S[i], strict=True) if one)
            for i in range(n_parents)
        }

    def tags(self) -> dict[str, np.ndarray]:
        """hierarchicalforecast's tags: level -> row indices of S."""
        index = {s: i for i, s in enumerate(self.series)}
        return {level: np.array([index[s] for s in ids]) for level, ids in self.levels.items()}

    @property
    def has_single_top(self) -> bool:
        return bool(len(self.S) and self.S.sum(axis=1).max() == len(self.bottom))

    @property
    def is_strict(self) -> bool:
        """A tree with one top: every level above the bottom splits the bottom series, each into exactly one of its
        nodes (the top-down methods need it; a grouped structure, locations and products, is not one)."""
        keys = sorted((set(level.split("/")) - {TOTAL} for level in self.levels), key=len)
        nested = all(a < b for a, b in zip(keys, keys[1:], strict=False))
        return (
            self.has_single_top
            and nested
            and all((self.S[index].sum(axis=0) == 1).all() for index in self.tags().values())
        )

    def methods(self) -> tuple[str, ...]:
        """The methods that apply to this structure, in `METHODS` order (the tie-break)."""
        return tuple(m for m in METHODS if not m.startswith("top_down") or self.is_strict)


def parse_series_id(series_id: str) -> dict[str, str] | None:
    """`total` -> {}; `location=A|product_id=7` -> {"location": "A", "product_id": "7"}; anything else -> None."""
    if series_id == TOTAL:
        return {}
    parts = [part.partition("=") for part in series_id.split("|")]
    if not all(key and sep for key, sep, _ in parts):
        return None
    keys = {key: value for key, _, value in parts}
    return keys if len(keys) == len(parts) else None


def build_hierarchy(series_ids, *, complete: bool = True) -> Hierarchy | None:
    """The hierarchy the series ids define, or None when no series is the parent of another.

    Args:
        series_ids: the night's series.
        complete: whether the bottom series cover everything their parents count. False when the dataset limits
            its keyed series to some values (`series.include`, e.g. the five largest countries) while the total
            counts every sale: then no parent equals the sum of its forecast children, and nothing is reconciled.
    """
    if not complete:
        return None
    parsed = {s: k for s in sorted(set(map(str, series_ids))) if (k := parse_series_id(s)) is not None}
    if not parsed:
        return None
    width = max(len(k) for k in parsed.values())
    bottom_keys = {tuple(sorted(k)) for k in parsed.values() if len(k) == width}
    if width == 0 or len(bottom_keys) != 1:
        return None
    (key_set,) = bottom_keys
    bottom = tuple(s for s, k in parsed.items() if len(k) == width)
    parents = []
    for series_id, keys in parsed.items():
        if len(keys) < width and set(keys) < set(key_set):
            row = [all(parsed[b][key] == value for key, value in keys.items()) for b in bottom]
            if any(row):
                parents.append((len(keys), series_id, row))
    if not parents:
        return None
    parents.sort()
    series = tuple(p[1] for p in parents) + bottom
    S = np.vstack([np.array([p[2] for p in parents], dtype=float), np.eye(len(bottom))])
    levels: dict[str, list[str]] = {}
    for series_id in series:
        keys = parsed[series_id]
        levels.setdefault("/".join(sorted(keys)) or TOTAL, []).append(series_id)
    return Hierarchy(series, bottom, S, {name: tuple(ids) for name, ids in levels.items()})


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
    bands = {c: _matrix(forecasts, hierarchy, c) for c in BAND_COLUMNS}
    dates = bands["yhat"].columns
    base = bands["yhat"].to_numpy(dtype=float)
    sigma = np.mean(
        [
            (
                bands[f"yhat_upper_{level}"].to_numpy(dtype=float)
                - bands[f"yhat_lower_{level}"].to_numpy(dtype=float)
            )
            / (2 * _z(level))
            for level in LEVELS
        ],
        axis=0,
    )
    result = _apply(method, hierarchy, base, sigma=sigma, history=history, non_negative=non_negative)
    out = {"yhat": result["mean"]}
    if "quantiles" in result:  # sorted: lower 95, lower 80, upper 80, upper 95
        q = result["quantiles"]
        out |= {
            "yhat_lower_95": q[:, :, 0],
            "yhat_lower_80": q[:, :, 1],
            "yhat_upper_80": q[:, :, 2],
            "yhat_upper_95": q[:, :, 3],
        }
    else:
        shift = result["mean"] - base
        out |= {c: bands[c].to_numpy(dtype=float) + shift for c in BAND_COLUMNS if c != "yhat"}
    if non_negative:
        out = {c: np.maximum(v, 0.0) for c, v in out.items()}
    frame = forecasts.copy()
    for column in BAND_COLUMNS:
        frame[column] = frame[column].astype("float64")
    index = pd.MultiIndex.from_arrays([frame["series_id"].astype(str), pd.to_datetime(frame["ds"])])
    inside = index.isin(pd.MultiIndex.from_product([hierarchy.series, dates]))
    for column, values in out.items():
        long = pd.Series(
            values.ravel(), index=pd.MultiIndex.from_product([hierarchy.series, dates]), dtype=float
        )
        frame.loc[inside, column] = long.reindex(index[inside]).to_numpy()
    return frame


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

    Each fold (a cutoff every series of the hierarchy was backtested at, over the periods all of them predicted)
    is reconciled as of its cutoff (the history up to it) and scored per series with the selection metric
    (`daybreak.models.forecasting.fold_metrics`, the same as the candidates' selection); a series' score is its
    mean over folds, a method's the mean over series.

    Args:
        folds: `series_id, cutoff, ds, y, yhat`: each series' backtest predictions of its scoring model.
        history: `series_id, ds, y`: the actuals (MASE's scale, top-down's historical proportions).
        metric: `mase`, `smape` or `rmse` (lower is better).
        season_length: the seasonal naive's lag in MASE's scale.

    Returns:
        one row per method, `METHODS` order then `base`: `method, score, folds, series, chosen`; empty when no
        fold covers the whole hierarchy. `chosen` marks the lowest finite score (ties: the earlier method).
    """
    from daybreak.models.forecasting import fold_metrics

    folds = folds.assign(series_id=folds["series_id"].astype(str), ds=pd.to_datetime(folds["ds"]))
    folds = folds[folds["series_id"].isin(hierarchy.series)]
    history = history.assign(series_id=history["series_id"].astype(str), ds=pd.to_datetime(history["ds"]))
    methods = hierarchy.methods()
    per_series: dict[str, dict[str, list[float]]] = {m: {} for m in (*methods, BASE)}
    used = 0
    for cutoff, fold in folds.groupby(pd.to_datetime(folds["cutoff"]), sort=True):
        yhat = fold.pivot_table(index="series_id", columns="ds", values="yhat", aggfunc="first")
        yhat = yhat.reindex(list(hierarchy.series)).dropna(axis=1)
        if yhat.shape[1] == 0:
            continue
        actual = (
            fold.pivot_table(index="series_id", columns="ds", values="y", aggfunc="first")
            .reindex(index=list(hierarchy.series), columns=yhat.columns)
            .to_numpy(dtype=float)
        )
        past = history[history["ds"] <= cutoff]
        trains = {
            s: g.sort_values("ds")["y"].to_numpy(dtype=float)
            for s, g in past.groupby("series_id", sort=False)
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
    from hierarchicalforecast.methods import BottomUp, MinTrace, TopDown

    S, tags = hierarchy.S, hierarchy.tags()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # hierarchicalforecast warns about NaN shares and zero variances
        if method == "bottom_up":
            reconciler = BottomUp()
            result = reconciler.fit_predict(S=S, y_hat=base)
        elif method == "top_down_forecast_proportions":
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
        sd = np.sqrt((S @ reconciler.P) ** 2 @ sigma**2)
        result["quantiles"] = np.stack(
            [
                result["mean"] + sign * _z(level) * sd
                for sign, level in ((-1, 95), (-1, 80), (1, 80), (1, 95))
            ],
            axis=2,
        )
    return result


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
    top = int(hierarchy.S.sum(axis=1).argmax())
    usable = matrix[top] > 0
    if not usable.any():
        raise ValueError("top_down_average_proportions: the top series has no positive value in the history")
    matrix = np.nan_to_num(matrix[:, usable], nan=0.0)
    return matrix


def _matrix(forecasts: pd.DataFrame, hierarchy: Hierarchy, column: str) -> pd.DataFrame:
    """One band as S's rows x periods; every series of the hierarchy needs every period."""
    frame = forecasts.assign(series_id=forecasts["series_id"].astype(str), ds=pd.to_datetime(forecasts["ds"]))
    wide = frame[frame["series_id"].isin(hierarchy.series)].pivot_table(
        index="series_id", columns="ds", values=column, aggfunc="first"
    )
    wide = wide.reindex(list(hierarchy.series))
    if wide.isna().any().any():
        missing = wide.index[wide.isna().any(axis=1)].tolist()
        raise ValueError(f"series of the hierarchy without a {column} for every period: {missing[:5]}")
    return wide


def _z(level: int) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 200))
