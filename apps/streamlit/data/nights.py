"""The nightly run as it stands now: what Airflow says of its newest night (queued, running, retrying, failed or
done, and for which business date), else what the data home shows without it.

The serving copy is published at a night's end, so it cannot tell a night in progress or a failed one from no
night at all. Airflow can: it is asked read-only through `daybreak.platform.airflow_api`, at `Settings.airflow_url`,
with the password the data home's own Airflow generated (`airflow standalone`, the demo). Without that password, or
when Airflow does not answer, the Overview falls back on the data home: exports landed for days after the newest
published night mean a night has not published yet. Airflow's answer is cached for 30 seconds, so page views do
not log in to it again and again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import urllib.parse

import streamlit as st

from daybreak.core.settings import get_settings
from daybreak.platform.airflow_api import AirflowApi, AirflowApiError
from daybreak.platform.airflow_env import DAG_ID, generated_password
from daybreak.platform.schedule import landed_days

AIRFLOW_TTL_SECONDS = 30
ACTIVE = ("queued", "running")


@dataclasses.dataclass(frozen=True)
class Night:
    """One nightly run as Airflow reports it: its business date, `state` (queued, running, retrying, failed or
    success) and the tasks that make it so (running, waiting to retry, or failed)."""

    business_date: dt.date
    state: str
    tasks: tuple[str, ...] = ()


@st.cache_data(ttl=AIRFLOW_TTL_SECONDS, show_spinner=False)
def airflow_night() -> Night | None:
    """The night Airflow is working on (the newest active run), else its newest run; None when Airflow cannot be
    asked (no generated password in this data home, not answering, or refusing the login)."""
    settings = get_settings()
    password = generated_password(settings)
    if password is None:
        return None
    try:
        api = AirflowApi.login(settings.airflow_url, "admin", password, wait_seconds=0)
        runs = api.request("GET", f"/api/v2/dags/{DAG_ID}/dagRuns?limit=50&order_by=-logical_date")[
            "dag_runs"
        ]
        if not runs:
            return None
        run = next((run for run in runs if run["state"] in ACTIVE), runs[0])
        path = f"/api/v2/dags/{DAG_ID}/dagRuns/{urllib.parse.quote(run['dag_run_id'], safe='')}/taskInstances"
        tasks = api.request("GET", path)["task_instances"]
    except (OSError, AirflowApiError, KeyError, TypeError, ValueError):
        return None
    by_state: dict[str, list[str]] = {}
    for task in tasks:
        by_state.setdefault(task.get("state") or "", []).append(task["task_id"])
    state = "retrying" if by_state.get("up_for_retry") else run["state"]
    named = {"retrying": "up_for_retry", "running": "running", "failed": "failed"}.get(state, "")
    return Night(
        business_date=dt.date.fromisoformat(run["data_interval_start"][:10]),
        state=state,
        tasks=tuple(sorted(by_state.get(named, []))),
    )


def landed_after(day: dt.date) -> list[dt.date]:
    """Business days after `day` whose export has landed in this data home (their nights have not published)."""
    return [landed for landed in landed_days(get_settings().landing_dir) if landed > day]
