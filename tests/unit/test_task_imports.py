"""The scheduler's forkserver preloads what the nightly tasks import (daybreak.platform.task_imports)."""

from __future__ import annotations

import ast

import yaml

from daybreak.core.settings import PROJECT_ROOT, Settings
from daybreak.platform.airflow_env import airflow_environment

DAG_FILE = PROJECT_ROOT / "dags" / "daybreak_nightly.py"
TASK_IMPORTS_FILE = PROJECT_ROOT / "include" / "daybreak" / "platform" / "task_imports.py"
ALREADY_LIGHT = {"daybreak.core.settings", "daybreak.platform.airflow_env", "daybreak.platform.task_failures"}
"""Modules the preloaded ones import themselves."""


def preloaded() -> set[str]:
    """TASK_IMPORTS read from the source: importing the module would import all of them (seconds)."""
    for node in ast.walk(ast.parse(TASK_IMPORTS_FILE.read_text())):
        if isinstance(node, ast.Assign) and node.targets[0].id == "TASK_IMPORTS":
            return set(ast.literal_eval(node.value))
    raise AssertionError("no TASK_IMPORTS")


def test_every_module_the_dag_file_and_its_tasks_import_is_preloaded():
    tree = ast.parse(DAG_FILE.read_text())
    imported = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module.startswith(("jobs.", "daybreak."))
    }
    assert imported - ALREADY_LIGHT <= preloaded()


def test_airflow_runs_tasks_from_the_preloaded_forkserver_and_compose_says_the_same(tmp_path):
    env = airflow_environment(Settings(home=tmp_path, dataset="synthetic"), base={})
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    scheduler = compose["services"]["scheduler"]["environment"]

    for name in (
        "AIRFLOW__SCHEDULER__MP_START_METHOD",
        "AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD",
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME",
    ):
        assert scheduler[name] == env[name], name
    assert env["AIRFLOW__SCHEDULER__MP_START_METHOD"] == "forkserver"
    assert env["AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD"] == "daybreak.platform.task_imports"


def test_a_deployment_may_choose_its_own_start_method(tmp_path):
    base = {"AIRFLOW__SCHEDULER__MP_START_METHOD": "fork"}
    env = airflow_environment(Settings(home=tmp_path, dataset="synthetic"), base=base)

    assert env["AIRFLOW__SCHEDULER__MP_START_METHOD"] == "fork"
