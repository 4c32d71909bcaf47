"""Segment customers as of one business date: retrain on schedule behind a promotion gate, score with the champion.

Night D reads D's snapshot of `marts.features_customer_asof` (the configured feature columns; the mart may have
more). On a retrain night (the dataset's `segmentation.retrain` schedule; also when there is no champion yet, or
the configured features or algorithm no longer match the champion's) a challenger is fitted with the champion
of the night before as its reference, so segments keep their ids and names; it is registered in the model
registry (`model_kind` `segmentation`, `model_id` `customers`, version D) with its silhouette and its stability
against the champion, and promoted only if it passes the gate. Then the champion as of D scores every customer
(on Spark's executors, by partitions of customers, when the engine is Spark: `daybreak.nights.spark_models`), and three
partitions for D are replaced:

* `predictions.customer_segments`: one row per customer (segment id and name, distance, probability).
* `predictions.segment_profiles`: per segment and feature, size, revenue share, mean and median against all.
* `predictions.segment_transitions`: customers per (segment on the previous scored date, segment on D).

Rerunning a night reproduces it: the reference is the champion of the day before D (which a decision taken on D
cannot change), the fit is seeded, the registry skips what it already recorded, and a decision already taken for
D's version stands. A backfill of a night earlier than the registry's latest decision registers its challenger
but leaves the champion history after it alone.

Datasets without customers (segmentation disabled in their config) are skipped, which is not an error.
"""

from __future__ import annotations

import datetime as dt
import logging

from daybreak.core.settings import Settings, get_settings
from daybreak.datasets import load_dataset_config
from daybreak.nights import references, retraining, spark_models
from daybreak.nights.segment import (
    MODEL_ID,
    MODEL_KIND,
    load_model,
    read_features,
    retrain_reason,
    score_tables,
    scoring_version,
    train,
)
from daybreak.warehouse import registry
from daybreak.warehouse.connection import connect
from daybreak.warehouse.writes import replace_partitions

log = logging.getLogger(__name__)


def run(business_date: dt.date, run_id: str, settings: Settings | None = None) -> dict:
    """Segment the customers of `business_date` and replace that date's rows of the three segment tables.

    Returns:
        a summary: customers, whether a challenger was trained and the decision on it, the version that scored,
        segment sizes, new and vanished segments, rows written; or `skipped` with the reason when the dataset has
        segmentation turned off.
    """
    settings = settings or get_settings()
    config = load_dataset_config(settings.dataset)
    spec = config.segmentation
    if not spec.enabled:
        log.warning(
            "segment %s: skipped, segmentation is disabled for dataset %s", business_date, config.name
        )
        return {"skipped": f"segmentation disabled for dataset {config.name}"}

    summary: dict = {"as_of_date": business_date.isoformat()}
    with connect(settings.warehouse_path) as connection:
        features = read_features(connection, spec, business_date)
        summary["customers"] = len(features)
        if features.empty:
            summary["note"] = f"no customers with a purchase on or before {business_date}: nothing to segment"
            model, version = None, None
        else:
            reference = registry.champion(
                connection, MODEL_KIND, MODEL_ID, as_of=business_date - dt.timedelta(days=1)
            )
            reference_model = load_model(reference)
            triggered = retraining.triggered(connection, MODEL_KIND, business_date)
            reason = retrain_reason(spec, business_date, reference_model, triggered)
            if reason is not None:
                summary["training"] = train(
                    connection,
                    settings.models_dir,
                    spec,
                    features,
                    business_date,
                    run_id,
                    reference,
                    reference_model,
                    reason,
                    monitoring=config.monitoring,
                    references_dir=references.directory(settings),
                )
            scoring = scoring_version(connection, business_date)
            version = scoring["version"]
            model = load_model(scoring)
        frames, sizes = score_tables(
            connection,
            features,
            model,
            spec,
            business_date,
            version,
            run_id,
            assign=spark_models.assign_segments(settings),
        )
        # the three tables land together or not at all
        written = replace_partitions(
            connection, [(table, frame, "as_of_date", business_date) for table, frame in frames.items()]
        )
    if model is not None:
        summary.update(model_version=version, segments=sizes)
    summary["rows_written"] = written
    log.debug("segment %s: %s", business_date, summary)  # the task logs it readably (platform.task_logs)
    return summary
