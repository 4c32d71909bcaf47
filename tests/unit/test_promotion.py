"""The promotion rule, on numbers."""

from __future__ import annotations

import pytest

from daybreak.models.promotion import decide_promotion


@pytest.mark.parametrize(
    ("champion", "challenger", "margin", "lower", "expected"),
    [
        (None, 0.9, 0.02, True, True),  # no champion yet: the first model is promoted
        (1.00, 0.97, 0.02, True, True),  # 3% better than needed 2%
        (1.00, 0.99, 0.02, True, False),  # better, but inside the margin
        (1.00, 1.00, 0.0, True, False),  # a tie keeps the champion
        (1.00, 1.20, 0.02, True, False),  # worse
        (0.40, 0.45, 0.05, False, True),  # higher is better (silhouette): 12.5% up
        (-0.10, -0.12, 0.05, False, False),  # a negative score: the margin uses its size
        (1.00, float("nan"), 0.02, True, False),  # a failed challenger never wins
        (float("nan"), 1.0, 0.02, True, True),  # a champion with no score loses to a real one
    ],
)
def test_decide_promotion(champion, challenger, margin, lower, expected):
    promote, reason = decide_promotion(champion, challenger, margin, lower_is_better=lower)
    assert promote is expected
    assert reason


def test_decide_promotion_refuses_a_negative_margin():
    with pytest.raises(ValueError, match="margin"):
        decide_promotion(1.0, 0.5, -0.1)
