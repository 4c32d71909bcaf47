"""Every DAG imports without error, has no cycle, and sets tags, retries, docs and a failure alert."""

from __future__ import annotations

import pytest

from tests.conftest import PROJECT_ROOT


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT_ROOT / "dags"))


def test_every_dag_imports(dagbag):
    assert dagbag.import_errors == {}
    assert "daybreak_nightly" in dagbag.dags


def test_dags_have_tags_docs_and_no_cycles(dagbag):
    from airflow.utils.dag_cycle_tester import check_cycle

    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.doc_md, f"{dag_id} has no doc_md"
        check_cycle(dag)


def test_every_task_retries_and_alerts(dagbag):
    for dag in dagbag.dags.values():
        for task in dag.tasks:
            assert task.retries >= 1, f"{dag.dag_id}.{task.task_id} does not retry"
            assert task.on_failure_callback, f"{dag.dag_id}.{task.task_id} raises no alert on failure"


def test_every_task_that_writes_takes_the_writer_pool(dagbag):
    """Every task but the wait for the night before writes the warehouse: all of them queue on the one-slot pool."""
    from daybreak.platform.airflow_env import WRITER_POOL

    for task in dagbag.dags["daybreak_nightly"].tasks:
        assert task.pool == ("default_pool" if task.task_id == "previous_night" else WRITER_POOL), (
            task.task_id
        )


def test_the_schedule_spans_the_landed_exports(tmp_path):
    """start_date is the first landed day and end_date two days past the last, so unpausing after the data ended
    starts no run."""
    import subprocess
    import sys

    code = (
        "import logging, runpy; logging.basicConfig(level=logging.INFO); d = runpy.run_path('dags/daybreak_nightly.py')['nightly']; "
        "print(d.doc_md.splitlines()[0]); "
        "print(d.start_date and d.start_date.date(), d.end_date and d.end_date.date(), type(d.timetable).__name__)"
    )

    def parse(home):
        env = {**__import__("os").environ, "DAYBREAK_HOME": str(home), "DAYBREAK_DATASET": "synthetic"}
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        doc, dates = result.stdout.strip().splitlines()[-2:]
        return dates, doc, result.stdout + result.stderr

    dates, doc, _ = parse(tmp_path / "empty")
    assert dates == "None None CronDataIntervalTimetable"
    assert doc.startswith(
        "**No export has landed yet, so the schedule has no dates and unpausing starts no run"
    )
    for day in ("2023-01-01", "2024-12-31", "2024-06-01"):
        (tmp_path / "home/landing/synthetic" / day).mkdir(parents=True)
    # two days past the last export: a manual run (logical date D+1) for the day after the data reaches ingest
    dates, doc, log = parse(tmp_path / "home")
    assert dates == "2023-01-01 2025-01-02 CronDataIntervalTimetable"
    # the DAG's doc starts with, and the dag-processor's log says, why an unpaused DAG starts no later run
    said = "Exports have landed for 2023-01-01..2024-12-31: the schedule runs those business days and ends on 2025-01-02"
    assert doc.startswith(f"**{said}") and "no later run is scheduled" in doc
    assert said in log


def test_nightly_wiring():
    from dags.daybreak_nightly import nightly

    assert nightly.max_active_runs == 1
    assert not nightly.catchup
    downstream = {task.task_id: sorted(task.downstream_task_ids) for task in nightly.tasks}
    assert downstream == {
        "previous_night": ["ingest"],
        "ingest": ["privacy"],
        "privacy": ["transform"],
        "transform": ["drift"],
        "drift": ["retrain_decision"],
        "retrain_decision": ["customer_value", "forecast", "retrain", "segment"],
        "retrain": ["customer_value", "forecast", "segment"],
        "forecast": ["publish"],
        "segment": ["publish"],
        "customer_value": ["publish"],
        "publish": [],
    }
    tasks = {task.task_id: task for task in nightly.tasks}
    # a skipped retrain must not skip the models: they run on every night that nothing failed
    assert {tasks[t].trigger_rule for t in ("forecast", "segment", "customer_value")} == {"none_failed"}
    # waiting for the night before must not hold the one writer slot the night before needs
    assert tasks["previous_night"].pool == "default_pool" and tasks["previous_night"].mode == "reschedule"


def test_dag_file_does_no_work_at_import():
    """Parsing must not import the heavy libraries the tasks use."""
    import subprocess
    import sys

    code = (
        "import sys, runpy; runpy.run_path('dags/daybreak_nightly.py'); "
        "heavy = [m for m in ('pandas', 'prophet', 'pyspark', 'sklearn', 'evidently', 'duckdb') if m in sys.modules]; "
        "print('HEAVY:' + ','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert "HEAVY:\n" in result.stdout + "\n", result.stdout


def test_the_retrain_branch_and_retrain_tasks_import_no_model_library():
    """The two small tasks after `drift` only read tonight's decisions: their task processes must not pay for the
    monitoring job's imports (scikit-learn, SciPy, Evidently, the segmentation and forecast nights)."""
    import inspect
    import subprocess
    import sys

    from dags.daybreak_nightly import nightly

    tasks = {task.task_id: task for task in nightly.tasks}
    for task_id in ("retrain_decision", "retrain"):
        source = inspect.getsource(tasks[task_id].python_callable)
        assert "from jobs.retrain import" in source, task_id
    code = (
        "import sys, jobs.retrain; "
        "heavy = [m for m in ('sklearn', 'scipy', 'evidently', 'daybreak.nights.segment', "
        "'daybreak.nights.forecast', 'daybreak.nights.monitoring') if m in sys.modules]; "
        "print('HEAVY:' + ','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert "HEAVY:\n" in result.stdout + "\n", result.stdout
