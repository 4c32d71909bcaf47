"""Customer value: the `customer_value:` section (docs/analyst-guide.md, "Customer value")."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from daybreak.datasets.fields import Schedule, Weekday, is_retrain_day, section


@section
class CustomerValueConfig:
    """How each customer's future purchases and revenue are predicted (BG/NBD and Gamma-Gamma on the summary
    in `marts.features_customer_value_asof`), retrained and gated."""

    enabled: bool = Field(
        False, description="False for datasets without customers: the customer-value job skips, visibly."
    )
    horizon_days: int = Field(
        90, ge=1, description="Days ahead each night's expected purchases and revenue cover."
    )
    retrain: Schedule = Field("weekly", description="Retrain nights; on other nights the champion scores.")
    retrain_weekday: Weekday = Field(6, description="Weekly retrains' weekday (Monday = 0, Sunday = 6).")
    holdout_days: int = Field(
        90,
        ge=1,
        description="The promotion gate's backtest: fitted on the history up to this many days before the night, "
        "it predicts each customer's purchases in those days.",
    )
    min_customers: int = Field(
        100,
        ge=1,
        description="Fewer customers with a purchase by the night (or in the backtest's calibration part): the "
        "night skips with the reason logged, as the model's parameters would be noise.",
    )

    def is_retrain_day(self, day: dt.date) -> bool:
        """Whether `day` is a scheduled retrain night (daily: every night; weekly: its weekday; monthly: the 1st)."""
        return is_retrain_day(self.retrain, self.retrain_weekday, day)
