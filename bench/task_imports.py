"""Airflow's share of a night: what each nightly task's process pays at start, before its job does any work.

Each Airflow task runs in a process of its own that imports Airflow's task SDK and parses the DAG file, then
imports the task's job (the DAG's task bodies import it lazily). This measures, in fresh Python processes, the
baseline (Python, `airflow.sdk` and the DAG file's own imports) and, per task, the extra seconds its job's import
costs on top, as the median of `--repeat` runs, wall and CPU. The `retrain_decision` and `retrain` tasks are also
measured importing `jobs.drift`, which they imported until 2026-12-06, as the before figure of the same run.

    PYTHONPATH=$PWD:$PWD/include .venv/bin/python -m bench task_imports --repeat 7
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time

# what a task process has imported before the task body runs: the SDK and the DAG file's module-level imports
PRELUDE = (
    "import airflow.sdk, pendulum, airflow.timetables.interval; "
    "import daybreak.platform.airflow_env, daybreak.platform.alerts, daybreak.platform.schedule, "
    "daybreak.platform.task_failures"
)
# each task of dags/daybreak_nightly.py and the module its body imports
TASKS = {
    "previous_night": "daybreak.platform.schedule",
    "ingest": "jobs.ingest",
    "privacy": "jobs.privacy",
    "transform": "jobs.transform",
    "drift": "jobs.drift",
    "retrain_decision": "jobs.retrain",
    "retrain": "jobs.retrain",
    "forecast": "jobs.forecast",
    "segment": "jobs.segment",
    "publish": "jobs.publish",
}
BEFORE = {"retrain_decision": "jobs.drift", "retrain": "jobs.drift"}


def cost(code: str) -> tuple[float, float]:
    """Wall and CPU seconds of a fresh `python -c code`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median_cost(code: str, repeat: int) -> tuple[float, float]:
    runs = [cost(code) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench task_imports")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    base_wall, base_cpu = median_cost(PRELUDE, args.repeat)
    print(
        f"baseline: a task process's Python + airflow.sdk + the DAG file's imports: {base_wall:.2f} s wall, "
        f"{base_cpu:.2f} s CPU (median of {args.repeat})"
    )
    print(f"{'task':26} {'module':28} {'+wall s':>8} {'+CPU s':>8} {'x baseline CPU':>15}")
    measured = {(task, module) for task, module in TASKS.items()} | set(BEFORE.items())
    total = {"after": 0.0, "before": 0.0}
    for task, module in sorted(
        measured, key=lambda item: (list(TASKS).index(item[0]), item[1] != TASKS[item[0]])
    ):
        wall, cpu = median_cost(f"{PRELUDE}; import {module}", args.repeat)
        label = task if module == TASKS[task] else f"{task} (before)"
        print(f"{label:26} {module:28} {wall - base_wall:8.2f} {cpu - base_cpu:8.2f} {cpu / base_cpu:15.2f}")
        if module == TASKS[task]:
            total["after"] += cpu - base_cpu
        if module == BEFORE.get(task, TASKS[task]):
            total["before"] += cpu - base_cpu
    print(
        f"the night's ten tasks, import CPU on top of the baseline: before {total['before']:.2f} s, "
        f"after {total['after']:.2f} s; plus ten baselines {10 * base_cpu:.2f} s"
    )
    return 0
