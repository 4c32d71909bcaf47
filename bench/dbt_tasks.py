"""dbt through Airflow on the demo night: one `dbt build` task against astronomer-cosmos (a task per model and test).

The default synthetic shop is simulated, its history loaded up to the night before the last day and the last day
ingested; that data home is then copied afresh for every run, and the last night's transform runs on the copy
through `dag.test` on a small DAG built here, in a fresh process, with `airflow_environment`'s settings (each
variant `--repeats` times, alternating; figures are medians):
  one_task  one task calling `jobs.transform.run` (what `daybreak_nightly`'s `transform` does): the baseline;
  cosmos    a `calendar` task (the calendar rows `jobs.transform.run` writes before dbt), a cosmos `DbtTaskGroup`
            (ExecutionMode.LOCAL, the dbt project's own profile, the `--vars` `jobs.transform` passes for that
            night) with a task per model and one per model's tests, then `daybreak.ingest.accounting.mark_rebuilt` (what `run` does after dbt).
            A test on several models gets its own task after all of them: with cosmos' defaults the revenue
            reconciliation test runs with `stg_raw__sales_lines`' tests, before `fct_sales_lines` is rebuilt, and
            fails the night.
Figures: the DAG's parse (what the dag-processor pays at every parse of the file), `dag.test`'s wall time and the
CPU seconds of the process tree (this process and every child it waited for), task instances, and whether the two
warehouses end equal (`daybreak.warehouse.connection.table_checksums`, exactly and with doubles rounded; one_task's two runs are
compared the same way, to tell DuckDB's floating-point noise from a difference). Ratios are to one_task.

astronomer-cosmos is not a project dependency: install it into a separate environment to run this benchmark
(`pip install astronomer-cosmos==1.15.1`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VARIANTS = ("one_task", "cosmos")
COSMOS_INSTALL = "python -m pip install astronomer-cosmos==1.15.1"


def cpu_seconds() -> float:
    """User + system CPU of this process and of every child process it has waited for."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def one_task_dag(night: dt.date):
    from airflow.sdk import dag, task

    from daybreak.platform.airflow_env import WRITER_POOL

    @dag(dag_id="bench_dbt_one_task", schedule=None, catchup=False, default_args={"pool": WRITER_POOL})
    def bench_dbt_one_task():
        @task
        def transform(run_id=None):
            from jobs.transform import run

            return run(night, run_id)

        transform()

    return bench_dbt_one_task()


def cosmos_dag(night: dt.date, dbt_vars: dict, invocation: str):
    try:
        from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
        from cosmos.constants import ExecutionMode, InvocationMode, TestIndirectSelection
    except ImportError as error:
        raise SystemExit(
            f"astronomer-cosmos is not installed in this environment ({error}); it is this benchmark's own "
            f"dependency, not the project's: `{COSMOS_INSTALL}` into a separate environment"
        ) from error
    from airflow.sdk import dag, task

    from daybreak.core.settings import get_settings
    from daybreak.platform.airflow_env import WRITER_POOL

    settings = get_settings()
    dbt = Path(sys.executable).with_name("dbt")

    @dag(dag_id="bench_dbt_cosmos", schedule=None, catchup=False, default_args={"pool": WRITER_POOL})
    def bench_dbt_cosmos():
        @task
        def calendar(run_id=None):
            from daybreak.datasets import load_dataset_config
            from daybreak.datasets.calendar import BusinessCalendar
            from daybreak.warehouse.calendar_days import write_calendar_days
            from daybreak.warehouse.connection import connect

            config = load_dataset_config(settings.dataset)
            with connect(settings.warehouse_path) as connection:
                write_calendar_days(connection, BusinessCalendar.from_config(config), night, run_id)

        @task
        def mark_rebuilt():
            from daybreak.ingest.accounting import mark_rebuilt

            mark_rebuilt(settings, night)

        dbt_models = DbtTaskGroup(
            group_id="dbt",
            project_config=ProjectConfig(settings.dbt_project_dir, dbt_vars=dbt_vars),
            profile_config=ProfileConfig(
                profile_name="daybreak",
                target_name="duckdb",
                profiles_yml_filepath=settings.dbt_project_dir / "profiles.yml",
            ),
            execution_config=ExecutionConfig(
                execution_mode=ExecutionMode.LOCAL,
                invocation_mode=InvocationMode(invocation),
                dbt_executable_path=str(dbt),
                # a model's test task runs only the tests on that model alone (dbt's default, eager, also takes
                # a test on two models, such as the revenue reconciliation, before its other model is rebuilt)
                test_indirect_selection=TestIndirectSelection.CAUTIOUS,
            ),
            # a test on several models runs in its own task, after all of them
            render_config=RenderConfig(should_detach_multiple_parents_tests=True),
            # the night's date reaches dbt in the environment, as jobs.transform passes it (dbt_command)
            operator_args={"env": transform_env(settings, night)},
        )
        calendar() >> dbt_models >> mark_rebuilt()

    return bench_dbt_cosmos()


