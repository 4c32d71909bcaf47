"""What the nightly tasks import, imported once: the scheduler's forkserver preloads this module.

Airflow's LocalExecutor runs each task in a process forked from one of its workers. With `[scheduler]
mp_start_method = forkserver` and this module in `mp_forkserver_preload` (`airflow_env.airflow_environment`, and
docker-compose.yml's scheduler), the workers are forked from a server that has imported `TASK_IMPORTS` already, so
every task starts with them loaded, shared copy-on-write, instead of spending seconds on the same imports each
time: about 8 CPU seconds for the whole list, most of a small night's task (`python -m bench night_parts
--scheduler-nights N` measures the tasks). Only modules whose import starts no Python thread, opens no file and
reads no setting belong here (numpy's OpenBLAS threads are remade after a fork; settings are read lazily, at a
task's run); one that is not installed is left out.
"""

from __future__ import annotations

import contextlib
import importlib

TASK_IMPORTS = (
    # the task process's own start and the DAG file's imports
    "airflow.sdk.execution_time.task_runner",
    "daybreak.platform.task_logs",
    "daybreak.platform.alerts",
    "daybreak.platform.schedule",
    # the jobs the tasks run (dags/daybreak_nightly.py), and the libraries they import at their first use
    "jobs.ingest",
    "jobs.privacy",
    "jobs.transform",
    "jobs.drift",
    "jobs.retrain",
    "jobs.forecast",
    "jobs.segment",
    "jobs.customer_value",
    "jobs.publish",
    "dbt.cli.main",
    "dbt.adapters.duckdb",
    "evidently.presets",
    "prophet",
    "pymc_marketing.clv",
)

for _module in TASK_IMPORTS:
    with contextlib.suppress(ImportError):
        importlib.import_module(_module)
