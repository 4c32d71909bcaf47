"""Data drift between a reference window and a current window, and the checks' Evidently 0.7 reports.

The sales lines' summary (`drift_summary`) is Evidently's DataDriftPreset: Evidently picks a test per column
(Wasserstein distance for numbers, Jensen-Shannon for categories at these sample sizes) and flags the dataset as
drifted when at least `drift_share` of its columns drifted; its report is the night's one HTML page. The models'
checks (`feature_drift`) need only each column's distance, computed directly (`daybreak.models.drift_distances`,
the numbers Evidently's report of the same inputs shows); their reports are rendered when asked for (`render`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from daybreak.models.drift_distances import column_distance

if TYPE_CHECKING:
    from evidently.core.report import Snapshot

DRIFT_SHARE = 0.5
"""Share of drifted columns from which the dataset as a whole counts as drifted (Evidently's default)."""


def empty_summary() -> dict[str, Any]:
    """The summary of a comparison that could not run because a window holds no rows."""
    return {
        "n_columns": 0,
        "n_drifted_columns": 0,
        "share_drifted": None,
        "dataset_drift": False,
        "drifted_columns": None,
    }


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
        the summary (`n_columns, n_drifted_columns, share_drifted, dataset_drift`, and `drifted_columns`: the names
        of the columns that drifted, comma-separated, empty when none did) and the Evidently snapshot (for HTML);
        when either window has no rows, `empty_summary()` and None, since there is nothing to compare.
    """
    if list(reference.columns) != list(current.columns):
        raise ValueError(
            f"reference columns {list(reference.columns)} differ from current {list(current.columns)}"
        )
    if reference.empty or current.empty or not len(current.columns):
        return empty_summary(), None

    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    numerical, categorical = split_columns(current)
    reference, current = _significant(reference, current, numerical)
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
            "drifted_columns": ", ".join(sorted(_drifted_columns(snapshot))),
        },
        snapshot,
    )


def _drifted_columns_count(snapshot: Snapshot) -> dict[str, float]:
    for metric in snapshot.dict()["metrics"]:
        if metric["config"]["type"].endswith(":DriftedColumnsCount"):
            return metric["value"]
    raise RuntimeError("the Evidently report holds no DriftedColumnsCount metric")


def _drifted_columns(snapshot: Snapshot) -> list[str]:
    """The columns whose own test found drift: a p-value below its threshold, or a distance at or above it (the
    rule Evidently counts them by in `DriftedColumnsCount`)."""
    drifted = []
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config["type"].endswith(":ValueDrift"):
            p_value = "p_value" in config["method"]
            value, threshold = float(metric["value"]), float(config["threshold"])
            if (value < threshold) if p_value else (value >= threshold):
                drifted.append(config["column"])
    return drifted


NUMERIC_TEST, CATEGORY_TEST = "wasserstein", "jensenshannon"
"""Distance tests for every sample size: p-value tests (KS, chi-squared) flag trivial shifts once samples are large,
and their false alarms grow with the number of features; a distance with a fixed threshold does neither."""


def split_columns(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Numeric columns (bool excluded) and the others, which are compared as categories."""
    numerical = [
        column
        for column in frame.columns
        if pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column])
    ]
    return numerical, [column for column in frame.columns if column not in numerical]


SIGNIFICANT_DIGITS = 12


