"""The night's monitoring, before the models run: drift, data quality, forecast health and the retrain decisions.

Two parts. The sales lines of the last days against the weeks before them (`daybreak.nights.drift`): the Evidently
report goes to `reports/<dataset>/drift/<date>.html` and its summary to one row of `monitoring.drift_summary` (at
the start of history a window can be empty; then the row says so and the night goes on). And the models' own
monitoring (`daybreak.nights.monitoring`): inputs and predictions against each champion's reference, the day's data
quality, the retraining policy's decision per model kind and, for a drift or degradation, one alert
(`daybreak.platform.alerts.send`). Its reports go to `reports/<dataset>/monitoring/<date>/<report>.html`, named in
`monitoring.reports`; its rows to `monitoring.drift_metrics`, `monitoring.data_quality` and
`monitoring.retrain_decisions`, all of D's partitions replaced in one transaction.
"""

from __future__ import annotations

import datetime as dt
import logging

import pandas as pd

from daybreak.core.files import write_text_atomic
from daybreak.core.settings import Settings, get_settings
from daybreak.datasets import load_dataset_config
from daybreak.nights import monitoring
from daybreak.nights.drift import TABLE, compare, summary_row
from daybreak.platform import alerts
from daybreak.warehouse.connection import connect
from daybreak.warehouse.schemas.monitoring import DATA_QUALITY, DRIFT_METRICS, REPORTS
from daybreak.warehouse.writes import replace_partition, replace_partitions

log = logging.getLogger(__name__)


def run(business_date: dt.date, run_id: str, settings: Settings | None = None) -> dict:
    """Compare the current window with the reference window and record the summary for `business_date`.

    Returns:
        a summary: the windows, lines in each (and how many were sampled), the drift numbers, the report path;
        `empty_window` names the empty window(s) when there was nothing to compare.
    """
    settings = settings or get_settings()
    config = load_dataset_config(settings.dataset)
    result, snapshot = compare(
        settings.warehouse_path, business_date, config.drift_reference_days, config.drift_current_days
    )
    report_path = settings.reports_dir / "drift" / f"{business_date.isoformat()}.html"
    if snapshot is None:
        report_path.unlink(missing_ok=True)  # a report from an earlier run of this date no longer holds
        report = None
    else:
        report = str(write_text_atomic(report_path, snapshot.get_html_str(as_iframe=False)))
    frame = summary_row(result, report_path=report, run_id=run_id)
    with connect(settings.warehouse_path) as connection:
        written = replace_partition(
            connection, TABLE, frame, key_column="as_of_date", key_value=business_date
        )
    log.info(
        "drift %s: %s of %s columns drifted (%s lines vs %s)",
        business_date,
        result["n_drifted_columns"],
        result["n_columns"],
        result["current_rows"],
        result["reference_rows"],
    )
    monitored = monitor(business_date, run_id, settings, config)
    return {**result, "report_path": report, "rows_written": written, "monitoring": monitored}


def monitor(business_date: dt.date, run_id: str, settings: Settings, config) -> dict:
    """Monitor the models for `business_date`, write the reports and rows, send the alerts.

    Returns:
        the retrain decisions (per model kind: retrain, trigger, reason), drifted features, failed quality checks,
        the report paths and the alerts sent.
    """
    with connect(settings.warehouse_path, read_only=True) as connection:
        night = monitoring.nightly(connection, config, business_date)
    # a report rendered after an earlier run of this date shows that run's numbers: it is rendered again when asked
    for stale in monitoring.report_path(settings, business_date, "any").parent.glob("*.html"):
        stale.unlink()
    reports = []
    for name, (_, meta) in sorted(night.reports.items()):
        start, _, end = meta["reference_window"].partition("..")
        reports.append(
            {
                "report": name,
                "model_kind": meta.get("model_kind"),
                "model_version": meta["model_version"],
                "reference_start": start,
                "reference_end": end,
                # written when asked for (monitoring.write_reports): the rows above need no report
                "path": str(monitoring.report_path(settings, business_date, name)),
            }
        )
    for text in night.alerts:
        alerts.send({"text": text})
    stamp = {"as_of_date": business_date, "run_id": run_id}
    found = [frame for frame in night.drift if len(frame)]
    drift = pd.concat(found, ignore_index=True) if found else None
    frames = {
        DRIFT_METRICS: drift.assign(**stamp) if drift is not None and len(drift) else None,
        DATA_QUALITY: night.quality.assign(**stamp) if night.quality is not None else None,
        REPORTS: pd.DataFrame(reports).assign(**stamp) if reports else None,
        monitoring.DECISIONS: pd.DataFrame(night.decisions).assign(**stamp) if night.decisions else None,
    }
    with connect(settings.warehouse_path) as connection:
        written = replace_partitions(
            connection,
            [
                (table, frame if frame is not None else table.empty(), "as_of_date", business_date)
                for table, frame in frames.items()
            ],
        )
    failed = night.quality[~night.quality["passed"]] if night.quality is not None else None
    summary = {
        "decisions": [
            {k: d[k] for k in ("model_kind", "retrain", "trigger", "reason")} for d in night.decisions
        ],
        "drifted": sorted(drift.loc[drift["drifted"], "feature"]) if drift is not None and len(drift) else [],
        "quality_failed": []
        if failed is None
        else [f"{r.check_name}:{r.column_name}" for r in failed.itertuples()],
        "reports": {r["report"]: r["path"] for r in reports},
        "alerts": night.alerts,
        "rows_written": written,
    }
    log.info(
        "monitoring %s: %s",
        business_date,
        {k: summary[k] for k in ("decisions", "drifted", "quality_failed")},
    )
    return summary