def transform_env(settings, night: dt.date) -> dict[str, str]:
    from daybreak.ingest.accounting import rebuild_from
    from jobs.transform import dbt_command

    _, env = dbt_command(settings, [], night, rebuild_from(settings, night))
    return {
        name: env[name]
        for name in ("DAYBREAK_WAREHOUSE_PATH", "DAYBREAK_HOME", "DAYBREAK_RUN_DATE", "DAYBREAK_REBUILD_FROM")
    }


def build_dag(variant: str, night: dt.date, dbt_vars: dict, invocation: str):
    return one_task_dag(night) if variant == "one_task" else cosmos_dag(night, dbt_vars, invocation)


DAG_FILE = """\"\"\"The airflow DAG of bench.dbt_tasks' {variant} variant, written by it: `dag.test` syncs DAGs from files.\"\"\"

import datetime as dt

from bench.dbt_tasks import build_dag

dag = build_dag({variant!r}, dt.date.fromisoformat({night!r}), {dbt_vars!r}, {invocation!r})
"""


def run_variant(variant: str, night: dt.date, dbt_vars: dict, invocation: str) -> dict:
    """In a process whose environment is `airflow_environment`'s: parse the DAG twice, run it once."""
    import logging

    import pendulum

    from daybreak.core.settings import get_settings
    from daybreak.platform.airflow_env import logical_date_for

    os.environ["DAYBREAK_WAREHOUSE_PATH"] = str(get_settings().warehouse_path)
    os.environ["DAYBREAK_HOME"] = str(get_settings().home)
    logging.getLogger().setLevel(logging.WARNING)

    def build():
        return build_dag(variant, night, dbt_vars, invocation)

    parses = []
    for _ in range(2):  # the first parse is cold (cosmos runs `dbt ls`), the second may use cosmos' cache
        started = time.perf_counter()
        bench_dag = build()
        parses.append(time.perf_counter() - started)

    from airflow.serialization.serialized_objects import DagSerialization

    serialized_bytes = len(json.dumps(DagSerialization.to_dict(bench_dag)))

    cpu_before, started = cpu_seconds(), time.perf_counter()
    dag_run = bench_dag.test(logical_date=pendulum.parse(logical_date_for(night)))
    wall = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_before
    states: dict[str, int] = {}
    failed = []
    for ti in dag_run.get_task_instances():
        states[str(ti.state)] = states.get(str(ti.state), 0) + 1
        if str(ti.state) == "failed":
            failed.append(ti.task_id)
    return {
        "variant": variant,
        "parse_cold": parses[0],
        "parse_warm": parses[1],
        "tasks": len(bench_dag.tasks),
        "serialized_bytes": serialized_bytes,
        "wall": wall,
        "cpu": cpu,
        "dag_run_state": str(dag_run.state),
        "task_instances": sum(states.values()),
        "ti_states": states,
        "failed_tasks": failed,
    }


MEDIAN_KEYS = ("parse_cold", "parse_warm", "wall", "cpu", "process_wall", "process_cpu")


def run_child(
    home: Path, variant: str, night: dt.date, night_vars: dict, invocation: str, log_path: Path
) -> dict | None:
    """Run one variant on the data home `home` in a new process with Airflow's environment; None if it failed."""
    from daybreak.core.settings import PROJECT_ROOT, Settings
    from daybreak.platform.airflow_env import airflow_environment

    dags_folder = home / "bench_dags"
    dags_folder.mkdir()
    (dags_folder / f"bench_dbt_{variant}.py").write_text(
        DAG_FILE.format(variant=variant, night=night.isoformat(), dbt_vars=night_vars, invocation=invocation)
    )
    env = airflow_environment(Settings(home=home, dataset="synthetic"))
    # Airflow 3's dag.test runs only a DAG it found in the DAGs folder: this variant's file, nothing else
    env["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags_folder)
    # cosmos' caches (dbt ls output, dbt's partial parse) start empty on every copy, so "cold" is cold
    env["AIRFLOW__COSMOS__CACHE_DIR"] = str(home / "cosmos_cache")
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(PROJECT_ROOT), str(PROJECT_ROOT / "include"), env.get("PYTHONPATH")])
    )
    command = [
        sys.executable,
        *("-m", "bench", "dbt_tasks", "--run-variant", variant, "--night", night.isoformat()),
        *("--vars", json.dumps(night_vars), "--invocation", invocation),
    ]
    cpu_before, started = cpu_seconds(), time.perf_counter()
    with log_path.open("w") as log_file:
        process = subprocess.run(command, env=env, stdout=log_file, stderr=subprocess.STDOUT, check=False)
    process_wall, process_cpu = time.perf_counter() - started, cpu_seconds() - cpu_before
    output = log_path.read_text(errors="replace").splitlines()
    lines = [line for line in output if line.startswith("RESULT ")]
    if process.returncode != 0 or not lines:
        print(f"{variant}: failed (exit {process.returncode}); its log is {log_path}")
        print("\n".join(output[-20:]))
        return None
    return {
        **json.loads(lines[-1][len("RESULT ") :]),
        "process_wall": process_wall,
        "process_cpu": process_cpu,
    }


