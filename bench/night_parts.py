"""A small night split into its parts, in process and through Airflow's real scheduler, as shares of the night.

The data is the demo's synthetic shop (about 500 lines a day). Its history is loaded up to `--nights` before the
last landed day, then the data home is copied: one copy runs the nights in process (`jobs.pipeline.run_night`),
one through `airflow standalone` as a REST backfill (what the UI's backfill dialog calls), when
`--scheduler-nights` is set. Both copies must end with equal tables, as 365 sequential `daybreak night` runs and a
365-night backfill must (`--nights 365 --scheduler-nights 365`).

Parts reported, each with its share of the whole night:
- per step (ingest, privacy, transform, drift, retrain_decision, forecast, segment, publish): the step's own time;
- inside `transform`: dbt's start and parse (the step's time less the build dbt reports in run_results.json),
  then the build's nodes summed by layer (staging, intermediate, marts) and the data tests;
- through the scheduler: each task's duration as Airflow records it, and Airflow's share: a task's duration less
  the same step in process (its process start, imports and bookkeeping), and the gaps between tasks (the
  scheduler's loops and the executor's queue).
A closed day (`--closed-day`, a date inside the nights) is reported beside the median open night.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import socket
import statistics
import tempfile
import time
from pathlib import Path

from daybreak.core.settings import Settings
from daybreak.datasets import load_dataset_config
from daybreak.ingest.simulation import simulate_dataset
from daybreak.platform.airflow_api import AirflowApi
from daybreak.platform.airflow_env import DAG_ID, airflow_environment, prepare_metadata
from daybreak.platform.serving import airflow_url, start_airflow, stop, wait_for_password
from daybreak.privacy.local_keys import ensure_local_keys
from daybreak.warehouse.connection import connect, table_checksums
from jobs.pipeline import landed_days, load_history, run_night

# lineage that names the run or the wall clock, and absolute paths, which lie under each copy's own data home
IGNORED = ("run_id", "ingested_at", "source_path", "artifact_path", "report_path", "path")


def dbt_parts(settings: Settings) -> dict[str, float]:
    """The last dbt build's node times by layer (the models' folder) and kind, and its whole build time.

    A night's build writes no manifest.json (`daybreak.nights.dbt_invocation`): a model's layer is the folder
    under dbt_project/models that holds its SQL file."""
    results = json.loads((settings.dbt_target_dir / "run_results.json").read_text())
    models = settings.dbt_project_dir / "models"
    layers = {path.stem: path.relative_to(models).parts[0] for path in models.rglob("*.sql")}
    parts: dict[str, float] = {"build": results["elapsed_time"]}
    for result in results["results"]:
        kind, _, name = result["unique_id"].split(".", 2)
        if kind == "model":
            key = f"dbt models: {layers.get(name, 'other')}"
        else:
            key = "dbt data tests" if kind == "test" else "dbt other nodes"
        parts[key] = parts.get(key, 0.0) + result["execution_time"]
    return parts


def cpu_seconds() -> float:
    """CPU seconds of this process and its waited-for children (dbt's subprocess): steadier than wall time when
    other work shares the cores."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def nights_in_process(settings: Settings, nights: list[dt.date]) -> dict[dt.date, dict[str, float]]:
    """Each night's parts in process: its steps' times and, inside transform, dbt's."""
    measured = {}
    for day in nights:
        started, cpu = time.perf_counter(), cpu_seconds()
        steps = run_night(day, settings=settings)
        parts = {f"step {name}": result["seconds"] for name, result in steps.items()}
        parts["night"] = time.perf_counter() - started
        parts["cpu"] = cpu_seconds() - cpu
        dbt = dbt_parts(settings)
        parts["dbt start and parse"] = parts["step transform"] - dbt.pop("build")
        parts |= dbt
        measured[day] = parts
    return measured


def seconds_between(start: str | None, end: str | None) -> float:
    if not start or not end:
        return 0.0
    return (dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start)).total_seconds()


