"""A customer's purchase history in the four numbers the buy-till-you-die models read.

A purchase is a customer-day with an order (several orders on one day are one purchase, their revenue summed), as
in `lifetimes` and PyMC-Marketing's `rfm_summary`: the models count the days a customer came back, not the lines.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

SUMMARY_COLUMNS = ("customer_id", "frequency", "recency", "T", "monetary_value")
"""frequency: repeat purchases (days with an order, minus the first); recency: days from the first to the last
purchase day; T: days from the first purchase day to the as-of date; monetary_value: mean revenue of the repeat
purchase days (0 when frequency is 0). Days, as floats."""
PURCHASE_COLUMNS = ("customer_id", "purchase_date", "revenue")


def daily_purchases(purchases: pd.DataFrame) -> pd.DataFrame:
    """One row per customer and day with an order: `customer_id, purchase_date, revenue` (summed), sorted.

    Raises:
        ValueError: a purchase column is missing.
    """
    missing = [c for c in PURCHASE_COLUMNS if c not in purchases.columns]
    if missing:
        raise ValueError(f"purchases lack the columns {missing}; expected {list(PURCHASE_COLUMNS)}")
    days = pd.to_datetime(purchases["purchase_date"]).dt.normalize()
    frame = pd.DataFrame(
        {
            "customer_id": purchases["customer_id"].to_numpy(),
            "purchase_date": days.to_numpy(),
            "revenue": pd.to_numeric(purchases["revenue"]).astype(float).to_numpy(),
        }
    )
    daily = frame.groupby(["customer_id", "purchase_date"], as_index=False, sort=True)["revenue"].sum()
    return daily.reset_index(drop=True)


def summarise(purchases: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Each customer's frequency, recency, age T and mean repeat spend on `as_of`.

    Args:
        purchases: `customer_id, purchase_date, revenue`, one row per line or per order; rows after `as_of` are
            ignored, so one purchase history serves any as-of date.
        as_of: the end of the observation period (inclusive).

    Returns:
        `SUMMARY_COLUMNS`, one row per customer with a purchase on or before `as_of`, sorted by customer_id.
    """
    daily = daily_purchases(purchases)
    daily = daily[daily["purchase_date"] <= pd.Timestamp(as_of)]
    if daily.empty:
        return pd.DataFrame(
            {c: pd.Series(dtype=object if c == "customer_id" else float) for c in SUMMARY_COLUMNS}
        )
    grouped = daily.groupby("customer_id", sort=True)
    first = grouped["purchase_date"].min()
    last = grouped["purchase_date"].max()
    days = grouped.size()
    total = grouped["revenue"].sum()
    first_revenue = grouped["revenue"].first()  # daily is sorted by day within each customer
    frequency = (days - 1).to_numpy(float)
    repeat_revenue = (total - first_revenue).to_numpy()
    monetary = np.divide(repeat_revenue, frequency, out=np.zeros(len(days)), where=frequency > 0)
    return pd.DataFrame(
        {
            "customer_id": first.index.to_numpy(),
            "frequency": frequency,
            "recency": (last - first).dt.days.astype(float).to_numpy(),
            "T": (pd.Timestamp(as_of) - first).dt.days.astype(float).to_numpy(),
            "monetary_value": monetary,
        }
    )
