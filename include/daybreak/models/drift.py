"""Data drift between a reference window and a current window, with Evidently 0.7's DataDriftPreset.

Evidently picks a test per column (Wasserstein distance for numbers, Jensen-Shannon for categories at these sample
sizes) and flags the dataset as drifted when at least `drift_share` of its columns drifted.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from evidently.core.report import Snapshot

DRIFT_SHARE = 0.5
"""Share of drifted columns from which the dataset as a whole counts as drifted (Evidently's default)."""


def empty_summary() -> dict[str, Any]:
    """The summary of a comparison that could not run because a window holds no rows."""
    return {"n_columns": 0, "n_drifted_columns": 0, "share_drifted": None, "dataset_drift": False}


def drift_summary(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    timestamp: dt.datetime | None = None,
    drift_share: float = DRIFT_SHARE,
) -> tuple[dict[str, Any], Snapshot | None]:
    """Compare the current window's columns with the reference window's.

    Numeric columns (not bool) are compared as numerical, every other column as categorical, so a flag such as
    `has_customer` is tested as a category rather than as a number between 0 and 1.

    Args:
        reference: the baseline rows; the same columns as `current`.
        current: the rows under test.
        timestamp: stamped on the report; pass the business date so the report is not dated by the wall clock.
        drift_share: share of drifted columns from which `dataset_drift` is true.

    Returns:
        the summary (`n_columns, n_drifted_columns, share_drifted, dataset_drift`) and the Evidently snapshot (for
        HTML); when either window has no rows, `empty_summary()` and None, since there is nothing to compare.
    """
    if list(reference.columns) != list(current.columns):
        raise ValueError(
            f"reference columns {list(reference.columns)} differ from current {list(current.columns)}"
        )
    if reference.empty or current.empty or not len(current.columns):
        return empty_summary(), None

    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    numerical = [
        column
        for column in current.columns
        if pd.api.types.is_numeric_dtype(current[column]) and not pd.api.types.is_bool_dtype(current[column])
    ]
    categorical = [column for column in current.columns if column not in numerical]
    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    snapshot = Report([DataDriftPreset(drift_share=drift_share)]).run(
        Dataset.from_pandas(current.reset_index(drop=True), data_definition=definition),
        Dataset.from_pandas(reference.reset_index(drop=True), data_definition=definition),
        timestamp=timestamp,
    )
    n_columns = len(numerical) + len(categorical)
    counts = _drifted_columns_count(snapshot)
    n_drifted = int(round(counts["count"]))
    share = n_drifted / n_columns
    return (
        {
            "n_columns": n_columns,
            "n_drifted_columns": n_drifted,
            "share_drifted": share,
            "dataset_drift": bool(share >= drift_share),
        },
        snapshot,
    )


def _drifted_columns_count(snapshot: Snapshot) -> dict[str, float]:
    for metric in snapshot.dict()["metrics"]:
        if metric["config"]["type"].endswith(":DriftedColumnsCount"):
            return metric["value"]
    raise RuntimeError("the Evidently report holds no DriftedColumnsCount metric")
