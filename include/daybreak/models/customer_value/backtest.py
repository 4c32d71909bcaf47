"""The published validation of buy-till-you-die models: fit on a calibration period, predict a holdout period.

Each customer of the calibration period gets a prediction of their purchases (days with an order) in the holdout
and is compared with what they did, against two baselines measured on the same customers: each customer's own
calibration rate carried forward (repeat purchases per day of their age, times the holdout's days) and the mean
rate (every customer at the population's repeat purchases per customer-day). A model that cannot beat both per
customer has learned nothing the night should publish; `beats_baselines` is what the registry's gate reads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from daybreak.models import DEFAULT_SEED
from daybreak.models.customer_value.fitting import fit
from daybreak.models.customer_value.model import CustomerValueModel
from daybreak.models.customer_value.scoring import score
from daybreak.models.customer_value.summary import daily_purchases, summarise

CALIBRATION_BUCKETS = 7
"""Calibration rows by repeat purchases 0, 1, ..., 6 and a last bucket of 7 or more."""
CALIBRATION_COLUMNS = ("calibration_purchases", "customers", "predicted_purchases", "actual_purchases")


@dataclass(frozen=True)
class Backtest:
    """A calibration / holdout backtest of one fit.

    Attributes:
        model: the model fitted on the calibration period.
        customers: per calibration customer: the summary columns, `predicted_purchases`, `actual_purchases`,
            `individual_rate` and `mean_rate` (the baselines' predictions), `predicted_revenue`, `actual_revenue`.
        horizon_days: the holdout's length.
        calibration: `CALIBRATION_COLUMNS`: mean predicted and actual purchases by calibration repeat purchases.
    """

    model: CustomerValueModel
    customers: pd.DataFrame
    horizon_days: int
    calibration: pd.DataFrame

    @property
    def predicted_total(self) -> float:
        return float(self.customers["predicted_purchases"].sum())

    @property
    def actual_total(self) -> float:
        return float(self.customers["actual_purchases"].sum())

    @property
    def total_error(self) -> float:
        """(predicted - actual) / actual repeat purchases over all customers; NaN when none were made."""
        return (self.predicted_total - self.actual_total) / self.actual_total if self.actual_total else np.nan

    @property
    def mae(self) -> float:
        return _mae(self.customers, "predicted_purchases")

    @property
    def mae_individual_rate(self) -> float:
        return _mae(self.customers, "individual_rate")

    @property
    def mae_mean_rate(self) -> float:
        return _mae(self.customers, "mean_rate")

    @property
    def revenue_spearman(self) -> float:
        """Spearman rank correlation of predicted against actual holdout revenue across customers."""
        frame = self.customers
        if len(frame) < 2 or frame["actual_revenue"].nunique() < 2:
            return np.nan
        return float(spearmanr(frame["predicted_revenue"], frame["actual_revenue"]).statistic)

    @property
    def beats_baselines(self) -> bool:
        return self.mae < self.mae_individual_rate and self.mae < self.mae_mean_rate


def _mae(frame: pd.DataFrame, column: str) -> float:
    return float((frame[column] - frame["actual_purchases"]).abs().mean())


def backtest(
    purchases: pd.DataFrame, calibration_end: dt.date, holdout_end: dt.date, seed: int = DEFAULT_SEED
) -> Backtest:
    """Fit on the purchases up to `calibration_end`, predict each customer's in (calibration_end, holdout_end].

    Args:
        purchases: `customer_id, purchase_date, revenue` (as `summarise` reads them), covering both periods.
        calibration_end: the last day of the calibration period.
        holdout_end: the last day of the holdout (inclusive); the purchases must reach it, or the actuals fall
            short of a prediction made for the whole period.
        seed: the fit's seed.
    """
    horizon = (holdout_end - calibration_end).days
    if horizon <= 0:
        raise ValueError(f"holdout_end {holdout_end} must be after calibration_end {calibration_end}")
    summary = summarise(purchases, calibration_end)
    model = fit(summary, seed)
    scored = score(model, summary, horizon)
    daily = daily_purchases(purchases)
    in_holdout = (daily["purchase_date"] > pd.Timestamp(calibration_end)) & (
        daily["purchase_date"] <= pd.Timestamp(holdout_end)
    )
    actual = daily[in_holdout].groupby("customer_id")["revenue"].agg(["size", "sum"])
    actual = actual.reindex(summary["customer_id"], fill_value=0)
    frequency, age = summary["frequency"].to_numpy(), summary["T"].to_numpy()
    own_rate = np.divide(frequency, age, out=np.zeros(len(age)), where=age > 0)
    mean_rate = frequency.sum() / age.sum() if age.sum() > 0 else 0.0
    customers = summary.assign(
        predicted_purchases=scored["expected_purchases"].to_numpy(),
        actual_purchases=actual["size"].to_numpy(float),
        individual_rate=own_rate * horizon,
        mean_rate=mean_rate * horizon,
        predicted_revenue=scored["expected_revenue"].to_numpy(),
        actual_revenue=actual["sum"].to_numpy(float),
    )
    return Backtest(model, customers, horizon, calibration_table(customers))


def calibration_table(customers: pd.DataFrame) -> pd.DataFrame:
    """`CALIBRATION_COLUMNS`: customers and mean predicted / actual purchases by calibration repeat purchases."""
    bucket = np.minimum(customers["frequency"].to_numpy(), CALIBRATION_BUCKETS).astype(int)
    table = (
        customers.assign(calibration_purchases=bucket)
        .groupby("calibration_purchases", as_index=False)
        .agg(
            customers=("customer_id", "size"),
            predicted_purchases=("predicted_purchases", "mean"),
            actual_purchases=("actual_purchases", "mean"),
        )
    )
    return table.astype({"calibration_purchases": "int32", "customers": "int64"}).loc[
        :, list(CALIBRATION_COLUMNS)
    ]