def copy_home(source: Path, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("logs"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench dbt_tasks", description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="folder for the data homes (default: a new temporary folder)")
    parser.add_argument(
        "--history-start",
        help="first day simulated (default: the synthetic config's start, 2023-01-01: the demo's two years)",
    )
    parser.add_argument(
        "--invocation",
        choices=("dbt_runner", "subprocess"),
        default="dbt_runner",
        help="how cosmos runs dbt in each task (dbt_runner: in the task's process, cosmos' default when dbt "
        "is importable; subprocess: a new dbt process per task, as jobs.transform does)",
    )
    parser.add_argument("--repeats", type=int, default=2, help="runs of each variant, alternating (medians)")
    parser.add_argument(
        "--reuse-base",
        action="store_true",
        help="reuse the loaded data home an earlier run left in --home/base (skips simulate and history)",
    )
    parser.add_argument("--run-variant", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--night", help=argparse.SUPPRESS)
    parser.add_argument("--vars", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.run_variant:  # the child: the environment is already Airflow's and the copy's
        result = run_variant(
            args.run_variant, dt.date.fromisoformat(args.night), json.loads(args.vars), args.invocation
        )
        print("RESULT " + json.dumps(result))
        return 0

    import importlib.util

    if importlib.util.find_spec("cosmos") is None:  # say so now, not after the history load
        print(
            "astronomer-cosmos is not installed in this environment; it is this benchmark's own dependency, not "
            f"the project's: `{COSMOS_INSTALL}` into a separate environment (a copy of .venv) and run it there"
        )
        return 2
    root = Path(args.home or tempfile.mkdtemp(prefix="daybreak-bench-dbt-")).resolve()
    base = root / "base"
    os.environ["DAYBREAK_HOME"] = str(base)
    os.environ["DAYBREAK_DATASET"] = "synthetic"

    from daybreak.core.settings import Settings, get_settings
    from daybreak.datasets import load_dataset_config
    from daybreak.ingest.simulation.synthetic import simulate_synthetic
    from daybreak.platform.airflow_env import airflow_environment, prepare_metadata
    from daybreak.warehouse.connection import connect, table_checksums
    from jobs import ingest
    from jobs.pipeline import load_history
    from jobs.transform import dbt_vars

    settings = get_settings()
    config = load_dataset_config("synthetic")
    start = dt.date.fromisoformat(args.history_start or str(config.simulation["start"]))
    night = dt.date.fromisoformat(str(config.simulation["end"]))
    setup_record = base / "bench_setup.json"
    if args.reuse_base and setup_record.exists():
        setup = json.loads(setup_record.read_text())
        start, setup_seconds = dt.date.fromisoformat(setup["start"]), setup["seconds"]
    else:
        if base.exists():
            shutil.rmtree(base)
        began = time.perf_counter()
        simulate_synthetic(settings.landing_dir, start=start, end=night, seed=42)
        load_history(night - dt.timedelta(days=1), settings)
        ingest.run(night, f"bench__{night.isoformat()}", settings)
        prepare_metadata(airflow_environment(settings))
        setup_seconds = time.perf_counter() - began
        setup_record.write_text(json.dumps({"start": start.isoformat(), "seconds": setup_seconds}))
    night_vars = dbt_vars(config)

    runs: dict[str, list[dict]] = {variant: [] for variant in VARIANTS}
    checksums: dict[str, list[dict]] = {variant: [] for variant in VARIANTS}  # per run: exact, rounded
    loads = []  # the 1-minute load average as each run starts: the machine may be shared
    for repeat in range(args.repeats):
        for variant in VARIANTS:  # alternating, so a change in the machine's load falls on both alike
            home = root / variant
            copy_home(base, home)
            loads.append(os.getloadavg()[0])
            result = run_child(
                home, variant, night, night_vars, args.invocation, root / f"{variant}.{repeat}.log"
            )
            if result is None:
                return 1
            runs[variant].append(result)
            with connect(Settings(home=home, dataset="synthetic").warehouse_path, read_only=True) as c:
                checksums[variant].append({"exact": table_checksums(c), "rounded": rounded_checksums(c)})
    results = {
        variant: {key: statistics.median(run[key] for run in runs[variant]) for key in MEDIAN_KEYS}
        | {
            key: runs[variant][-1][key]
            for key in ("tasks", "serialized_bytes", "task_instances", "dag_run_state", "ti_states")
        }
        | {"failed_tasks": sorted({task for run in runs[variant] for task in run["failed_tasks"]})}
        for variant in VARIANTS
    }

    baseline = results["one_task"]
    print(
        f"demo night {night} (history {start}..{night - dt.timedelta(days=1)} loaded first, {setup_seconds:.0f} s); "
        f"cosmos {_cosmos_version()} invocation {args.invocation}; medians of {args.repeats} runs each, "
        f"1-minute load average at the runs' starts {min(loads):.1f}..{max(loads):.1f}"
    )
    print(f"baseline: one task calling jobs.transform.run, dag.test wall {baseline['wall']:.2f} s")
    rows = [
        ("DAG parse, cold (s)", "parse_cold"),
        ("DAG parse, warm (s)", "parse_warm"),
        ("tasks in the DAG", "tasks"),
        ("serialized DAG (bytes)", "serialized_bytes"),
        ("task instances created", "task_instances"),
        ("dag.test wall (s)", "wall"),
        ("dag.test CPU, process tree (s)", "cpu"),
        ("whole process wall (s)", "process_wall"),
        ("whole process CPU (s)", "process_cpu"),
    ]
    print(f"{'figure':34} {'one_task':>10} {'cosmos':>10} {'x one_task':>11}")
    for label, key in rows:
        one, other = baseline[key], results["cosmos"][key]
        ratio = f"{other / one:11.1f}" if one else f"{'-':>11}"
        fmt = "{:10d}" if isinstance(one, int) else "{:10.2f}"
        print(f"{label:34} {fmt.format(one)} {fmt.format(other)} {ratio}")
    for variant in VARIANTS:
        print(
            f"{variant}: dag run {results[variant]['dag_run_state']}, task states {results[variant]['ti_states']}"
        )
    comparisons = [("cosmos against one_task", checksums["one_task"][-1], checksums["cosmos"][-1])]
    if args.repeats > 1:
        comparisons.append(("one_task against itself", checksums["one_task"][0], checksums["one_task"][-1]))
    equal_rounded = True
    for label, first, second in comparisons:
        exact, rounded = (
            _differing(first["exact"], second["exact"]),
            _differing(first["rounded"], second["rounded"]),
        )
        equal_rounded = equal_rounded and not rounded
        print(
            f"warehouse, {label}: {len(first['exact'])} relations; exactly equal: "
            + (f"no, {len(exact)} differ ({', '.join(exact)})" if exact else "yes")
            + f"; equal with doubles rounded to {ROUND_DIGITS} decimals: "
            + (f"no, {len(rounded)} differ ({', '.join(rounded)})" if rounded else "yes")
        )
    print(f"data homes: {root}")
    return 0 if equal_rounded else 1


def _differing(first: dict, second: dict) -> list[str]:
    return sorted(name for name in first.keys() | second.keys() if first.get(name) != second.get(name))


ROUND_DIGITS = 6


def rounded_checksums(connection, digits: int = ROUND_DIGITS, home: str | None = None) -> dict:
    """`table_checksums` with every floating-point column rounded to `digits` decimals.

    DuckDB sums doubles on several threads in an order that varies between runs, so a sum over many rows can
    differ in its last bits between two identical builds; rounding tells such noise from a real difference.
    With `home`, text columns have that data home's folder taken out (a report's path names it), so two homes
    that wrote the same compare equal.
    """
    relations = connection.execute(
        """
        select table_schema, table_name, list(column_name order by ordinal_position),
            list(data_type order by ordinal_position)
        from information_schema.columns
        where table_catalog = current_database() and table_schema not in ('information_schema', 'pg_catalog')
        group by all
        order by all
        """
    ).fetchall()
    checksums = {}
    for schema, table, columns, types in relations:
        kept = [
            f'round("{column}", {digits})'
            if kind in ("DOUBLE", "FLOAT")
            else f"replace(\"{column}\", '{home}', '')"
            if home and kind == "VARCHAR"
            else f'"{column}"'
            for column, kind in zip(columns, types, strict=True)
            if column not in ("run_id", "ingested_at")
        ]
        checksums[f"{schema}.{table}"] = connection.execute(
            f'select count(*), coalesce(sum(hash(row({", ".join(kept)}))), 0) from "{schema}"."{table}"'  # noqa: S608
        ).fetchone()
    return checksums


def _cosmos_version() -> str:
    try:
        from importlib.metadata import version

        return version("astronomer-cosmos")
    except Exception:  # noqa: BLE001 - only a label
        return "not installed"
