"""Segment names that say what a segment is, from where it sits among the others in recency and value.

Names are what marketing reads, so they come from the segments' profiles (champions = recent and valuable, at
risk = valuable but lapsed, ...) rather than from cluster numbers, and no two segments share one. A first model
names all its segments; a retrained one names only its new segments, with the names its kept segments do not hold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

# (name, recency score, value score): where each name sits among the segments, 1 = most recent / most valuable.
SEGMENT_PROTOTYPES = (
    ("champions", 1.0, 1.0),
    ("at risk", 0.0, 1.0),
    ("potential", 1.0, 0.0),
    ("hibernating", 0.0, 0.0),
    ("loyal", 0.6, 0.8),
    ("need attention", 0.5, 0.5),
    ("promising", 0.8, 0.3),
    ("about to sleep", 0.3, 0.2),
    ("cannot lose", 0.2, 0.9),
    ("new", 0.95, 0.1),
)


def name_segments(
    profile: pd.DataFrame, taken: set[str] | frozenset[str] = frozenset(), only: list[int] | None = None
) -> tuple[str, ...]:
    """Give segments unique RFM-style names from where they sit among the others.

    Each segment gets a recency score and a value score in [0, 1]: where its mean recency and its value (log of
    mean monetary x mean frequency) sit between the segments' extremes (1 = the most recent / most valuable).
    Positions rather than ranks, so a middle segment that is nearly as recent as the best is named as recent.
    Names are then matched to segments one to one, minimising the total distance to the names' prototypes in
    SEGMENT_PROTOTYPES (champions = recent and valuable, at risk = valuable but lapsed, ...). Up to four segments
    choose among the four corner names; each further segment brings the next name into play.

    Args:
        profile: one row per segment (positional) with `recency_days` and `value_score`.
        taken: names already held by other segments (kept from a previous model); not given out again.
        only: positions to name (the others keep theirs); default all.

    Returns:
        a name per row of `profile` (`segment <row>` for rows not named or beyond the known names); `all
        customers` for a single segment.
    """
    k = len(profile)
    if k == 1 and not taken:
        return ("all customers",)
    rows_to_name = list(range(k)) if only is None else list(only)
    recency = profile["recency_days"].to_numpy(dtype=float)
    value = np.log1p(profile["value_score"].clip(lower=0).to_numpy(dtype=float))
    scores = np.column_stack([1.0 - _unit(recency), _unit(value)])
    candidates = [c for c in SEGMENT_PROTOTYPES[: max(4, k)] if c[0] not in taken]
    if len(candidates) < len(rows_to_name):
        candidates = [c for c in SEGMENT_PROTOTYPES if c[0] not in taken]
    names = [f"segment {row}" for row in range(k)]
    if candidates:
        prototypes = np.array([[r, v] for _, r, v in candidates])
        cost = ((scores[rows_to_name][:, None, :] - prototypes[None, :, :]) ** 2).sum(axis=2)
        rows, columns = linear_sum_assignment(cost)
        for row, column in zip(rows, columns, strict=True):
            names[rows_to_name[row]] = candidates[column][0]
    return tuple(names)


def _unit(values: np.ndarray) -> np.ndarray:
    """Min-max scale to [0, 1]; all equal -> 0.5 (nothing to tell them apart by)."""
    span = values.max() - values.min()
    return (values - values.min()) / span if span > 0 else np.full(len(values), 0.5)
