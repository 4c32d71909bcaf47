"""The retrain decision the nightly DAG branches on, and what its `retrain` task records: reads only.

The `drift` task (`jobs.drift`) writes tonight's decisions to `monitoring.retrain_decisions`; the two small tasks
after it only read them. They live here, apart from the monitoring job, so that their task processes import the
warehouse connection and the retraining policy alone, not monitoring's drift tests, the segmentation models and
scikit-learn that `jobs.drift` needs (about 1.7 s of CPU less at each task's start: docs/benchmarks.md,
"Airflow's share of a night").
"""

from __future__ import annotations

import datetime as dt
import logging

from daybreak.core.settings import Settings, get_settings
from daybreak.nights import retraining
from daybreak.warehouse.connection import connect

log = logging.getLogger(__name__)


def retrain_branch(business_date: dt.date, settings: Settings | None = None) -> list[str]:
    """The DAG's branch: `["retrain"]` when tonight's policy retrains a model for drift or degradation, else `[]`
    (Airflow then shows `retrain` as skipped); the decisions and their reasons go to the log either way."""
    settings = settings or get_settings()
    with connect(settings.warehouse_path, read_only=True) as connection:
        decisions = retraining.decisions(connection, business_date)
    for decision in decisions:
        log.info(
            "retrain decision %s %s: %s (%s): %s",
            business_date,
            decision["model_kind"],
            "retrain" if decision["retrain"] else "no retrain",
            decision["trigger"],
            decision["reason"],
        )
    acting = [d for d in decisions if d["retrain"] and d["trigger"] in ("drift", "degradation")]
    return ["retrain"] if acting else []


def retrain_triggered(business_date: dt.date, settings: Settings | None = None) -> dict:
    """What the `retrain` task records: the kinds monitoring retrains tonight and why (the forecast and segment
    tasks after it read the same decisions and retrain; the promotion gate decides what serves)."""
    settings = settings or get_settings()
    with connect(settings.warehouse_path, read_only=True) as connection:
        decisions = retraining.decisions(connection, business_date)
    acting = {
        d["model_kind"]: d["reason"]
        for d in decisions
        if d["retrain"] and d["trigger"] in ("drift", "degradation")
    }
    log.info("retrain %s: %s", business_date, acting)
    return {"as_of_date": business_date.isoformat(), "retrain": acting}
