"""The night's monitoring: do the models' inputs and outputs still look like what they learned from?

Runs after dbt and before the models, against the champions going into the night (as of D - 1), and reads (one
module each in this package):

* **inputs** (`inputs`): the customer features of D (`marts.features_customer_asof`) against the segmentation
  champion's reference, and each series' last `monitoring.current_days` values (`marts.features_series_daily`)
  against its forecast champion's reference (`daybreak.nights.references`, stored when each was promoted);
* **predictions** (`predictions`): the segment mix and the forecasts' level and width of the latest night before D
  against those of the night the champions were promoted;
* **data quality** (`quality`) of D's sales lines: missing values, values outside the reference window's range,
  and locations or products never seen before;
* **forecast health** (`marts.fct_forecast_health`, dbt): the rolling error against the backtest error.

Each finding names the champion version and reference window it compared with (`findings`). This module holds
the night itself: the retrain decision per model kind, the alert that starts an event, and the reports' HTML.

`nightly` returns the night's rows of `monitoring.drift_metrics`, `monitoring.data_quality`, `monitoring.reports`
and `monitoring.retrain_decisions` (every row naming the model version and reference window it compared with), what
each check's Evidently report is made of, and the alerts to send; `jobs.drift` writes them. The rows need only the
checks' distances, so the night runs no Evidently report: `write_reports` renders a night's reports when they are
asked for (an Evidently report and its HTML cost seconds a check, most of a night's monitoring before). The drift
tests are pure (`daybreak.models.drift`), the policy too (`daybreak.nights.retraining.policy`).
"""

from __future__ import annotations

import datetime as dt
import html
from typing import TYPE_CHECKING

from daybreak.core.files import write_text_atomic
from daybreak.models.drift import ReportInputs, render
from daybreak.nights import retraining
from daybreak.nights.monitoring.findings import Night
from daybreak.nights.monitoring.inputs import forecast_inputs, segmentation_inputs
from daybreak.nights.monitoring.predictions import prediction_drift
from daybreak.nights.monitoring.quality import day_quality
from daybreak.warehouse import tables
from daybreak.warehouse.connection import connect

if TYPE_CHECKING:
    from pathlib import Path

    import duckdb
    import pandas as pd

    from daybreak.core.settings import Settings
    from daybreak.datasets import DatasetConfig

DECISIONS = retraining.TABLE


def nightly(connection: duckdb.DuckDBPyConnection, config: DatasetConfig, business_date: dt.date) -> Night:
    """Monitor night D (read-only): drift of inputs and predictions, data quality, health, the retrain decisions."""
    night = Night()
    timestamp = dt.datetime.combine(business_date, dt.time())
    as_of = business_date - dt.timedelta(days=1)
    inputs: dict[str, pd.DataFrame] = {}
    if config.segmentation.enabled:
        inputs["segmentation"] = segmentation_inputs(
            connection, config, business_date, as_of, timestamp, night
        )
    inputs["forecast"] = forecast_inputs(connection, config, business_date, as_of, timestamp, night)
    prediction_drift(connection, business_date, as_of, timestamp, night)
    day_quality(connection, config, business_date, timestamp, night)
    health = _health(connection, business_date)
    for kind, rows in inputs.items():
        scheduled = (
            config.forecasting.is_retrain_day(business_date)
            if kind == "forecast"
            else config.segmentation.is_retrain_day(business_date)
        )
        compared = rows[rows["scope"] == "inputs"] if len(rows) else rows
        drifted = list(compared.loc[compared["drifted"], "feature"]) if len(compared) else []
        ratio = None
        if kind == "forecast" and health is not None and health["scored"] >= config.retraining.min_scored:
            ratio = health["error_ratio"]
        decision = retraining.policy(
            kind,
            config.retraining,
            share_drifted=len(drifted) / len(compared) if len(compared) else None,
            drifted=drifted,
            error_ratio=ratio,
            scheduled=scheduled,
        )
        decision.update(
            model_kind=kind,
            share_drifted=len(drifted) / len(compared) if len(compared) else None,
            error_ratio=ratio,
        )
        # one message per event: on the night it starts; the nights it goes on retrain without a new alert
        since = _since(connection, kind, business_date)
        decision["alerted"] = decision["trigger"] in ("drift", "degradation") and since == business_date
        if decision["alerted"]:
            night.alerts.append(alert_text(config.name, business_date, decision, compared, since))
        night.decisions.append(decision)
    return night


