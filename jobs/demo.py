"""`make demo`: from nothing to a running Daybreak on embedded defaults.

Steps, each timed and each reusing what a previous demo left: simulate the synthetic shop's exports, bulk-load the
history up to seven nights before the end, run the last seven nights through Airflow (`airflow dags test`, a real
Airflow run recorded in its metadata database), then serve the Airflow UI and the Streamlit app until interrupted.
The timings go to `<DAYBREAK_HOME>/demo_timings.json` for `bench/` and docs/benchmarks.md.
"""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
import time

from daybreak import tables
from daybreak.airflow_env import (
    DAG_ID,
    airflow_bin,
    airflow_environment,
    logical_date_for,
    nights_already_run,
)
from daybreak.datasets import load_dataset_config
from daybreak.files import write_json
from daybreak.serving import serve_forever
from daybreak.settings import Settings
from daybreak.simulate import simulate_dataset
from daybreak.warehouse import connect
from jobs.pipeline import landed_days, load_history

log = logging.getLogger(__name__)


def history_loaded(settings: Settings, until: dt.date) -> bool:
    """Whether an earlier demo already scored the history's last night."""
    if not settings.warehouse_path.exists():
        return False
    with connect(settings.warehouse_path, read_only=True) as connection:
        if not tables.exists(connection, "predictions.forecasts"):
            return False
        (count,) = connection.execute(
            "select count(*) from predictions.forecasts where as_of_date = ?", [until]
        ).fetchone()
    return count > 0


def run_demo(settings: Settings, *, nights: int = 7, serve: bool = True) -> int:
    timings: dict[str, float] = {}
    config = load_dataset_config(settings.dataset)
    env = airflow_environment(settings)

    def timed(stage: str, function, *args, **kwargs):
        started = time.perf_counter()
        print(f"==> {stage}", flush=True)
        result = function(*args, **kwargs)
        timings[stage] = round(time.perf_counter() - started, 1)
        print(f"    {stage}: {timings[stage]} s", flush=True)
        return result

    timed("simulate", simulate_dataset, config, settings.landing_dir)
    end = landed_days(settings)[-1]
    history_end = end - dt.timedelta(days=nights)
    if history_loaded(settings, history_end):
        print(f"    history up to {history_end} already loaded", flush=True)
    else:
        timed("load_history", load_history, history_end, settings)

    timed(
        "airflow_db_migrate",
        subprocess.run,
        [airflow_bin(), "db", "migrate"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    done = nights_already_run(env)
    for offset in range(nights, 0, -1):
        day = end - dt.timedelta(days=offset - 1)
        if logical_date_for(day) in done:
            print(f"    night {day} already ran successfully in Airflow", flush=True)
            continue
        timed(
            f"night_{day}",
            subprocess.run,
            [airflow_bin(), "dags", "test", DAG_ID, logical_date_for(day)],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    timings_path = settings.home / "demo_timings.json"
    if set(timings) - {
        "simulate",
        "airflow_db_migrate",
    }:  # keep the figures of the last run that did the work
        write_json(timings_path, {"dataset": config.name, "stages_seconds": timings})
    print(f"\nDaybreak is loaded: warehouse {settings.warehouse_path}, serving copy {settings.serving_path}")
    print(f"stage timings: {timings_path}")
    if not serve:
        return 0
    return serve_forever(settings, env)
