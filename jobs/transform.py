"""Run the dbt project for one business date: staging views, then marts incremental on that date.

dbt runs in this process (`daybreak.nights.dbt_invocation`: its imports paid once, not per night) and waits for
the warehouse as the Python jobs do (`invoke_dbt`): dbt-duckdb fails at once on a file another process has open.
The dataset config becomes dbt vars.

`DAYBREAK_ENGINE=spark` builds the same models with dbt-spark (`settings.dbt_target`): the declared tables the
Python jobs wrote are first exported to Parquet and registered in Spark's catalog, and the mart tables it built are
then published to the DuckDB warehouse as views over their Parquet, which the jobs after it read, with the views
over the predictions built there by dbt-duckdb (`daybreak.nights.spark`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import sys
import time
from pathlib import Path

from daybreak.core.environment import read
from daybreak.core.settings import Settings, get_settings
from daybreak.datasets import DatasetConfig, load_dataset_config
from daybreak.datasets.calendar import BusinessCalendar
from daybreak.ingest.accounting import mark_rebuilt, rebuild_from
from daybreak.nights import dbt_invocation, spark
from daybreak.warehouse.calendar_days import write_calendar_days
from daybreak.warehouse.connection import (
    LOCK_WAIT_SECONDS,
    connect,
    is_lock_conflict,
    retry_while_locked,
    wait_for_warehouse,
)

log = logging.getLogger(__name__)


class TransformError(RuntimeError):
    """dbt build failed; the message carries dbt's own summary of what failed."""


def dbt_vars(config: DatasetConfig) -> dict:
    """The dataset config as dbt vars: the same every night, so dbt's partial parsing survives from night to night."""
    classification = config.classification
    return {
        "series_keys": list(config.series.keys),
        "series_include": {key: list(values) for key, values in config.series.include.items()},
        "series_frequency": config.series.frequency,
        "series_week_ends_on": config.series.week_ends_on,
        "return_order_prefix": classification.return_order_prefix,
        "negative_quantities": classification.negative_quantities,
        "non_product_codes": dict(classification.non_product_codes),
        "non_product_patterns": [list(pair) for pair in classification.non_product_patterns],
    }


NIGHT_ONLY = ["--exclude-resource-type", "unit_test", "--exclude", "source:*,test_type:generic"]
"""Left to a full refresh and CI: the SQL's unit tests (they check code, not data) and the generic tests on the tables
Python writes (`Table.check` applies them to each write); 102 of a night's 212 dbt nodes."""
THRIFT_SERVER = ("DAYBREAK_SPARK_HOST", "DAYBREAK_SPARK_PORT", "DAYBREAK_SPARK_USER")


def dbt_command(
    settings: Settings,
    args: list[str],
    run_date: dt.date | None = None,
    stale_from: dt.date | None = None,
    target_dir: Path | None = None,
) -> tuple[list[str], dict[str, str]]:
    """dbt's command line and environment: the night's date and first day to rebuild (None: the run date) go in
    the environment, not as vars, so dbt's partial parsing survives from night to night; always set, never leaked."""
    executable = Path(sys.executable).with_name("dbt")
    options = {
        "--project-dir": settings.dbt_project_dir,
        "--profiles-dir": settings.dbt_project_dir,
        "--target-path": target_dir or settings.dbt_target_dir,
        "--log-path": settings.dbt_target_dir.parent / "logs",
        "--target": settings.dbt_target,
    }
    command = [str(executable), *args, *(str(part) for option in options.items() for part in option)]
    env = {
        **os.environ,
        "DAYBREAK_WAREHOUSE_PATH": str(settings.warehouse_path),
        "DAYBREAK_HOME": str(settings.home),  # where relative paths in the warehouse (the lake's) start from
        **{name: read(name) or "" for name in THRIFT_SERVER},  # as set: profiles.yml has no default
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DAYBREAK_RUN_DATE": run_date.isoformat() if run_date else "",
        "DAYBREAK_REBUILD_FROM": stale_from.isoformat() if stale_from else "",
        **spark.dbt_env(settings),
    }
    return command, env


