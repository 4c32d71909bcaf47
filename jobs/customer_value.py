"""Predict each customer's value as of one business date: retrain on schedule behind a backtest gate, score with
the champion.

Night D reads D's snapshot of `marts.features_customer_value_asof` (each customer's repeat purchase days,
recency, age and mean repeat spend, built by dbt from the same lines as `marts.features_customer_asof`). On a
retrain night (the dataset's `customer_value.retrain` schedule; also while there is no champion) a challenger is
fitted on that summary and backtested on the purchase days of `marts.fct_customer_purchase_days`: fitted on the
history up to D - holdout_days, it predicts each customer's purchases in the holdout, against two baselines (each
customer's own rate carried forward, the mean rate) and the champion's parameters on the same customers. It is
registered in the model registry (`model_kind` `customer_value`, `model_id` `customers`, version D) and promoted
only if it beats both baselines and is no worse than the champion. Then the champion as of D scores every customer
(on Spark's executors, by partitions of customers, when the engine is Spark: `daybreak.nights.spark_models`), and
D's partitions are replaced in one transaction:

* `predictions.customer_value`: one row per customer (probability active, expected purchases and revenue over the
  next `customer_value.horizon_days`, their 80% intervals, model, version, run);
* `predictions.customer_value_calibration`, on nights that train: the backtest's mean predicted against actual
  holdout purchases by calibration purchases.

Rerunning a night reproduces it: the fits are seeded, the registry skips what it already recorded, a decision
already taken for D's version stands, and nothing reads the clock. Until there is a champion (the history is
shorter than the holdout plus `min_customers` customers, or no challenger passed the gate) the night writes no
customer rows, and says why. Datasets with customer value turned off, and nights with fewer than `min_customers`
customers, are skipped with the reason logged, which is not an error.
"""

from __future__ import annotations

import datetime as dt
import logging

from daybreak.core.settings import Settings, get_settings
from daybreak.datasets import load_dataset_config
from daybreak.nights import spark_models
from daybreak.nights.customer_value import (
    MODEL_ID,
    MODEL_KIND,
    load_model,
    read_purchases,
    read_summary,
    retrain_reason,
    score_table,
    train,
)
from daybreak.warehouse import registry
from daybreak.warehouse.connection import connect
from daybreak.warehouse.schemas.predictions import CUSTOMER_VALUE, CUSTOMER_VALUE_CALIBRATION
from daybreak.warehouse.writes import replace_partitions

log = logging.getLogger(__name__)


def run(business_date: dt.date, run_id: str, settings: Settings | None = None) -> dict:
    """Score the customers of `business_date` and replace that date's customer-value rows.

    Returns:
        a summary: customers, whether a challenger was trained and the decision on it, the version that scored,
        the expected purchases and revenue in total, rows written; or `skipped` with the reason.
    """
    settings = settings or get_settings()
    config = load_dataset_config(settings.dataset)
    spec = config.customer_value
    if not spec.enabled:
        log.warning("customer_value %s: skipped, disabled for dataset %s", business_date, config.name)
        return {"skipped": f"customer value disabled for dataset {config.name}"}

    summary: dict = {"as_of_date": business_date.isoformat()}
    with connect(settings.warehouse_path) as connection:
        customers = read_summary(connection, business_date)
        summary["customers"] = len(customers)
        if len(customers) < spec.min_customers:
            reason = (
                f"{len(customers)} customers with a purchase by {business_date}, fewer than min_customers "
                f"{spec.min_customers}"
            )
            log.warning("customer_value %s: skipped, %s", business_date, reason)
            return {**summary, "skipped": reason}
        reference = load_model(
            registry.champion(connection, MODEL_KIND, MODEL_ID, as_of=business_date - dt.timedelta(days=1))
        )
        writes = []
        if (reason := retrain_reason(spec, business_date, reference)) is not None:
            summary["training"], calibration = train(
                connection,
                settings.models_dir,
                spec,
                customers,
                read_purchases(connection, business_date),
                business_date,
                run_id,
                reason,
                reference,
            )
            if calibration is not None:
                writes.append((CUSTOMER_VALUE_CALIBRATION, calibration, "as_of_date", business_date))
        scoring = registry.champion(connection, MODEL_KIND, MODEL_ID, as_of=business_date)
        model = load_model(scoring)
        version = None if scoring is None else scoring["version"]
        if model is None:
            summary["note"] = "no champion yet: no customer scored (see training for why)"
        rows = score_table(
            model,
            customers,
            spec,
            business_date,
            version,
            run_id,
            scorer=spark_models.score_customer_value(settings),
        )
        # the scores and the night's calibration land together or not at all
        summary["rows_written"] = replace_partitions(
            connection, [(CUSTOMER_VALUE, rows, "as_of_date", business_date), *writes]
        )
    if model is not None:
        summary.update(
            model_version=version,
            expected_purchases=round(float(rows["expected_purchases"].sum()), 2),
            expected_revenue=round(float(rows["expected_revenue"].sum()), 2),
        )
    log.debug(
        "customer_value %s: %s", business_date, summary
    )  # the task logs it readably (platform.task_logs)
    return summary