def report_path(settings: Settings, business_date: dt.date, name: str) -> Path:
    """Where night D's report `name` is written: `reports/<dataset>/monitoring/<D>/<name>.html`."""
    return settings.reports_dir / "monitoring" / business_date.isoformat() / f"{name}.html"


def write_reports(
    settings: Settings, config: DatasetConfig, business_date: dt.date, names: set[str] | None = None
) -> dict[str, Path]:
    """Render night D's Evidently reports (those in `names`, or all) and write them where `monitoring.reports`
    names them. On demand: the night's checks are recomputed from the warehouse (read-only, deterministic), so the
    reports show the numbers of the night's rows without the night paying for them.

    Returns:
        report name -> the HTML file written.
    """
    with connect(settings.warehouse_path, read_only=True) as connection:
        night = nightly(connection, config, business_date)
    return {
        name: write_text_atomic(report_path(settings, business_date, name), report_html(inputs, meta))
        for name, (inputs, meta) in sorted(night.reports.items())
        if names is None or name in names
    }


def report_html(inputs: ReportInputs, meta: dict[str, str]) -> str:
    """The check's Evidently report (run here) as HTML, with a heading naming the model kind, version and reference
    window it compared with (Evidently keeps metadata in the snapshot but does not show it)."""
    heading = " | ".join(f"{key.replace('_', ' ')}: {html.escape(str(value))}" for key, value in meta.items())
    page = render(inputs).get_html_str(as_iframe=False)
    banner = (
        f'<div style="font-family:sans-serif;padding:8px 16px"><b>Daybreak monitoring</b> | {heading}</div>'
    )
    return page.replace("<body>", "<body>" + banner, 1)


def alert_text(
    dataset: str, business_date: dt.date, decision: dict, compared: pd.DataFrame, since: dt.date
) -> str:
    """One clear message: what drifted or degraded, how much, since when, and what was done."""
    worst = compared[compared["drifted"]].sort_values("statistic", ascending=False).head(5)
    detail = "; ".join(
        f"{row.feature} {row.test} {row.statistic:.2f} >= {row.threshold:g} (champion {row.model_version}, "
        f"reference {row.reference_start}..{row.reference_end})"
        for row in worst.itertuples(index=False)
    )
    return (
        f"Daybreak {dataset} {business_date}: {decision['model_kind']} {decision['trigger']} since {since}. "
        f"{decision['reason']}."
        + (f" Worst: {detail}." if detail else "")
        + f" Action: retraining the {decision['model_kind']} models tonight; the promotion gate decides what serves."
    )


def _since(connection: duckdb.DuckDBPyConnection, kind: str, business_date: dt.date) -> dt.date:
    """The first night of the run of consecutive nights, ending tonight, on which the kind drifted or degraded."""
    if not tables.exists(connection, DECISIONS.qualified):
        return business_date
    flagged = {
        row[0]
        for row in connection.execute(
            f"select as_of_date from {DECISIONS.qualified} where model_kind = ? and as_of_date < ? "  # noqa: S608
            "and trigger in ('drift', 'degradation')",
            [kind, business_date],
        ).fetchall()
    }
    since = business_date
    while since - dt.timedelta(days=1) in flagged:
        since -= dt.timedelta(days=1)
    return since


def _health(connection, business_date: dt.date) -> dict | None:
    """The overall row of `marts.fct_forecast_health` for D, or None when there is none yet."""
    if not tables.exists(connection, "marts.fct_forecast_health"):
        return None
    frame = connection.execute(
        "select scored, error_ratio from marts.fct_forecast_health where series_id = 'overall' "
        "and as_of_date = ? and error_ratio is not null",
        [business_date],
    ).df()
    return None if frame.empty else frame.iloc[0].to_dict()
