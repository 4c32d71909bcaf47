"""`make demo`: from nothing to a running Daybreak on embedded defaults.

Steps, each timed and each reusing what a previous demo left: simulate the synthetic shop's exports, bulk-load the
history up to seven nights before the end, run the last seven nights through Airflow (`airflow dags test`, a real
Airflow run recorded in its metadata database), then serve the Airflow UI and the Streamlit app until interrupted.
The timings go to `<DAYBREAK_HOME>/demo_timings.json` for `bench/` and docs/benchmarks.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from daybreak.airflow_env import airflow_environment
from daybreak.settings import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)

DAG_ID = "daybreak_nightly"
STREAMLIT_PORT = 8501


def airflow_bin() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def logical_date_for(business_date: dt.date) -> str:
    """The logical date of a manual run that processes `business_date` (its data interval starts on that day)."""
    return (business_date + dt.timedelta(days=1)).isoformat()


def nights_already_run(env: dict[str, str]) -> set[str]:
    """Logical dates (YYYY-MM-DD) of the demo's successful manual runs, read from Airflow's metadata database."""
    listing = subprocess.run(
        [airflow_bin(), "dags", "list-runs", DAG_ID, "--state", "success", "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in listing.stdout.splitlines() if line.startswith("[")]
    if listing.returncode != 0 or not lines:
        return set()
    return {
        run["logical_date"][:10]
        for run in json.loads(lines[-1])
        if run.get("logical_date") and run.get("run_id", "").startswith("manual__")
    }


def history_loaded(settings: Settings, until: dt.date) -> bool:
    if not settings.warehouse_path.exists():
        return False
    from daybreak.warehouse import read_frame

    try:
        frame = read_frame(
            settings.warehouse_path,
            "select count(*) as n from predictions.forecasts where as_of_date = ?",
            [until],
        )
    except Exception:  # noqa: BLE001 - no table yet means no history yet
        return False
    return int(frame["n"].iloc[0]) > 0


def run_demo(settings: Settings, *, nights: int = 7, serve: bool = True) -> int:
    from daybreak.datasets import load_dataset_config

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

    from jobs.cli import main as cli_main

    timed("simulate", cli_main, ["simulate"])
    from jobs.pipeline import landed_days, load_history

    days = landed_days(settings)
    end = days[-1]
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
        timings_path.write_text(json.dumps({"dataset": config.name, "stages_seconds": timings}, indent=2))
    print(f"\nDaybreak is loaded: warehouse {settings.warehouse_path}, serving copy {settings.serving_path}")
    print(f"stage timings: {timings_path}")
    if not serve:
        return 0
    return serve_forever(settings, env)


def wait_for(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - localhost health check
                return True
        except OSError:
            time.sleep(1)
    return False


def serve_forever(settings: Settings, env: dict[str, str]) -> int:
    """Run `airflow standalone` and Streamlit, each in its own process group, until interrupted."""
    logs = settings.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    airflow_port = env["AIRFLOW__API__PORT"]
    processes = [
        subprocess.Popen(
            [airflow_bin(), "standalone"],
            env=env,
            start_new_session=True,
            stdout=(logs / "airflow-standalone.log").open("a"),
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [
                str(Path(sys.executable).with_name("streamlit")),
                "run",
                str(PROJECT_ROOT / "apps/streamlit/app.py"),
                "--server.headless",
                "true",
                "--server.port",
                str(STREAMLIT_PORT),
                "--browser.gatherUsageStats",
                "false",
            ],
            env=env,
            start_new_session=True,
            stdout=(logs / "streamlit.log").open("a"),
            stderr=subprocess.STDOUT,
        ),
    ]

    def stop(*_):
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    airflow_up = wait_for(f"http://localhost:{airflow_port}/api/v2/version", 180)
    streamlit_up = wait_for(f"http://localhost:{STREAMLIT_PORT}/_stcore/health", 60)
    passwords = settings.airflow_home / "simple_auth_manager_passwords.json.generated"
    password = (
        json.loads(passwords.read_text()).get("admin", "?") if passwords.exists() else "(see airflow log)"
    )
    print()
    print(
        f"Airflow UI:    http://localhost:{airflow_port}   user admin, password {password}"
        + ("" if airflow_up else "   (not answering yet: see .daybreak/logs/airflow-standalone.log)")
    )
    print(
        f"Dashboards:    http://localhost:{STREAMLIT_PORT}"
        + ("" if streamlit_up else "   (not answering yet: see .daybreak/logs/streamlit.log)")
    )
    print("Press Ctrl-C to stop both.", flush=True)
    while all(process.poll() is None for process in processes):
        time.sleep(2)
    stop()
    return 1
