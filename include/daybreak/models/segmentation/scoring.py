"""What a scored night says about its segments: each one against the whole population, and who moved where.

Both are computed from the night's assignments (`SegmentModel.assign`) and the customer features, whichever model
scored them; the segment night writes them to `predictions.segment_profiles` and `predictions.segment_transitions`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def profile_segments(
    features: pd.DataFrame, assignments: pd.DataFrame, columns: tuple[str, ...]
) -> pd.DataFrame:
    """What each segment looks like against the whole population, one row per segment and feature.

    Args:
        features: `customer_id` and `columns` (raw values, as in the mart).
        assignments: `customer_id, segment_id, segment_name`.
        columns: the features to describe (`monetary` must be among them: it gives the revenue shares).

    Returns:
        `segment_id, segment_name, customers, share_of_customers, revenue, share_of_revenue, feature,
        mean, median, population_mean, population_median, mean_vs_population` (the segment mean over the
        population mean; null when the population mean is 0), sorted by segment id and the order of `columns`.
    """
    joined = assignments[["customer_id", "segment_id", "segment_name"]].merge(
        features[["customer_id", *columns]], on="customer_id", how="left"
    )
    values = joined[list(columns)].apply(pd.to_numeric).astype(float)
    total_customers = len(joined)
    total_revenue = float(values["monetary"].sum())
    groups = values.groupby(joined["segment_id"])
    sizes = joined.groupby("segment_id").agg(
        segment_name=("segment_name", "first"), customers=("customer_id", "size")
    )
    sizes["revenue"] = groups["monetary"].sum()
    means, medians = groups.mean(), groups.median()
    rows = []
    for segment_id, size in sizes.iterrows():
        for column in columns:
            population_mean = float(values[column].mean())
            mean = float(means.loc[segment_id, column])
            rows.append(
                {
                    "segment_id": int(segment_id),
                    "segment_name": size["segment_name"],
                    "customers": int(size["customers"]),
                    "share_of_customers": size["customers"] / total_customers,
                    "revenue": float(size["revenue"]),
                    "share_of_revenue": float(size["revenue"]) / total_revenue if total_revenue else np.nan,
                    "feature": column,
                    "mean": mean,
                    "median": float(medians.loc[segment_id, column]),
                    "population_mean": population_mean,
                    "population_median": float(values[column].median()),
                    "mean_vs_population": mean / population_mean if population_mean else np.nan,
                }
            )
    return pd.DataFrame(rows)


def segment_transitions(previous: pd.DataFrame | None, current: pd.DataFrame) -> pd.DataFrame:
    """How many customers moved from each segment to each other between two scored dates.

    Args:
        previous: the earlier date's assignments (`customer_id, segment_id, segment_name`); None when there
            is no earlier date.
        current: this date's assignments.

    Returns:
        `from_segment_id, from_segment_name, to_segment_id, to_segment_name, customers, share_of_from` per
        pair that occurs. Customers new since the earlier date have a null `from_segment_id` and
        `from_segment_name`; share_of_from is the pair's share of the from-segment's customers still here (of
        all new customers, for them).
    """
    current = current[["customer_id", "segment_id", "segment_name"]].rename(
        columns={"segment_id": "to_segment_id", "segment_name": "to_segment_name"}
    )
    if previous is None:
        previous = pd.DataFrame({"customer_id": [], "segment_id": [], "segment_name": []})
    previous = previous[["customer_id", "segment_id", "segment_name"]].rename(
        columns={"segment_id": "from_segment_id", "segment_name": "from_segment_name"}
    )
    moved = current.merge(previous, on="customer_id", how="left")
    moved["from_segment_id"] = moved["from_segment_id"].astype("Int64")
    keys = ["from_segment_id", "from_segment_name", "to_segment_id", "to_segment_name"]
    counts = moved.groupby(keys, dropna=False).size().rename("customers").reset_index()
    from_sizes = counts.groupby("from_segment_id", dropna=False)["customers"].transform("sum")
    counts["share_of_from"] = counts["customers"] / from_sizes
    return counts.sort_values(["from_segment_id", "to_segment_id"], na_position="first", ignore_index=True)
