"""The drift distances of the nightly monitoring rows, computed directly with scipy: no Evidently report.

The rows of `monitoring.drift_metrics` need one number per column: the normed Wasserstein distance of a numeric
column, the Jensen-Shannon distance of a category's frequencies. Evidently's DataDriftPreset computes the same
numbers, but builds every chart of a report around them, and importing Evidently alone takes seconds in a fresh task
process: a night's checks ran 65 to 93% of the monitoring step inside Evidently (docs/benchmarks.md, "Monitoring
proportional to the day"). These functions follow Evidently 0.7's registered tests (`wasserstein`,
`jensenshannon` in `evidently.legacy.calculations.stattests`) step for step, so a night's rows are the numbers its
report shows; tests/unit/test_drift_distances.py compares the two on the same inputs. The report itself is
rendered on demand (`daybreak.models.drift.render`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance

JENSEN_SHANNON_BINS = 30
"""Evidently's default bins for a numeric column's Jensen-Shannon distance (used only past 20 distinct values)."""


def wasserstein_normed(reference: pd.Series, current: pd.Series) -> float:
    """The first Wasserstein distance in reference standard deviations (floored at 0.001, as Evidently does, so
    a constant reference does not divide by zero)."""
    norm = max(float(np.std(reference)), 0.001)
    return float(stats.wasserstein_distance(reference, current) / norm)


def jensen_shannon(reference: pd.Series, current: pd.Series, *, numeric: bool) -> float:
    """The Jensen-Shannon distance (natural log) between the two sides' frequencies: of each value for a
    category, or of each Sturges bin over both sides for a number with more than 20 distinct values."""
    if numeric and reference.nunique() > 20:
        combined = np.asarray(pd.concat([reference, current], axis=0).values)
        bins = np.histogram_bin_edges(combined, bins="sturges")
        reference_share = np.histogram(reference, bins)[0] / len(reference)
        current_share = np.histogram(current, bins)[0] / len(current)
    else:
        keys = list(set(reference.dropna().unique()) | set(current.dropna().unique()))
        reference_counts = {**dict.fromkeys(keys, 0), **dict(reference.value_counts())}
        current_counts = {**dict.fromkeys(keys, 0), **dict(current.value_counts())}
        reference_share = np.array([reference_counts[key] / len(reference) for key in keys])
        current_share = np.array([current_counts[key] / len(current) for key in keys])
    return float(distance.jensenshannon(reference_share, current_share))


def column_distance(reference: pd.Series, current: pd.Series, *, numeric: bool) -> tuple[str, float]:
    """The test the nightly rows use for a column (Wasserstein for numbers, Jensen-Shannon for categories) and its
    distance, on the finite, non-missing values of each side, as Evidently's ValueDrift takes them."""
    reference, current = (side.replace([-np.inf, np.inf], np.nan).dropna() for side in (reference, current))
    if numeric:
        return "wasserstein", wasserstein_normed(reference, current)
    return "jensenshannon", jensen_shannon(reference, current, numeric=False)
