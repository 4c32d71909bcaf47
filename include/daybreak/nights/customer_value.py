"""Customer value night by night: when to retrain, the backtest gate applied, the rows each night writes.

`jobs.customer_value` reads the night's inputs, calls these and writes what they return; the model itself (the
BG/NBD and Gamma-Gamma fits, scoring, the calibration / holdout backtest) is pure and lives in the
`daybreak.models.customer_value` package. See the job's docstring for the night as a whole.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

import joblib
import pandas as pd

from daybreak.core.files import write_atomic
from daybreak.models import DEFAULT_SEED
from daybreak.models.customer_value import SUMMARY_COLUMNS, CustomerValueModel, backtest, fit, score
from daybreak.nights import decisions
from daybreak.warehouse import registry
from daybreak.warehouse.schemas.predictions import CUSTOMER_VALUE, CUSTOMER_VALUE_CALIBRATION

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import duckdb

    from daybreak.datasets import CustomerValueConfig
    from daybreak.models.customer_value import Backtest

log = logging.getLogger(__name__)

SUMMARY_MART = "marts.features_customer_value_asof"
PURCHASES_MART = "marts.fct_customer_purchase_days"
MODEL_KIND, MODEL_ID = "customer_value", "customers"


def retrain_reason(
    spec: CustomerValueConfig, day: dt.date, champion: CustomerValueModel | None
) -> str | None:
    """Why night `day` trains a challenger, or None when the champion just scores."""
    if champion is None:
        return "no champion yet"
    if spec.is_retrain_day(day):
        return f"scheduled ({spec.retrain} retrain)"
    return None


def read_summary(connection: duckdb.DuckDBPyConnection, business_date: dt.date) -> pd.DataFrame:
    """D's snapshot of the summary mart: `SUMMARY_COLUMNS`, one row per customer with a purchase by D."""
    columns = ", ".join(f'"{c}"' for c in SUMMARY_COLUMNS)  # constant names; "T" keeps its case
    return connection.execute(
        f"select {columns} from {SUMMARY_MART} where as_of_date = ? order by customer_id",  # noqa: S608
        [business_date],
    ).df()


def read_purchases(connection: duckdb.DuckDBPyConnection, business_date: dt.date) -> pd.DataFrame:
    """Every customer's purchase days up to D (`customer_id, purchase_date, revenue`): what the backtest splits."""
    return connection.execute(
        f"select customer_id, purchase_date, revenue from {PURCHASES_MART} "  # noqa: S608 - constant name
        "where purchase_date <= ? order by customer_id, purchase_date",
        [business_date],
    ).df()


def promotion_gate(tested: Backtest, champion: CustomerValueModel | None) -> tuple[bool, str, float | None]:
    """Whether the challenger serves: it must beat both baselines per customer on its backtest and be no worse
    than the champion's parameters scoring the same calibration customers over the same holdout.

    Returns:
        the decision, why in words, and the champion's mean absolute error on the backtest (None without one).
    """
    summary = tested.customers.loc[:, list(SUMMARY_COLUMNS)]
    champion_mae = None
    if champion is not None:
        predicted = score(champion, summary, tested.horizon_days)["expected_purchases"].to_numpy()
        champion_mae = float(abs(predicted - tested.customers["actual_purchases"].to_numpy()).mean())
    errors = (
        f"MAE {tested.mae:.4f} per customer against {tested.mae_individual_rate:.4f} (each customer's rate) and "
        f"{tested.mae_mean_rate:.4f} (the mean rate)"
    )
    if not tested.beats_baselines:
        return False, f"does not beat both baselines: {errors}", champion_mae
    if champion_mae is not None and tested.mae > champion_mae:
        return (
            False,
            f"worse than the champion ({tested.mae:.4f} > {champion_mae:.4f}); {errors}",
            champion_mae,
        )
    return (
        True,
        f"beats both baselines: {errors}"
        + ("" if champion_mae is None else f"; the champion's {champion_mae:.4f}"),
        champion_mae,
    )


