"""Successive halving: after every candidate is scored on the newest fold, those far behind stop there.

The newest fold is the closest to what the forecast will face, and a candidate that far behind there rarely makes
up the gap on the older ones, while each fold a slow candidate (Prophet) skips saves one fit, the bulk of a retrain
night's time.
"""

from __future__ import annotations

import numpy as np

from daybreak.models.forecasting.options import ForecastOptions


def halved(runs: dict, options: ForecastOptions, skipped: dict[str, str]) -> list[str]:
    """Which candidates go on to the earlier folds after every one was scored on the newest.

    The rule: a candidate whose score on the newest fold is more than `options.halving_margin` (a share) above
    the best score there is dropped, its reason recorded in `skipped`. Always kept: the baseline (the fallback,
    and free), the champion (promotion compares it on the same folds), a candidate without a finite score (it
    cannot be judged), and the best `ensemble_top` candidates other than the baseline, at least one (an ensemble
    needs its members' folds, and the baseline never wins by pruning its only challengers). A margin of None runs
    every candidate on every fold.

    Args:
        runs: label -> `backtest.Run`, each scored on the newest fold.
    """
    if options.halving_margin is None:
        return list(runs)
    newest = {n: r.folds[max(r.folds)].metrics[options.metric] for n, r in runs.items()}
    contenders = [n for n in runs if runs[n].role in ("baseline", "candidate") and np.isfinite(newest[n])]
    if not contenders:
        return list(runs)
    best = min(newest[n] for n in contenders)
    challengers = sorted((n for n in contenders if runs[n].role == "candidate"), key=lambda n: newest[n])
    keep_top = set(challengers[: max(options.ensemble_top, 1)])
    bar = best * (1 + options.halving_margin)
    kept = []
    for name, run in runs.items():
        if (
            run.role != "candidate"
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
