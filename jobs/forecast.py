"""Forecast every series of the dataset as of one business date: retrain on schedule, else the champion scores.

Reads `marts.features_series_daily` up to and including the business date D (summed into the dataset's weeks or
months when it is weekly or monthly; an hourly dataset reads `marts.features_series_hourly`), the calendar from
`marts.dim_calendar`, and the model registry as it stood going into the night (champions as of D - 1). A weekly
or monthly dataset is forecast only on the night that closes a period (its closing business day,
`daybreak.models.periods`); on the other nights the job records that nothing was due and writes nothing, and the
retrain schedule's and monitoring's retrain nights since the previous close are acted on when the period closes.
On a retrain night (the config's schedule, `--retrain`, or a series with no champion yet) every candidate is
backtested and the winner is registered as version D and promoted only if it beats the champion on the same
backtest by the configured margin; on other nights each champion scores, a Prophet one from its stored fit
(`forecasting.normal_night`), the others refit on the new data.

Writes, in one transaction, D's rows of `predictions.forecasts` (reconciled so that every parent series is the
sum of its children, then the planners' overrides applied), `predictions.forecast_components`,
`predictions.backtest_metrics`, `predictions.forecast_selection` and `predictions.forecast_reconciliation`;
earlier nights' rows are never touched. The dbt views `predictions.forecast_accuracy` and
`predictions.forecasts_latest` read them. The per-series work is pure (`daybreak.models.forecasting`,
`daybreak.models.reconciliation`), on Spark's executors when the engine is Spark (`daybreak.nights.spark_models`); the
night's inputs are assembled in `daybreak.nights.forecast`, its outputs in `daybreak.nights.forecast_outputs`.

Rerunning D reproduces D's rows exactly: the champion going in is read as of D - 1, and a promotion decision
already recorded for version D is reused rather than made again (so no duplicate audit rows either).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging

import numpy as np

from daybreak.core.files import write_json
from daybreak.core.settings import Settings, get_settings
from daybreak.datasets import load_dataset_config
from daybreak.models import DEFAULT_SEED
from daybreak.models.forecasting.pool import run_all
from daybreak.models.periods import to_periods
from daybreak.nights import forecast as night
from daybreak.nights import forecast_outputs as outputs
from daybreak.nights import overrides, spark_models
from daybreak.warehouse.connection import connect
from daybreak.warehouse.writes import replace_partitions

log = logging.getLogger(__name__)


def run(
    business_date: dt.date,
    run_id: str,
    settings: Settings | None = None,
    *,
    retrain: bool = False,
    max_workers: int | None = None,
) -> dict:
    """Forecast all series as of `business_date`; retrain when the schedule says so or `retrain` is set.

    Args:
        retrain: retrain every series tonight whatever the schedule (on demand; `retrain_now` is the entry point
            drift monitoring calls).
        max_workers: worker processes (default: every core); with `DAYBREAK_ENGINE=spark` the series run on
            Spark's executors instead (`daybreak.nights.spark_models`), the fits across all series still here.

    Returns:
        a summary: rows written, series, how many were retrained, promoted, kept, fell back, by model.
    """
    settings = settings or get_settings()
    config = load_dataset_config(settings.dataset)
    spec, forecasting = config.series, config.forecasting
    calendar = night.read_calendar(settings)
    cadence = night.cadence(config, calendar, business_date)
    if not cadence.due:
        return _nothing_due(business_date, spec, cadence)
    version = business_date.isoformat()
    scheduled = any(forecasting.is_retrain_day(day) for day in cadence.nights)
    triggered = night.retrain_trigger(settings, business_date, cadence.since)

    history = night.read_history(settings, business_date, spec.target, spec.frequency)
    periods, origin = to_periods(
        history,
        frequency=spec.frequency,
        as_of=business_date,
        week_ends_on=spec.week_ends_on,
        closed=cadence.closed,
    )
    context = night.series_context(config, calendar, origin)
    state = night.registry_state(settings, business_date, version)
    tasks = night.series_tasks(
        periods,
        origin,
        context,
        forecasting.options(spec.horizon),
        state,
        business_date,
        retrain or scheduled or triggered is not None,
    )
    results = run_all(tasks, max_workers=max_workers, map_series=spark_models.map_series(settings))
    decisions = list(zip(tasks, results, strict=True))

    with connect(settings.warehouse_path) as connection:
        reason = triggered or ("on demand" if retrain else f"scheduled ({forecasting.retrain} retrain)")
        outputs.record(
            connection,
            settings,
            decisions,
            business_date,
            version,
            run_id,
            reason=reason,
            monitoring=config.monitoring,
            daily=night.daily_values(history),
        )
        frames = outputs.tables(
            decisions, business_date, version, spec.target, run_id, frequency=spec.frequency
        )
        hierarchy = outputs.reconcile(
            connection, frames, decisions, periods, config, context, business_date, run_id
        )
        planned = outputs.apply_overrides(settings, frames, business_date, run_id, hierarchy)
        written = replace_partitions(
            connection, [(table, frame, "as_of_date", business_date) for table, frame in frames.items()]
        )
        overrides.ingest(connection, planned)

    selection = frames[night.SELECTION_TABLE]
    manifest = {
        "as_of_date": business_date.isoformat(),
        "dataset": config.name,
        "target": spec.target,
        "frequency": spec.frequency,
        "week_ends_on": spec.week_ends_on,
        "horizon": spec.horizon,
        "origin": origin.isoformat() if spec.frequency == "hourly" else origin.date().isoformat(),
        "history_start": periods["ds"].min().date().isoformat() if len(periods) else None,
        "seed": DEFAULT_SEED,
        "scheduled_retrain": scheduled,
        "forced_retrain": retrain,
        "monitoring_retrain": triggered,
        "forecasting": json.loads(json.dumps(dataclasses.asdict(forecasting), default=str)),
        "models": dict(zip(selection["series_id"], selection["scoring_model"], strict=True)),
        "reconciliation": _chosen(frames[night.RECONCILIATION_TABLE]),
    }
    manifest_path = settings.models_dir / night.MODEL_KIND / business_date.isoformat() / "params.json"
    write_json(manifest_path, manifest)

    summary = {
        "as_of_date": business_date.isoformat(),
        "due": True,
        "frequency": spec.frequency,
        "rows_written": written[night.TABLE],
        "overridden_rows": int(frames[night.TABLE]["override_id"].notna().sum()),
        "series": len(results),
        "retrained": int(selection["retrained"].sum()),
        "promoted": int((selection["decision"] == "promote").sum()),
        "rejected": int((selection["decision"] == "reject").sum()),
        "fallbacks": int(selection["fallback_reason"].notna().sum()),
        "models": {k: int(v) for k, v in selection["scoring_model"].value_counts().sort_index().items()},
        "target": spec.target,
        "horizon": spec.horizon,
        "params_path": str(manifest_path),
        "fit_seconds": round(float(np.sum([r.seconds for r in results])), 2),
        "reconciliation": _chosen(frames[night.RECONCILIATION_TABLE]),
    }
    log.debug("forecast %s: %s", business_date, summary)  # the task logs it readably (platform.task_logs)
    return summary


def _nothing_due(business_date: dt.date, spec, cadence: night.Cadence) -> dict:
    """The night's record when it closes no period: nothing is read, trained, registered or written."""
    summary = {
        "as_of_date": business_date.isoformat(),
        "due": False,
        "frequency": spec.frequency,
        "period_closes_on": cadence.closes_on.isoformat(),
        "rows_written": 0,
        "series": 0,
    }
    log.info("forecast %s: nothing due until %s (%s)", business_date, cadence.closes_on, spec.frequency)
    return summary


def _chosen(choices) -> str | None:
    """The reconciliation method the night published (None: the series form no hierarchy)."""
    chosen = choices.loc[choices["chosen"].fillna(False).astype(bool), "method"]
    return str(chosen.iloc[0]) if len(chosen) else None


def retrain_now(business_date: dt.date, run_id: str, settings: Settings | None = None) -> dict:
    """Retrain every series for `business_date` now, whatever the schedule: the on-demand entry point.

    Drift monitoring calls this when the data has moved; engineers reach it as `daybreak forecast --date D
    --retrain`. A rerun of the same date without the flag still retrains (the registry shows version D exists).
    On a night that closes no period of a weekly or monthly dataset nothing is due, so nothing is retrained; the
    night that closes the period retrains on monitoring's decision (`Cadence.since`).
    """
    return run(business_date, run_id, settings, retrain=True)
