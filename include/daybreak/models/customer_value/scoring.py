"""Scoring customers with a fitted model: numpy over the fitted parameters, a million customers in seconds."""

from __future__ import annotations

import pandas as pd

from daybreak.models.customer_value.fitting import check_summary
from daybreak.models.customer_value.formulas import (
    expected_purchases,
    expected_spend,
    probability_alive,
    purchase_quantiles,
)
from daybreak.models.customer_value.model import CustomerValueModel

SCORE_COLUMNS = (
    "customer_id",
    "probability_active",
    "expected_purchases",
    "purchases_lower_80",
    "purchases_upper_80",
    "expected_revenue",
    "revenue_lower_80",
    "revenue_upper_80",
)
"""The columns of `predictions.customer_value` a score fills (the night adds the date, horizon, model, run)."""


def score(model: CustomerValueModel, summary: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
    """Each customer's probability of being active and purchases and revenue over the next `horizon_days`.

    expected_purchases is BG/NBD's conditional expectation; the 80% interval of the purchases is the 10% and
    90% quantiles of their exact predictive distribution given the fitted parameters (`purchase_quantiles`: no
    simulation, so no seed). Revenue is purchases times the Gamma-Gamma expected spend per purchase; its interval
    is the purchases' interval times that spend, so it leaves out the spread of the spend itself.

    Args:
        model: a fitted `CustomerValueModel`.
        summary: `SUMMARY_COLUMNS` as of the scoring date.
        horizon_days: the days ahead (t).

    Returns:
        `SCORE_COLUMNS`, one row per summary row, in its order.
    """
    check_summary(summary)
    if horizon_days <= 0:
        raise ValueError(f"horizon_days must be positive, got {horizon_days}")
    x, t_x, age, mean_spend = (
        summary[c].to_numpy(float) for c in ("frequency", "recency", "T", "monetary_value")
    )
    alive = probability_alive(model.purchases, x, t_x, age)
    purchases = expected_purchases(model.purchases, x, t_x, age, float(horizon_days))
    lower, upper = purchase_quantiles(model.purchases, x, alive, age, float(horizon_days))
    spend = expected_spend(model.spend, x, mean_spend)
    return pd.DataFrame(
        {
            "customer_id": summary["customer_id"].to_numpy(),
            "probability_active": alive,
            "expected_purchases": purchases,
            "purchases_lower_80": lower,
            "purchases_upper_80": upper,
            "expected_revenue": purchases * spend,
            "revenue_lower_80": lower * spend,
            "revenue_upper_80": upper * spend,
        }
    )
