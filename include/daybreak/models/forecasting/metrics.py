"""Rolling-origin backtests' arithmetic: where the folds cut the history, and how a fold is scored.

Reconciliation scores its methods with the same `fold_metrics`, so a method and a candidate are judged alike.
"""

from __future__ import annotations

import numpy as np

from daybreak.core.vocabulary import METRICS


def backtest_cutoffs(n: int, horizon: int, folds: int, step: int, min_train: int) -> list[int]:
    """Training lengths of the rolling-origin folds, oldest first; the last fold's test ends at the history's end.

    Folds whose training part would be shorter than `min_train` are dropped (a short series gets fewer folds,
    or none).
    """
    cutoffs = [n - horizon - step * (folds - 1 - k) for k in range(folds)]
    return [c for c in cutoffs if c >= min_train]


def min_train(season_length: int) -> int:
    """The shortest training part a fold may have: two seasons and two more (and at least 3)."""
    return max(2 * season_length + 2, 3)


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
    zero (a constant history). Periods whose actual is missing are left out. `intervals=False` (a backtest of a
    model with sampled intervals drawn without samples: its bands are the point) leaves the coverage NaN, not a
    false 0.
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


def mean_score(folds, metric: str) -> float:
    """The mean of `metric` over the folds where it is finite (NaN when it is nowhere)."""
    values = [f.metrics[metric] for f in folds if np.isfinite(f.metrics[metric])]
    return float(np.mean(values)) if values else float("nan")


def summary(folds, metric: str) -> dict:
    """Every metric's mean over the folds (None where undefined), the selection metric and the fold count: what
    the registry keeps as a version's metrics."""
    result = {"metric": metric, "folds": len(folds)}
    for name in METRICS:
        values = [f.metrics[name] for f in folds if np.isfinite(f.metrics[name])]
        result[name] = round(float(np.mean(values)), 10) if values else None
    result["score"] = result[metric]
    return result


def finite(value: float | None) -> float | None:
    """The value as a float when it is finite, else None (what the selection table stores)."""
    return float(value) if value is not None and np.isfinite(value) else None
