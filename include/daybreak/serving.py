"""Serve the Airflow UI and the Streamlit dashboards until interrupted (the end of `make demo`)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from daybreak.airflow_env import airflow_bin
from daybreak.settings import PROJECT_ROOT, Settings

STREAMLIT_PORT = 8501


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
