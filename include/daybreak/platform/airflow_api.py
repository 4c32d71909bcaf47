"""Drive a running Airflow through its REST API: log in, wait for the DAG, unpause it, backfill, wait for the runs.

What `make demo` and the real-scheduler tests do instead of `airflow dags test`: the runs are created by the
scheduler as a backfill, so the UI lists them as backfill runs with their true durations. Only the standard
library is used (the demo's client needs nothing Airflow's api-server does not already serve).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

log = logging.getLogger(__name__)

FINISHED = {"success", "failed"}
LOCKED_ATTEMPTS = 5
SLOW_READ_ATTEMPTS = 3
PAGE = 100  # the api-server's default maximum page size


class AirflowApiError(RuntimeError):
    """Airflow answered with an error, or did not finish in time."""


def business_date_of(run: dict) -> dt.date | None:
    """The business day a run (as the REST API lists it) processes: the day its data interval starts on; its
    logical date and run id read the next day for a scheduled or manual run."""
    start = run.get("data_interval_start")
    return dt.date.fromisoformat(start[:10]) if start else None


def run_note(business_date: dt.date) -> str:
    """The note Daybreak gives the runs it creates: the UI shows it on the run, where no column shows the day."""
    return f"Business date {business_date}"


@dataclasses.dataclass
class AirflowApi:
    """A logged-in client of one api-server (`base_url` like `http://127.0.0.1:8080`)."""

    base_url: str
    token: str = ""

    @classmethod
    def login(cls, base_url: str, username: str, password: str, wait_seconds: float = 180) -> AirflowApi:
        """Wait for the api-server to answer, then take a token for `username`."""
        api = cls(base_url.rstrip("/"))
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                api.request("GET", "/api/v2/monitor/health", auth=False)
                break
            except (OSError, AirflowApiError) as error:
                if time.monotonic() > deadline:
                    raise AirflowApiError(f"Airflow at {base_url} did not answer: {error}") from error
                time.sleep(2)
        answer = api.request("POST", "/auth/token", {"username": username, "password": password}, auth=False)
        api.token = answer["access_token"]
        return api

    def request(self, method: str, path: str, body: dict | None = None, *, auth: bool = True) -> Any:
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(
            self.base_url + path,
            data=None if body is None else json.dumps(body).encode(),
            headers=headers,
            method=method,
        )
        # a read is asked again when the api-server is too busy to answer in time (a loaded machine during a
        # long backfill); a write is not, since it may have been carried out
        attempts = SLOW_READ_ATTEMPTS if method == "GET" else 1
        for attempt in range(1, attempts + 1):
            try:
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the configured Airflow
                    text = response.read().decode()
                return json.loads(text) if text else None
            except urllib.error.HTTPError as error:
                raise AirflowApiError(
                    f"{method} {path}: HTTP {error.code} {error.read().decode()[:500]}"
                ) from error
            except (TimeoutError, urllib.error.URLError) as error:
                timed_out = isinstance(error, TimeoutError) or isinstance(error.reason, TimeoutError)
                if not timed_out:
                    raise
                if attempt == attempts:
                    raise AirflowApiError(
                        f"{method} {path}: no answer from {self.base_url} ({error})"
                    ) from error
                log.info("%s %s: no answer in time (%s); asking again", method, path, error)
                time.sleep(5)

    def wait_for_dag(self, dag_id: str, seconds: float = 180) -> dict:
        """The DAG's details once the dag-processor has parsed it."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                return self.request("GET", f"/api/v2/dags/{dag_id}")
            except AirflowApiError as error:
                if time.monotonic() > deadline:
                    raise AirflowApiError(
                        f"DAG {dag_id} was not parsed in {seconds:.0f} s: {error}"
                    ) from error
                time.sleep(2)

    def unpause(self, dag_id: str) -> None:
        self.request("PATCH", f"/api/v2/dags/{dag_id}?update_mask=is_paused", {"is_paused": False})

    def backfill(
        self,
        dag_id: str,
        first: dt.date,
        last: dt.date,
        *,
        max_active_runs: int = 1,
        reprocess: str = "failed",
    ) -> dict:
        """Create a backfill of the business days `first`..`last` (logical dates = interval starts); `reprocess`
        is Airflow's choice for days that already have a run (`none`, `failed` or `completed`). Asked again while
        SQLite is locked (`_unless_locked`).

        On SQLite, create it while the DAG is paused and unpause it after: Airflow writes a backfill's runs in
        several commits and deletes them when a later write finds the database locked, and a scheduler that was
        already scheduling one of them stops with an error (Airflow 3.3, seen with 30 nights). A paused DAG's runs
        are left alone until the unpause. PostgreSQL has neither problem.
        """
        body = {
            "dag_id": dag_id,
            "from_date": f"{first.isoformat()}T00:00:00Z",
            "to_date": f"{last.isoformat()}T00:00:00Z",
            "run_backwards": False,
            "dag_run_conf": {},
            "reprocess_behavior": reprocess,
            "max_active_runs": max_active_runs,
        }
        return self._unless_locked("POST", "/api/v2/backfills", body)

    def note_business_dates(self, dag_id: str, first: dt.date, last: dt.date) -> int:
        """Note each run of the business days `first`..`last` with its business date (`run_note`), which the UI
        shows on the run; returns how many runs it noted (a run already noted so is left alone)."""
        noted = 0
        for run in self.dag_runs(dag_id):
            day = business_date_of(run)
            if day is None or not first <= day <= last or run.get("note") == run_note(day):
                continue
            path = f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run['dag_run_id'], safe='')}"
            self._unless_locked("PATCH", f"{path}?update_mask=note", {"note": run_note(day)})
            noted += 1
        return noted

    def _unless_locked(self, method: str, path: str, body: dict) -> Any:
        """`request`, asked again when SQLite was locked: Airflow answers 503 ("Database is locked") when the
        scheduler holds the database at that moment and changed nothing, so asking again a few times is safe
        (PostgreSQL never answers so)."""
        for attempt in range(1, LOCKED_ATTEMPTS + 1):
            try:
                return self.request(method, path, body)
            except AirflowApiError as error:
                if "HTTP 503" not in str(error) or attempt == LOCKED_ATTEMPTS:
                    raise
                log.info(
                    "Airflow's database was locked (%s %s, attempt %d); asking again", method, path, attempt
                )
                time.sleep(2 * attempt)
        raise AssertionError("unreachable")

    def wait_for_run(self, dag_id: str, run_id: str, seconds: float = 3600) -> dict:
        """The run once it has finished (success or failed)."""
        deadline = time.monotonic() + seconds
        while True:
            run = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}")
            if run["state"] in FINISHED:
                return run
            if time.monotonic() > deadline:
                raise AirflowApiError(f"run {run_id} not finished in {seconds:.0f} s: {run['state']}")
            time.sleep(5)

    def dag_runs(self, dag_id: str) -> list[dict]:
        """Every run of the DAG, oldest first: page by page, since a year's backfill is more than one page."""
        runs: list[dict] = []
        while True:
            answer = self.request(
                "GET", f"/api/v2/dags/{dag_id}/dagRuns?limit={PAGE}&offset={len(runs)}&order_by=logical_date"
            )
            runs += answer["dag_runs"]
            if not answer["dag_runs"] or len(runs) >= answer["total_entries"]:
                return runs

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        """The run's task instances, with their start, end, duration and try number."""
        path = (
            f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}/taskInstances?limit={PAGE}"
        )
        return self.request("GET", path)["task_instances"]

    def wait_for_backfill(self, backfill: dict, seconds: float = 3600) -> list[dict]:
        """Wait until a backfill (as `backfill` returned it) is complete; its runs, each with its state."""
        dag_id, first, last = backfill["dag_id"], backfill["from_date"][:10], backfill["to_date"][:10]
        deadline = time.monotonic() + seconds
        while True:
            done = self.request("GET", f"/api/v2/backfills/{backfill['id']}").get("completed_at")
            runs = [
                run
                for run in self.dag_runs(dag_id)
                if run.get("run_type") == "backfill" and first <= (run.get("logical_date") or "")[:10] <= last
            ]
            if done and all(run["state"] in FINISHED for run in runs):
                return runs
            if time.monotonic() > deadline:
                states = {run["logical_date"][:10]: run["state"] for run in runs}
                raise AirflowApiError(f"backfill {backfill['id']} not finished in {seconds:.0f} s: {states}")
            time.sleep(5)
