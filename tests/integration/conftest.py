"""The synthetic shop's nights, run once per test session by real Airflow and shared by the integration tests."""

from __future__ import annotations

import datetime as dt

import pytest

from daybreak.core.settings import get_settings
from daybreak.warehouse.connection import connect, table_checksums

START, HISTORY_END, END = dt.date(2024, 1, 1), dt.date(2024, 3, 28), dt.date(2024, 3, 31)
NIGHTS = [dt.date(2024, 3, 29), dt.date(2024, 3, 30), dt.date(2024, 3, 31)]


def run_night(day: dt.date, *, retries: int | None = None):
    """Run the DAG for business day `day` with real Airflow; returns the DagRun and its task states.

    The DAG file is parsed afresh for every night, as Airflow's dag-processor does: its schedule's start and end
    come from the landed data (`daybreak.platform.schedule`), which differ between the tests' data homes.
    """
    import importlib

    import pendulum

    import dags.daybreak_nightly

    nightly = importlib.reload(dags.daybreak_nightly).nightly
    if retries is not None:  # a test of a failing night wants the failure now, not after the retry delays
        for task in nightly.tasks:
            task.retries = retries
    logical = pendulum.datetime(day.year, day.month, day.day, tz="UTC").add(days=1)
    dag_run = nightly.test(logical_date=logical)
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    return dag_run, states


def checksums(path) -> dict:
    with connect(path, read_only=True) as connection:  # the raw view reads the lake relative to the data home
        return table_checksums(connection)


@pytest.fixture(scope="session")
def nightly_home(tmp_path_factory, airflow_db):
    """A small synthetic shop's exports for 2024-01-01..03-31, its history loaded up to 03-28, and the nights of
    03-29, 03-30 and 03-31 run through Airflow."""
    home = tmp_path_factory.mktemp("nightly")
    patch = pytest.MonkeyPatch()
    patch.setenv("DAYBREAK_HOME", str(home))
    patch.setenv("DAYBREAK_DATASET", "synthetic")
    from daybreak.ingest.simulation.synthetic import simulate_synthetic
    from jobs.pipeline import load_history

    settings = get_settings()
    simulate_synthetic(
        settings.landing_dir, start=START, end=END, seed=7, customers=150, products=40, locations=3
    )
    try:
        load_history(HISTORY_END, settings)
        results = {day: run_night(day) for day in NIGHTS}
    finally:
        patch.undo()
    return settings, results


@pytest.fixture
def nightly(nightly_home, monkeypatch):
    """The session's synthetic nights, with this test's environment pointing at them (to run more nights)."""
    settings, _ = nightly_home
    monkeypatch.setenv("DAYBREAK_HOME", str(settings.home))
    monkeypatch.setenv("DAYBREAK_DATASET", settings.dataset)
    return nightly_home
