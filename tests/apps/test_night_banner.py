"""The Overview's banner says what the nights are doing: running, retrying or failed, for which business date, as
the data home's Airflow reports it (asked read-only, with the password it generated); when Airflow cannot be asked,
what the data home shows (exports landed that no night has published). "Last night's run completed" only when so."""

from __future__ import annotations

import http.server
import json
import shutil
import threading
from pathlib import Path

import pytest
import streamlit as st

from tests.apps.test_pages import run_page
from tests.conftest import free_port

PUBLISHED = "2024-06-30T00:00:00Z"  # the fixture's newest published night
NEXT = "2024-07-01T00:00:00Z"


def run(run_id: str, state: str, interval_start: str) -> dict:
    return {"dag_run_id": run_id, "state": state, "data_interval_start": interval_start}


class FakeAirflow(http.server.BaseHTTPRequestHandler):
    """Airflow's REST API as the Overview reads it: health, a token, the DAG's runs and a run's task instances."""

    runs: list[dict] = []
    tasks: list[dict] = []
    asked: list[str] = []

    def _answer(self, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.asked.append(f"POST {self.path}")
        self._answer({"access_token": "token"})

    def do_GET(self) -> None:
        self.asked.append(f"GET {self.path}")
        if self.path.endswith("/taskInstances"):
            self._answer({"task_instances": self.tasks})
        elif "/dagRuns" in self.path:
            self._answer({"dag_runs": self.runs})
        else:
            self._answer({})

    def log_message(self, *_) -> None:
        pass


@pytest.fixture
def home(full_home: Path, tmp_path: Path, monkeypatch) -> Path:
    """The full fixture's data home, with the password its Airflow generated, and the Overview's caches empty."""
    home = tmp_path / "home"
    shutil.copytree(full_home, home)
    passwords = home / "airflow" / "simple_auth_manager_passwords.json.generated"
    passwords.parent.mkdir(parents=True)
    passwords.write_text(json.dumps({"admin": "secret"}))
    st.cache_data.clear()
    yield home
    st.cache_data.clear()


@pytest.fixture
def airflow(monkeypatch):
    FakeAirflow.asked = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeAirflow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", f"http://127.0.0.1:{server.server_address[1]}")
    yield FakeAirflow
    server.shutdown()
    thread.join(5)


def banner(app) -> tuple[str, str]:
    for kind in ("success", "info", "warning", "error"):
        if elements := app.get(kind):
            return kind, elements[0].value
    raise AssertionError("no banner")


@pytest.mark.parametrize(
    ("state", "tasks", "kind", "says"),
    [
        (
            "running",
            [{"task_id": "ingest", "state": "success"}, {"task_id": "transform", "state": "running"}],
            "info",
            "A night is running for business date **Mon 01 Jul 2024** (now: transform)",
        ),
        (
            "running",
            [{"task_id": "ingest", "state": "up_for_retry"}],
            "warning",
            "The night for business date **Mon 01 Jul 2024** is retrying: ingest failed and will run again",
        ),
        (
            "failed",
            [{"task_id": "ingest", "state": "failed"}, {"task_id": "privacy", "state": "upstream_failed"}],
            "error",
            "The night for business date **Mon 01 Jul 2024** failed at ingest",
        ),
    ],
)
def test_the_overview_says_a_night_is_running_retrying_or_failed_and_for_which_day(
    monkeypatch, home, airflow, state, tasks, kind, says
):
    airflow.runs = [
        run("backfill__2024-07-02", state, NEXT),
        run("backfill__2024-07-01", "success", PUBLISHED),
    ]
    airflow.tasks = tasks

    app = run_page(monkeypatch, home, "overview.py")

    assert not app.exception
    assert banner(app)[0] == kind
    assert says in banner(app)[1]
    assert "The numbers below are as of **Sun 30 Jun 2024**" in banner(app)[1]
    assert "Last night's run completed" not in banner(app)[1]
    assert "GET /api/v2/dags/daybreak_nightly/dagRuns/backfill__2024-07-02/taskInstances" in airflow.asked


@pytest.mark.parametrize(
    ("runs", "tasks"),
    [
        ([run("backfill__2024-07-01", "success", PUBLISHED)], [{"task_id": "publish", "state": "success"}]),
        # a run past the schedule's end: Airflow creates it without tasks and it ends "success" having done nothing
        ([run("manual__2024-07-02", "success", NEXT), run("backfill__2024-07-01", "success", PUBLISHED)], []),
    ],
)
def test_a_finished_night_airflow_reports_is_last_nights_completed_run(
    monkeypatch, home, airflow, runs, tasks
):
    airflow.runs = runs
    airflow.tasks = tasks

    app = run_page(monkeypatch, home, "overview.py")

    assert banner(app)[0] == "success"
    assert "Last night's run completed" in banner(app)[1]


def test_without_airflow_landed_exports_no_night_published_are_said_to_wait(monkeypatch, home):
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    (home / "landing" / "synthetic" / "2024-07-01").mkdir(parents=True)

    app = run_page(monkeypatch, home, "overview.py")

    kind, text = banner(app)
    assert kind == "warning"
    assert (
        "Exports have landed for business date Mon 01 Jul 2024, but no night has published them yet" in text
    )
    assert "Last night's run completed" not in text