def invoke_dbt(
    settings: Settings,
    args: list[str],
    business_date: dt.date,
    *,
    stale_from: dt.date | None = None,
    wait_seconds: float = LOCK_WAIT_SECONDS,
    target_dir: Path | None = None,
) -> str:
    """Run dbt for the night of `business_date` (rebuilding from `stale_from`), waiting for the warehouse like
    every other writer; returns dbt's output.

    dbt-duckdb opens the file itself and fails at once while another process has it open, even read-only. So
    the job first waits for the file through `connect` (the Python jobs' waiting policy), then runs dbt; if
    another process took the file in between, dbt's lock error sends it back to waiting, within the same
    `wait_seconds` (a build is idempotent for its night, so running it again is safe). On Spark dbt runs at once.

    Raises:
        TransformError: dbt failed (with dbt's failures), or the warehouse stayed locked for `wait_seconds`.
    """
    command, env = dbt_command(settings, args, business_date, stale_from, target_dir)
    if settings.engine == "spark":  # no DuckDB file to wait for; the Spark session's JVM stays out of here
        return _run_dbt(command, env, business_date, in_process=False)
    deadline = time.monotonic() + wait_seconds

    def attempt() -> str:
        wait_for_warehouse(settings.warehouse_path, max(deadline - time.monotonic(), 0.0))
        return _run_dbt(command, env, business_date)

    return retry_while_locked(
        attempt, wait_seconds=wait_seconds, waiting_for=f"the warehouse {settings.warehouse_path}"
    )


def _run_dbt(command: list[str], env: dict[str, str], day: dt.date, *, in_process: bool = True) -> str:
    step = command[1]  # build, run, docs, source
    log.info("running %s", " ".join(command))
    if in_process:  # a build's or run's manifest.json has no reader: only its run_results.json is written
        succeeded, output = dbt_invocation.run_in_process(command, env, results_only=step in ("build", "run"))
    else:
        succeeded, output = dbt_invocation.run_subprocess(command, env)
    if not succeeded and is_lock_conflict(output):
        # another process took the file after `wait_for_warehouse`: a wait (logged in one line), not dbt's failure
        conflict = next(line for line in [*output.splitlines(), output] if is_lock_conflict(line))
        raise TransformError(f"dbt {step} found the warehouse locked: {conflict.strip()}")
    for line in output.splitlines():
        log.info("dbt | %s", line)
    if not succeeded:
        lines = output.splitlines()
        failures = [line for line in lines if "ERROR" in line or "FAIL" in line or is_lock_conflict(line)]
        tail = "\n".join(failures or lines[-20:])[-4000:]
        raise TransformError(f"dbt {step} for run_date {day} failed:\n{tail}")
    return output


def run(
    business_date: dt.date, run_id: str, settings: Settings | None = None, *, full_refresh: bool = False
) -> dict:
    """`dbt build` with `run_date = business_date`; `full_refresh` rebuilds the incremental marts from all history.

    Raises:
        TransformError: a model or test failed (dbt's output is in the log above the error).
    """
    settings = settings or get_settings()
    config = load_dataset_config(settings.dataset)
    stale_from = None if full_refresh else rebuild_from(settings, business_date)
    if stale_from:
        log.info("late files made %s and later stale: rebuilding the marts from %s", stale_from, stale_from)
    with connect(settings.warehouse_path) as connection:
        write_calendar_days(connection, BusinessCalendar.from_config(config), business_date, run_id)
    args = ["build", "--vars", json.dumps({**dbt_vars(config), **spark.dbt_vars(settings)})]
    # a full refresh also tests whole tables, not only the night's partitions (dbt_project/macros/test_scope.sql)
    args += ["--full-refresh"] if full_refresh else NIGHT_ONLY
    invoke_dbt(settings, args, business_date, stale_from=stale_from)
    if spark.publish_marts(settings):  # on Spark, the jobs after this one read the marts it built
        build_duckdb_views(settings, business_date, stale_from)
    mark_rebuilt(settings, business_date)
    # the task log already states the build in figures: dbt's own "Done. PASS=.. WARN=.. ERROR=.. TOTAL=.." line
    return {
        "business_date": business_date.isoformat(),
        "full_refresh": full_refresh,
        "rebuilt_from": stale_from.isoformat() if stale_from else None,
        "run_id": run_id,
    }


def build_duckdb_views(settings: Settings, business_date: dt.date, stale_from: dt.date | None = None) -> None:
    """After a Spark build: dbt-duckdb builds the views DuckDB's readers need besides the published marts
    (`spark.DUCKDB_VIEWS`), in the DuckDB warehouse."""
    config = load_dataset_config(settings.dataset)
    args = ["run", "--select", spark.DUCKDB_VIEWS, "--vars", json.dumps(dbt_vars(config))]
    invoke_dbt(dataclasses.replace(settings, engine="duckdb"), args, business_date, stale_from=stale_from)


def check_freshness(settings: Settings | None = None) -> str:
    """`dbt source freshness`: has ingest landed a file recently, by the wall clock (an operator's check)?

    Raises:
        TransformError: a source is past its error_after threshold (see dbt_project/models/staging).
    """
    settings = settings or get_settings()
    today = dt.date.today()  # freshness is about the clock by definition; the date only labels the log
    return invoke_dbt(settings, ["source", "freshness"], today)
