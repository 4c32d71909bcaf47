"""The promotion rule every model kind shares: a challenger replaces the champion only by a margin.

Pure (two scores and a margin in, a decision and its reason out), so the jobs apply it and the registry only
records what was decided.
"""

from __future__ import annotations

import math


def decide_promotion(
    champion_score: float | None, challenger_score: float, margin: float, lower_is_better: bool = True
) -> tuple[bool, str]:
    """Whether a challenger replaces the champion: it must beat the champion's score by a relative `margin`.

    Pure, so the rule is tested on numbers and the same scores always give the same decision. A tie, or a
    challenger within the margin, keeps the champion: a new model has to earn the churn it causes.

    Args:
        champion_score: the champion's score on the same backtest; None when there is no champion yet.
        challenger_score: the challenger's score.
        margin: the relative improvement required, e.g. 0.02 for 2% (of the champion's absolute score).
        lower_is_better: True for errors (MASE, sMAPE), False for scores (silhouette).

    Returns:
        (promote, reason), the reason in words for the audit log.
    """
    if margin < 0:
        raise ValueError(f"margin must be at least 0, got {margin}")
    if challenger_score is None or not math.isfinite(challenger_score):
        return False, f"challenger score {challenger_score} is not a finite number"
    if champion_score is None:
        return True, f"no champion yet; challenger scores {challenger_score:.6g}"
    if not math.isfinite(champion_score):
        return (
            True,
            f"champion score {champion_score} is not finite; challenger scores {challenger_score:.6g}",
        )
    needed = margin * abs(champion_score)
    if lower_is_better:
        threshold = champion_score - needed
        promote = challenger_score < threshold
        relation = "below"
    else:
        threshold = champion_score + needed
        promote = challenger_score > threshold
        relation = "above"
    verdict = "beats" if promote else "does not beat"
    return promote, (
        f"challenger {challenger_score:.6g} {verdict} champion {champion_score:.6g} by the margin "
        f"{margin:g} (needed {relation} {threshold:.6g})"
    )