def nights_on_the_scheduler(
    settings: Settings, first: dt.date, last: dt.date
) -> dict[dt.date, dict[str, float]]:
    """Backfill first..last through `airflow standalone`'s REST API; each night's run and task durations."""
    with socket.socket() as probe:  # never 8080: another Airflow may be serving there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = airflow_environment(settings, base={**os.environ, "AIRFLOW__API__PORT": str(port)})
    prepare_metadata(env)
    airflow = start_airflow(settings, env)
    try:
        api = AirflowApi.login(airflow_url(env), "admin", wait_for_password(settings, airflow))
        api.wait_for_dag(DAG_ID)
        backfill = api.backfill(DAG_ID, first, last)  # created paused: see `AirflowApi.backfill`
        api.unpause(DAG_ID)
        runs = api.wait_for_backfill(backfill, seconds=3600 + 600 * (last - first).days)
        measured = {}
        for run in runs:
            day = dt.date.fromisoformat(run["logical_date"][:10])
            tasks = api.task_instances(DAG_ID, run["dag_run_id"])
            parts = {
                "night": seconds_between(run["start_date"], run["end_date"]),
                "state": run["state"] == "success",
            }
            for task in tasks:
                parts[f"task {task['task_id']}"] = task.get("duration") or 0.0
            busy = sum(task.get("duration") or 0.0 for task in tasks)
            parts["between tasks"] = parts["night"] - busy
            measured[day] = parts
        return measured
    finally:
        stop([airflow])


def median_parts(measured: dict[dt.date, dict[str, float]], days: list[dt.date]) -> dict[str, float]:
    names = dict.fromkeys(name for day in days for name in measured[day])
    return {name: statistics.median(measured[day].get(name, 0.0) for day in days) for name in names}


def print_parts(title: str, parts: dict[str, float]) -> None:
    whole = parts["night"]
    print(f"\n{title}: {whole:.2f} s a night (median)")
    print(f"{'part':44} {'seconds':>9} {'x night':>9}")
    for name, seconds in parts.items():
        if name == "cpu":
            print(f"{'CPU seconds (this process and dbt)':44} {seconds:9.2f} {seconds / whole:9.3f}")
        elif name not in ("night", "state"):
            print(f"{name:44} {seconds:9.2f} {seconds / whole:9.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench night_parts", description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="data home to prepare (default: a new temporary folder)")
    parser.add_argument("--nights", type=int, default=5, help="the last N landed days, run in process")
    parser.add_argument(
        "--scheduler-nights", type=int, default=0, help="the last N, also backfilled on Airflow"
    )
    parser.add_argument("--closed-day", type=dt.date.fromisoformat, help="a closed day among the nights")
    args = parser.parse_args(argv)

    root = Path(args.home or tempfile.mkdtemp(prefix="daybreak-night-parts-"))
    settings = Settings(home=root / "in-process", dataset="synthetic")
    os.environ["DAYBREAK_HOME"], os.environ["DAYBREAK_DATASET"] = str(settings.home), settings.dataset
    ensure_local_keys(settings)
    simulate_dataset(load_dataset_config(settings.dataset), settings.landing_dir)
    end = landed_days(settings)[-1]
    nights = [end - dt.timedelta(days=offset) for offset in range(args.nights - 1, -1, -1)]
    load_history(nights[0] - dt.timedelta(days=1), settings)
    on_airflow = Settings(home=root / "airflow", dataset=settings.dataset)
    shutil.copytree(settings.home, on_airflow.home)

    began = time.perf_counter()
    measured = nights_in_process(settings, nights)
    print(f"{len(nights)} nights in process: {time.perf_counter() - began:.1f} s")
    open_nights = [day for day in nights if day != args.closed_day]
    print_parts("in process", median_parts(measured, open_nights))
    if args.closed_day:
        closed, opened = measured[args.closed_day], median_parts(measured, open_nights)
        print(
            f"\nclosed day {args.closed_day}: {closed['night']:.2f} s, {closed['night'] / opened['night']:.2f} x an "
            f"open night; CPU {closed['cpu']:.2f} s, {closed['cpu'] / opened['cpu']:.2f} x"
        )
    if args.scheduler_nights:
        backfilled = nights[-args.scheduler_nights :]
        os.environ["DAYBREAK_HOME"] = str(on_airflow.home)
        began = time.perf_counter()
        scheduled = nights_on_the_scheduler(on_airflow, backfilled[0], backfilled[-1])
        wall = time.perf_counter() - began
        print(
            f"\n{len(backfilled)} nights backfilled through the REST API: {wall:.1f} s including Airflow's start"
        )
        print_parts("through the scheduler", median_parts(scheduled, backfilled))
        failed = [day for day, parts in scheduled.items() if not parts["state"]]
        print(f"failed nights: {failed or 'none'}")
        if len(backfilled) == len(nights):
            with (
                connect(settings.warehouse_path, read_only=True) as one,
                connect(on_airflow.warehouse_path, read_only=True) as other,
            ):
                ours, theirs = (table_checksums(c, ignore_columns=IGNORED) for c in (one, other))
            differ = sorted(
                name for name in ours.keys() | theirs.keys() if ours.get(name) != theirs.get(name)
            )
            print(
                f"tables equal to the sequential nights: {not differ} ({len(ours)} tables; differ: {differ})"
            )
    print(f"\ndata homes: {root}")
    return 0
