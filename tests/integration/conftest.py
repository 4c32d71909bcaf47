"""The synthetic shop's nights, run once per test run by real Airflow and copied for each integration module that
reads them (`tests.conftest.prepared`)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from daybreak.core.settings import get_settings
from daybreak.warehouse.connection import connect, table_checksums
from tests.conftest import prepared

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


def build_nightly(folder: Path) -> None:
    """A small synthetic shop's exports for 2024-01-01..03-31 in `folder/home`, its history loaded up to 03-28, and
    the nights of 03-29, 03-30 and 03-31 run through Airflow; each night's run and task states in `runs.json` and
    the Airflow metadata database that recorded them in `airflow.db`."""
    from daybreak.ingest.simulation.synthetic import simulate_synthetic
    from jobs.pipeline import load_history

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAYBREAK_HOME", str(folder / "home"))
        patch.setenv("DAYBREAK_DATASET", "synthetic")
        settings = get_settings()
        simulate_synthetic(
            settings.landing_dir, start=START, end=END, seed=7, customers=150, products=40, locations=3
        )
        load_history(HISTORY_END, settings)
        runs = {}
        for day in NIGHTS:
            dag_run, states = run_night(day)
            runs[day.isoformat()] = {
                "state": dag_run.state,
                "data_interval_start": dag_run.data_interval_start.isoformat(),
                "states": states,
            }
    (folder / "runs.json").write_text(json.dumps(runs))
    with (
        closing(sqlite3.connect(Path(os.environ["AIRFLOW_HOME"]) / "airflow.db")) as source,
        closing(sqlite3.connect(folder / "airflow.db")) as copy,
    ):
        source.backup(copy)


def copy_home(source: Path, home: Path) -> None:
    """Copy data home `source` to `home` as if it had been built there: the warehouse and serving files record
    where their files are (the registry's artifacts, the ingested exports, the reports) by absolute path, and a
    night rerun in the copy records its own; so those paths are moved to `home` too."""
    shutil.copytree(source, home)
    for database in (home / "warehouse").glob("*.duckdb"), (home / "serving").glob("*.duckdb"):
        for path in database:
            with duckdb.connect(str(path)) as connection:
                columns = connection.execute(
                    "select table_schema, table_name, column_name from information_schema.columns "
                    "join information_schema.tables using (table_catalog, table_schema, table_name) "
                    "where table_type = 'BASE TABLE' and data_type = 'VARCHAR' "
                    "and table_catalog = current_database()"
                ).fetchall()
                for schema, table, column in columns:
                    connection.execute(
                        f'update "{schema}"."{table}" set "{column}" = ? || substr("{column}", ?) '  # noqa: S608
                        f'where starts_with("{column}", ?)',
                        [str(home), len(str(source)) + 1, str(source)],
                    )


@pytest.fixture(scope="session")
def nightly_prepared(tmp_path_factory, airflow_db) -> Path:
    """The synthetic nights (`build_nightly`), built once per test run for every worker; read-only."""
    return prepared(tmp_path_factory, "nightly", build_nightly)


@pytest.fixture(scope="module")
def nightly_home(nightly_prepared, tmp_path_factory):
    """This module's own copy of the synthetic nights: its settings, and each night's DagRun (state and data
    interval) and task states as Airflow recorded them."""
    home = tmp_path_factory.mktemp("nightly") / "home"
    copy_home(nightly_prepared / "home", home)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAYBREAK_HOME", str(home))
        patch.setenv("DAYBREAK_DATASET", "synthetic")
        settings = get_settings()
    runs = json.loads((nightly_prepared / "runs.json").read_text())
    results = {
        dt.date.fromisoformat(day): (
            SimpleNamespace(
                state=run["state"], data_interval_start=dt.datetime.fromisoformat(run["data_interval_start"])
            ),
            run["states"],
        )
        for day, run in runs.items()
    }
    return settings, results


@pytest.fixture
def nightly(nightly_home, monkeypatch):
    """The module's synthetic nights, with this test's environment pointing at them (to run more nights)."""
    settings, _ = nightly_home
    monkeypatch.setenv("DAYBREAK_HOME", str(settings.home))
    monkeypatch.setenv("DAYBREAK_DATASET", settings.dataset)
    return nightly_home
