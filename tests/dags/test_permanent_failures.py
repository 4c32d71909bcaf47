"""A night that no retry can save ends in one try, through real Airflow (`dag.test`), with its reason last in the log.

Given a data home whose exports cover two days, when the nightly DAG runs for a day the data does not cover (or
with a settings value Daybreak cannot use), then `ingest` fails on its first try although it has retries, and
every later task is `upstream_failed`. The retry delay is cut to a second so that, were the error retried, the
test would see three tries within seconds instead of waiting six minutes.
"""

from __future__ import annotations

import datetime as dt
import importlib

import pendulum
import pytest

FIRST, LAST = dt.date(2031, 1, 1), dt.date(2031, 1, 2)


@pytest.fixture
def home(tmp_path, monkeypatch, airflow_db):
    for day in (FIRST, LAST):
        (tmp_path / "landing" / "synthetic" / day.isoformat()).mkdir(parents=True)
    monkeypatch.setenv("DAYBREAK_HOME", str(tmp_path))
    monkeypatch.setenv("DAYBREAK_DATASET", "synthetic")
    return tmp_path


def run(day: dt.date):
    """Run the nightly DAG for business day `day` with its own retries but a one-second retry delay; the night
    before is marked done (other tests' runs of the same DAG may share this Airflow database)."""
    import dags.daybreak_nightly

    nightly = importlib.reload(dags.daybreak_nightly).nightly
    for task in nightly.tasks:
        assert task.retries >= 1
        task.retry_delay, task.retry_exponential_backoff = dt.timedelta(seconds=1), False
    logical = pendulum.datetime(day.year, day.month, day.day, tz="UTC").add(days=1)
    dag_run = nightly.test(logical_date=logical, mark_success_pattern="previous_night")
    return {ti.task_id: ti for ti in dag_run.get_task_instances()}


@pytest.mark.parametrize(
    ("day", "engine", "error", "remedy"),
    [
        (LAST + dt.timedelta(days=1), "duckdb", "OutsideDataError", "What to do: run nights only for"),
        (LAST, "no_such_engine", "SettingsError", "What to do: set the variable"),
        # a day within the landed range whose folder holds no export: a gap no retry fills
        (LAST, "duckdb", "MissingExportError", "What to do: land the day's export"),
    ],
)
def test_an_error_no_retry_can_fix_fails_the_night_in_one_try(
    home, monkeypatch, capfd, day, engine, error, remedy
):
    monkeypatch.setenv("DAYBREAK_ENGINE", engine)
    tasks = run(day)
    assert tasks["ingest"].state == "failed"
    assert tasks["ingest"].try_number == 1, "failed at once, not after its retries"
    downstream = set(tasks) - {"previous_night", "ingest"}
    assert {tasks[name].state for name in downstream} == {"upstream_failed"}
    # the task's log (printed by `dag.test`) says what happened and what to do, each line whole
    log = capfd.readouterr()
    said = (log.out + log.err).splitlines()
    assert any(f"{error}: a retry cannot fix this" in line for line in said)
    assert any(line.startswith(remedy) for line in said)
    # and they are the task's last words, below Airflow's stack trace
    traced = max(i for i, line in enumerate(said) if "Task failed with exception" in line)
    assert any(f"{error}: a retry cannot fix this" in line for line in said[traced + 1 :])
    assert any(line.startswith(remedy) or f"] {remedy}" in line for line in said[traced + 1 :])