def train(
    connection: duckdb.DuckDBPyConnection,
    models_dir: Path,
    spec: CustomerValueConfig,
    summary: pd.DataFrame,
    purchases: pd.DataFrame,
    business_date: dt.date,
    run_id: str,
    reason: str,
    champion: CustomerValueModel | None,
) -> tuple[dict, pd.DataFrame | None]:
    """Backtest and fit a challenger, save and register it, and take the promotion decision.

    Returns:
        what happened, and the backtest's calibration rows for D (None when nothing could be backtested).
    """
    version = business_date.isoformat()
    calibration_end = business_date - dt.timedelta(days=spec.holdout_days)
    calibrated = purchases.loc[
        purchases["purchase_date"] <= pd.Timestamp(calibration_end), "customer_id"
    ].nunique()
    if calibrated < spec.min_customers:
        why = (
            f"not trained: {calibrated} customers bought by {calibration_end}, the backtest's calibration end "
            f"({spec.holdout_days} holdout days), fewer than min_customers {spec.min_customers}"
        )
        return {"reason": reason, "decision": why}, None
    try:
        tested = backtest(purchases, calibration_end, business_date, DEFAULT_SEED)
        challenger = fit(summary, DEFAULT_SEED)
    except ValueError as error:  # the library's refusal of a history it cannot fit (no repeat purchase)
        return {"reason": reason, "decision": f"not trained: {error}"}, None
    promote, why, champion_mae = promotion_gate(tested, champion)
    metrics = {
        "customers": len(summary),
        "backtest_customers": len(tested.customers),
        "holdout_days": tested.horizon_days,
        "mae": tested.mae,
        "mae_individual_rate": tested.mae_individual_rate,
        "mae_mean_rate": tested.mae_mean_rate,
        "champion_mae": champion_mae,
        "predicted_total": tested.predicted_total,
        "actual_total": tested.actual_total,
        "revenue_spearman": tested.revenue_spearman,
    }
    params = {
        "purchases": challenger.purchases._asdict(),
        "spend": challenger.spend._asdict(),
        "library": challenger.library,
        "spend_customers": challenger.spend_customers,
        "horizon_days": spec.horizon_days,
        "holdout_days": spec.holdout_days,
        "seed": DEFAULT_SEED,
    }
    artifact = write_atomic(
        models_dir / MODEL_KIND / version / "model.joblib", lambda staging: joblib.dump(challenger, staging)
    )
    registry.register(
        connection,
        model_kind=MODEL_KIND,
        model_id=MODEL_ID,
        version=version,
        trained_for_date=business_date,
        data_start=business_date - dt.timedelta(days=int(summary["T"].max())),
        data_end=business_date,
        model_name=challenger.name,
        params=params,
        metrics=metrics,
        artifact_path=str(artifact),
        run_id=run_id,
        reason=reason,
    )
    _, decision = decisions.decide(
        connection,
        MODEL_KIND,
        MODEL_ID,
        version,
        gate=lambda: (promote, why),
        logical_date=business_date,
        run_id=run_id,
    )
    result = {"reason": reason, "version": version, "mae": round(tested.mae, 4), "decision": decision}
    calibration = tested.calibration.assign(as_of_date=business_date, model_version=version, run_id=run_id)
    return result, CUSTOMER_VALUE_CALIBRATION.conform(calibration)


def load_model(row: dict | None) -> CustomerValueModel | None:
    """The fitted model of a registry row (None for none)."""
    if row is None:
        return None
    return joblib.load(row["artifact_path"])


def score_table(
    model: CustomerValueModel | None,
    summary: pd.DataFrame,
    spec: CustomerValueConfig,
    business_date: dt.date,
    version: str | None,
    run_id: str,
    scorer: Callable[[CustomerValueModel, pd.DataFrame, int], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """D's rows of `predictions.customer_value`: every customer of the summary scored by `model` (none without).

    Args:
        scorer: scores as `score` does, elsewhere (the Spark engine's executors,
            `daybreak.nights.spark_models.score_customer_value`); None: `score` here.
    """
    if model is None or summary.empty:
        return CUSTOMER_VALUE.empty()
    scored = (scorer or score)(model, summary, spec.horizon_days)
    lineage = {
        "as_of_date": business_date,
        "horizon_days": spec.horizon_days,
        "model": model.name,
        "model_version": version,
        "run_id": run_id,
    }
    return CUSTOMER_VALUE.conform(scored.assign(**lineage))
