"""
### Daybreak nightly

Each run processes one **business day**: the day its data interval starts on (`data_interval_start`). Scheduled
runs and backfills for logical date D process D; a manual trigger at time T processes the last complete day before
T (Airflow's rule for manual runs of an interval schedule).

The schedule follows the data (`daybreak.platform.schedule`): it starts on the first business day whose export has landed
and ends two days past the last one, so unpausing a DAG whose data ended in the past starts nothing. A run for a day
outside the landed data fails at `ingest`, saying so. Every task retries, except on an error no retry can fix (a day
outside the landed data, a refused dataset config or export, a settings value Daybreak cannot use, a failed night
before, an open day without an export): `night_step` (`daybreak.platform.task_logs`) fails the task at once, its
log ending in a few lines that say what happened and what to do. Each task's log starts with its business date and
ends with what it did, in a few lines.
A failed task (after its retries) and, when `DAYBREAK_NIGHT_DEADLINE_HOURS` is set, a night not finished that
long after it was queued raise an alert through `daybreak.platform.alerts.send` (log, email, webhook).
Every task writes the warehouse, so every task takes the one slot of the `daybreak_warehouse` pool: parallel runs
and overlapping backfills queue instead of contending for DuckDB's single-writer lock.

`previous_night` waits (without holding the writer slot) until the run before this one has finished, and fails
at once if it failed: a night builds on the one before, and a backfill's runs and a scheduled run are limited
separately by Airflow, so a scheduled night can be queued while a backfill still works through the days before it.
`ingest` lands the day's export in the raw lake (failing, and stopping the run, when an open business day has no
export) -> `privacy` carries out the customers' erasure requests made before the day and removes landed files
past the dataset's retention (docs/privacy.md) -> `transform` runs `dbt build` for the day -> `drift` monitors the models' inputs and predictions against
their champions' references and applies the retraining policy -> `retrain_decision` branches: `retrain` runs when
the policy retrains a model for drift or degradation, and is skipped otherwise (the reason is in the branch's log
and return value) -> `forecast`, `segment` and `customer_value` score the day (retraining as decided) -> `publish`
copies the warehouse to the read-only serving file the dashboards open.

Every task writes only its business day's partition or version in one transaction, so a retry, a rerun or a
backfill converges on the same tables. Task bodies live in `jobs/`; run any of them without Airflow:
`daybreak <step> --date YYYY-MM-DD`.
"""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from daybreak.platform.airflow_env import WRITER_POOL
from daybreak.platform.alerts import night_deadline, on_task_failure
from daybreak.platform.schedule import dag_bounds, dag_end, schedule_note
from daybreak.platform.task_failures import say_what_to_do
from daybreak.platform.task_logs import night_step

SERVING_WAREHOUSE = Asset(name="daybreak_serving_warehouse")

DEFAULT_ARGS = {
    "owner": "daybreak",
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "execution_timeout": timedelta(hours=2),
    # the alert, then the failure's explanation as the log's last lines
    "on_failure_callback": [on_task_failure, say_what_to_do],
    "show_return_value_in_logs": False,  # `night_step` logs the summary as readable lines instead
    "pool": WRITER_POOL,
}

# read at each parse: a newly landed export moves the end of the schedule forward
BOUNDS = dag_bounds()


@dag(
    dag_id="daybreak_nightly",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.instance(dt.datetime.combine(BOUNDS.first, dt.time(), dt.UTC)) if BOUNDS else None,
    end_date=pendulum.instance(dt.datetime.combine(dag_end(BOUNDS), dt.time(), dt.UTC)) if BOUNDS else None,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=6),
    deadline=night_deadline(),
    default_args=DEFAULT_ARGS,
    tags=["daybreak", "nightly"],
    doc_md=f"**{schedule_note(BOUNDS)}**\n{__doc__}",  # first: why no run follows an unpause
)
def daybreak_nightly():
    @task.sensor(poke_interval=20, timeout=6 * 3600, mode="reschedule", pool="default_pool")
    @night_step
    def previous_night(ti=None):
        from daybreak.platform.schedule import previous_night_finished

        return previous_night_finished(ti.get_previous_dagrun())

    @task
    @night_step
    def ingest(data_interval_start=None, run_id=None):
        from daybreak.core.settings import get_settings
        from daybreak.platform.schedule import check_business_date
        from jobs.ingest import run

        check_business_date(data_interval_start.date(), get_settings())
        return run(data_interval_start.date(), run_id)

    @task
    @night_step
    def privacy(data_interval_start=None, run_id=None):
        from jobs.privacy import run

        return run(data_interval_start.date(), run_id)

    @task
    @night_step
    def transform(data_interval_start=None, run_id=None):
        from jobs.transform import run

        return run(data_interval_start.date(), run_id)

    @task
    @night_step
    def forecast(data_interval_start=None, run_id=None):
        from jobs.forecast import run

        return run(data_interval_start.date(), run_id)

    @task
    @night_step
    def segment(data_interval_start=None, run_id=None):
        from jobs.segment import run

        return run(data_interval_start.date(), run_id)

    @task
    @night_step
    def customer_value(data_interval_start=None, run_id=None):
        from jobs.customer_value import run

        return run(data_interval_start.date(), run_id)

    @task
    @night_step
    def drift(data_interval_start=None, run_id=None):
        from jobs.drift import run

        return run(data_interval_start.date(), run_id)

    @task.branch
    @night_step
    def retrain_decision(data_interval_start=None):
        from jobs.retrain import retrain_branch

        # the models always follow; `retrain` only when the policy acts (a branch skips what it does not follow)
        return [*retrain_branch(data_interval_start.date()), "forecast", "segment", "customer_value"]

    @task
    @night_step
    def retrain(data_interval_start=None):
        from jobs.retrain import retrain_triggered

        return retrain_triggered(data_interval_start.date())

    @task(outlets=[SERVING_WAREHOUSE])
    @night_step
    def publish(data_interval_start=None, run_id=None):
        from jobs.publish import run

        return run(data_interval_start.date(), run_id)

    decided = previous_night() >> ingest() >> privacy() >> transform() >> drift() >> retrain_decision()
    models = [
        forecast.override(trigger_rule="none_failed")(),
        segment.override(trigger_rule="none_failed")(),
        customer_value.override(trigger_rule="none_failed")(),
    ]
    decided >> retrain() >> models
    decided >> models
    models >> publish()


nightly = daybreak_nightly()
