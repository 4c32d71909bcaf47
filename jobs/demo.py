"""`make demo`: from nothing to a running Daybreak on embedded defaults.

Steps, each timed and each reusing what a previous demo left: simulate the synthetic shop's exports, bulk-load the
history up to seven nights before the end, start Airflow (scheduler, dag-processor, triggerer and api-server, on
127.0.0.1: `daybreak.platform.serving.start_airflow`), and run the last seven nights as a backfill created through Airflow's REST API: the
scheduler runs them one after another, and the UI lists them as backfill runs with their true durations. Then the
Streamlit app joins the running Airflow until interrupted (with SERVE=0 Airflow stops instead). The DAG is
unpaused for the backfill; its schedule ends on the last landed day (`daybreak.platform.schedule`), so no run for today
starts. A fresh data home gets its privacy keys generated first (`daybreak.privacy.local_keys`). The timings go to
`<DAYBREAK_HOME>/demo_timings.json` for `bench/` and docs/benchmarks.md.

The demo has one local user, who should see everything the dashboards offer: when the data home has no roles file
yet, the demo writes one making that user (`DAYBREAK_USER` or the OS user) an admin (`daybreak.core.roles`); an
existing roles file is left as it is.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time

from daybreak.core import roles
from daybreak.core.files import write_json
from daybreak.core.settings import Settings
from daybreak.datasets import load_dataset_config
from daybreak.ingest.simulation import simulate_dataset
from daybreak.platform.airflow_api import AirflowApi, business_date_of
from daybreak.platform.airflow_env import DAG_ID, airflow_environment, prepare_metadata
from daybreak.platform.serving import (
    airflow_url,
    choose_api_port,
    demo_lock,
    serve_forever,
    start_airflow,
    stop,
    wait_for_password,
)
from daybreak.privacy.local_keys import ensure_local_keys
from daybreak.warehouse import tables
from daybreak.warehouse.connection import connect
from daybreak.warehouse.schemas.predictions import FORECASTS
from jobs.pipeline import landed_days, load_history

log = logging.getLogger(__name__)


def history_loaded(settings: Settings, until: dt.date) -> bool:
    """Whether an earlier demo already scored the history's last night."""
    if not settings.warehouse_path.exists():
        return False
    with connect(settings.warehouse_path, read_only=True) as connection:
        if not tables.exists(connection, FORECASTS.qualified):
            return False
        (count,) = connection.execute(
            f"select count(*) from {FORECASTS.qualified} where as_of_date = ?",  # noqa: S608 - a declared name
            [until],
        ).fetchone()
    return count > 0


def run_demo(settings: Settings, *, nights: int = 7, serve: bool = True) -> int:
    """The demo, refused at once when another demo of this data home runs or its Airflow port is taken."""
    with demo_lock(settings):
        port, said = choose_api_port(dict(os.environ))
        print(f"    {said}", flush=True)
        return _run_demo(settings, port, nights=nights, serve=serve)


def _run_demo(settings: Settings, port: int, *, nights: int, serve: bool) -> int:
    timings: dict[str, float] = {}
    config = load_dataset_config(settings.dataset)

    def timed(stage: str, function, *args, **kwargs):
        started = time.perf_counter()
        print(f"==> {stage}", flush=True)
        result = function(*args, **kwargs)
        timings[stage] = round(time.perf_counter() - started, 1)
        print(f"    {stage}: {timings[stage]} s", flush=True)
        return result

    for variable, origin in ensure_local_keys(settings).items():
        print(f"    {variable}: {origin}", flush=True)
    timed("simulate", simulate_dataset, config, settings.landing_dir)
    end = landed_days(settings)[-1]
    history_end = end - dt.timedelta(days=nights)
    if history_loaded(settings, history_end):
        print(f"    history up to {history_end} already loaded", flush=True)
    else:
        timed("load_history", load_history, history_end, settings)

    # after the keys: Airflow's tasks inherit them
    env = airflow_environment(settings, {**os.environ, "AIRFLOW__API__PORT": str(port)})
    timed("airflow_prepare", prepare_metadata, env)
    airflow = start_airflow(settings, env)
    try:
        password = timed("airflow_start", wait_for_password, settings, airflow)
        api = AirflowApi.login(airflow_url(env), "admin", password)
        api.wait_for_dag(DAG_ID)
        first_night = end - dt.timedelta(days=nights - 1)
        runs = timed("airflow_backfill", backfill_nights, api, first_night, end)
        api.unpause(DAG_ID)
    except BaseException:
        stop([airflow])
        raise
    for run in runs:
        timings[f"night_{run['logical_date'][:10]}"] = run_seconds(run)
    failed = [run["logical_date"][:10] for run in runs if run["state"] != "success"]
    timings_path = settings.home / "demo_timings.json"
    if len(timings) > len(
        {"simulate", "airflow_prepare", "airflow_start", "airflow_backfill"} & set(timings)
    ):
        write_json(timings_path, {"dataset": config.name, "stages_seconds": timings})
    print(f"\nDaybreak is loaded: warehouse {settings.warehouse_path}, serving copy {settings.serving_path}")
    print(f"stage timings: {timings_path}")
    user, role = roles.grant_single_user(settings)
    print(f"dashboards and commands act as {user}, role {role} (roles file {settings.roles_path})")
    if failed:
        stop([airflow])
        print(f"nights that failed in Airflow: {', '.join(failed)} (see the run's task logs in the UI)")
        return 1
    if not serve:
        stop([airflow])
        return 0
    return serve_forever(settings, env, airflow, password)


def run_seconds(run: dict) -> float:
    """A run's duration as the UI shows it: from its start to its end."""
    started = dt.datetime.fromisoformat(run["start_date"])
    ended = dt.datetime.fromisoformat(run["end_date"])
    return round((ended - started).total_seconds(), 1)


def backfill_nights(api: AirflowApi, first: dt.date, last: dt.date) -> list[dict]:
    """Backfill the nights `first`..`last` through the scheduler and wait for them; nights an earlier demo ran
    successfully are not run again. Each run is noted with its business date, which no column of the UI shows."""
    done = {
        run["logical_date"][:10]
        for run in api.dag_runs(DAG_ID)
        if run["state"] == "success" and run.get("logical_date")
    }
    wanted = [first + dt.timedelta(days=offset) for offset in range((last - first).days + 1)]
    if all(day.isoformat() in done for day in wanted):
        print(f"    nights {first}..{last} already ran successfully in Airflow", flush=True)
        return []
    backfill = api.backfill(DAG_ID, first, last)  # created paused: see `AirflowApi.backfill`
    api.note_business_dates(DAG_ID, first, last)  # the UI shows the note on each run
    api.unpause(DAG_ID)
    runs = api.wait_for_backfill(backfill)
    for run in sorted(runs, key=lambda run: run["logical_date"]):
        print(f"    night {business_date_of(run)}: {run['state']} in {run_seconds(run)} s", flush=True)
    return runs