def _significant(
    reference: pd.DataFrame, current: pd.DataFrame, numerical: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Numeric columns rounded to `SIGNIFICANT_DIGITS` of their largest magnitude (on both sides alike).

    Evidently histograms every numeric column, and numpy refuses a column whose values differ only in their last
    bits ("Too many bins for data range"): a flat forecast that went through a matrix product (reconciliation)
    is such a column, 1.0 and 1.0000000000000002. Rounding away the floating-point noise makes it the constant it
    is, which numpy handles; no difference a drift test could see is lost.
    """
    reference, current = reference.copy(), current.copy()
    for column in numerical:
        values = pd.concat([reference[column], current[column]])
        if not pd.api.types.is_float_dtype(values):
            continue  # whole numbers carry no floating-point noise
        values = values.astype("float64")
        largest = float(np.nanmax(np.abs(values))) if values.notna().any() else 0.0
        if not np.isfinite(largest) or largest == 0.0:
            continue
        decimals = SIGNIFICANT_DIGITS - int(np.ceil(np.log10(largest)))
        reference[column] = reference[column].astype("float64").round(decimals)
        current[column] = current[column].astype("float64").round(decimals)
    return reference, current


@dataclass(frozen=True)
class ReportInputs:
    """What one check's Evidently report is made of, kept so that the report is rendered only when asked for
    (`render`): a night's rows need the distances alone (`feature_drift`), not the report's charts."""

    preset: str  # "drift" (DataDriftPreset with the check's tests and thresholds) or "summary" (DataSummaryPreset)
    reference: pd.DataFrame
    current: pd.DataFrame
    numerical: tuple[str, ...]
    categorical: tuple[str, ...]
    timestamp: dt.datetime | None
    metadata: dict[str, str]
    numeric_threshold: float | None = None
    categorical_threshold: float | None = None


def feature_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    numeric_threshold: float,
    categorical_threshold: float,
    timestamp: dt.datetime | None = None,
    metadata: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, ReportInputs | None]:
    """Each column's drift from the reference: the Wasserstein (numbers, in reference standard deviations) or
    Jensen-Shannon (categories) distance against a fixed threshold, the numbers Evidently's DataDriftPreset with
    these tests reports (`daybreak.models.drift_distances`), without building the report.

    Args:
        reference: the model's reference sample; the same columns as `current`.
        current: tonight's rows.
        numeric_threshold: distance from which a numeric column drifted.
        categorical_threshold: the same for categories.
        timestamp: stamped on the report (the business date, never the wall clock).
        metadata: written into the report (model kind, version, reference window), so the HTML names them.

    Returns:
        one row per column (`feature, test, statistic, threshold, drifted, reference_rows, current_rows`) and what
        its Evidently report is made of (`render`); no rows and None when either side has no rows or there are
        no columns.
    """
    columns = ["feature", "test", "statistic", "threshold", "drifted", "reference_rows", "current_rows"]
    if list(reference.columns) != list(current.columns):
        raise ValueError(
            f"reference columns {list(reference.columns)} differ from current {list(current.columns)}"
        )
    usable = [c for c in current.columns if _finite(reference[c]).any() and _finite(current[c]).any()]
    if reference.empty or current.empty or not usable:
        return pd.DataFrame(columns=columns), None
    reference, current = reference[usable], current[usable]
    numerical, categorical = split_columns(pd.concat([reference.head(1), current.head(1)]))
    reference, current = _significant(reference, current, numerical)
    rows = []
    for column in usable:
        numeric = column in numerical
        test, value = column_distance(reference[column], current[column], numeric=numeric)
        threshold = float(numeric_threshold if numeric else categorical_threshold)
        # rounded: the distance sums in the rows' order, so the last bits could differ between identical nights
        statistic = round(value, 9)
        rows.append(
            {
                "feature": column,
                "test": test,
                "statistic": statistic,
                "threshold": threshold,
                "drifted": bool(statistic >= threshold),
                "reference_rows": int(reference[column].notna().sum()),
                "current_rows": int(current[column].notna().sum()),
            }
        )
    inputs = ReportInputs(
        "drift",
        reference,
        current,
        tuple(numerical),
        tuple(categorical),
        timestamp,
        metadata or {},
        numeric_threshold,
        categorical_threshold,
    )
    return pd.DataFrame(rows, columns=columns), inputs


def _finite(values: pd.Series) -> pd.Series:
    """Which values a distance uses: not missing and, for numbers, not infinite (as Evidently drops them)."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.notna() & ~np.isinf(values.astype("float64"))
    return values.notna()


def render(inputs: ReportInputs) -> Snapshot:
    """Run the check's Evidently report (its tests and thresholds, or the data summary) on its inputs: on demand,
    for the HTML, since the night's rows do not need it."""
    # Evidently takes seconds to import: only a process that renders a report pays for it
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset, DataSummaryPreset

    if inputs.preset == "drift":
        preset = DataDriftPreset(
            num_method=NUMERIC_TEST,
            cat_method=CATEGORY_TEST,
            num_threshold=inputs.numeric_threshold,
            cat_threshold=inputs.categorical_threshold,
        )
    else:
        preset = DataSummaryPreset()
    definition = DataDefinition(
        numerical_columns=list(inputs.numerical), categorical_columns=list(inputs.categorical)
    )
    return Report([preset], metadata=inputs.metadata).run(
        Dataset.from_pandas(inputs.current.reset_index(drop=True), data_definition=definition),
        Dataset.from_pandas(inputs.reference.reset_index(drop=True), data_definition=definition),
        timestamp=inputs.timestamp,
    )


SURPRISE_TEST = "forecast_z"


def forecast_surprise(day: pd.DataFrame, *, threshold: float) -> pd.DataFrame:
    """How far each series' actual of the day landed from the forecast the champion made for it the night before,
    in the forecast's own standard deviations: a short-window check beside `feature_drift`.

    A distribution test over a window of days needs several shifted days before it moves (one day in fourteen
    barely does), so a level shift would wait days for its flag. The forecast for tonight's day already knows the
    weekday, the season and the calendar; its 95% interval says how wide the day's noise is. A day several of those
    widths away is a shift on its first night, and on stationary days it almost never happens (at 4 standard
    deviations, about 1 in 16,000 series-days if the intervals are calibrated).

    Args:
        day: one row per series: `feature`, `y` (the actual), `yhat`, `yhat_upper_95`. The standard deviation
            is the upper half-width / 1.96 (the upper bound, because the lower one of a non-negative target is
            clipped at zero). Rows without a forecast or with a zero-width interval (a closed day) are skipped.
        threshold: distance, in standard deviations, from which a series counts as shifted.

    Returns:
        one row per series checked (`feature, test, statistic, threshold, drifted, reference_rows, current_rows`).
    """
    columns = ["feature", "test", "statistic", "threshold", "drifted", "reference_rows", "current_rows"]
    sigma = (day["yhat_upper_95"] - day["yhat"]) / 1.96
    usable = day[(sigma > 0) & day["y"].notna() & day["yhat"].notna()]
    statistic = ((usable["y"] - usable["yhat"]).abs() / sigma[usable.index]).round(9)
    return pd.DataFrame(
        {
            "feature": usable["feature"],
            "test": SURPRISE_TEST,
            "statistic": statistic.astype(float),
            "threshold": float(threshold),
            "drifted": statistic >= threshold,
            "reference_rows": 1,
            "current_rows": 1,
        },
        columns=columns,
    ).reset_index(drop=True)


def data_quality(
    day: pd.DataFrame,
    reference: pd.DataFrame,
    known: dict[str, set],
    *,
    range_columns: tuple[str, ...],
    max_missing_share: float,
    max_out_of_range_share: float,
) -> pd.DataFrame:
    """The day's data-quality checks against the reference window.

    Args:
        day: the day's rows.
        reference: the reference window's rows (the same columns): the ranges come from it.
        known: per category column, the values seen before the day; a value not among them is new.
        range_columns: numeric columns checked against the reference's min and max.

    Returns:
        one row per check and column: `check_name, column_name, value, threshold, passed, detail`.
    """
    rows = []
    for column in day.columns:
        share = float(day[column].isna().mean()) if len(day) else 0.0
        rows.append(
            {
                "check_name": "missing_share",
                "column_name": column,
                "value": share,
                "threshold": max_missing_share,
                "detail": f"{int(day[column].isna().sum())} of {len(day)} rows missing",
            }
        )
    for column in range_columns:
        low, high = reference[column].min(), reference[column].max()
        if pd.isna(low) or not len(day):
            continue
        outside = ~day[column].between(low, high) & day[column].notna()
        rows.append(
            {
                "check_name": "out_of_range_share",
                "column_name": column,
                "value": float(outside.mean()),
                "threshold": max_out_of_range_share,
                "detail": f"reference range [{low:g}, {high:g}]; {int(outside.sum())} rows outside",
            }
        )
    for column, seen in known.items():
        new = sorted({str(v) for v in day[column].dropna().unique()} - {str(v) for v in seen})
        rows.append(
            {
                "check_name": "new_categories",
                "column_name": column,
                "value": float(len(new)),
                "threshold": 0.0,
                "detail": ", ".join(new[:20]) if new else "none",
            }
        )
    frame = pd.DataFrame(rows, columns=["check_name", "column_name", "value", "threshold", "detail"])
    return frame.assign(passed=frame["value"] <= frame["threshold"])


def data_summary_report(
    day: pd.DataFrame, reference: pd.DataFrame, *, timestamp: dt.datetime, metadata: dict[str, str]
) -> ReportInputs | None:
    """Evidently's DataSummaryPreset of the day against the reference window (missing values, ranges, values), to
    `render` when asked for; None when a side has no rows."""
    if day.empty or reference.empty:
        return None
    numerical, categorical = split_columns(day)
    day, reference = _significant(day, reference, numerical)
    return ReportInputs("summary", reference, day, tuple(numerical), tuple(categorical), timestamp, metadata)
