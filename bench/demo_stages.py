"""Wall time per stage of the demo pipeline, against a plain DuckDB script over the same exports.

Stages: simulate the default synthetic shop; the bulk history load (ingest of every day, the full-refresh dbt
build, forecast, segment, drift, publish); then the nightly runs, in process and one through Airflow
(`airflow dags test`) to show what orchestration adds. The baseline is what a user would write first: one DuckDB
query that reads every export CSV and sums revenue per country and day. Ratios are stage / baseline.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def plain_duckdb_baseline(landing_dir: Path) -> tuple[float, int]:
    import duckdb

    started = time.perf_counter()
    pattern = str(landing_dir / "2*" / "*.csv")
    with duckdb.connect() as connection:
        connection.execute("set enable_progress_bar = false")
        rows = connection.execute(
            "select count(*) from (select cast(invoice_ts as date) as day, country, sum(qty * unit_price) "
            "from read_csv(?, header = true) group by all)",
            [pattern],
        ).fetchone()[0]
    return time.perf_counter() - started, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench demo_stages", description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="data home to use (default: a new temporary folder)")
    parser.add_argument("--nights", type=int, default=7)
    parser.add_argument(
        "--airflow-nights", type=int, default=1, help="nights also run through `airflow dags test`"
    )
    args = parser.parse_args(argv)

    home = Path(args.home or tempfile.mkdtemp(prefix="daybreak-bench-"))
    os.environ["DAYBREAK_HOME"] = str(home)
    os.environ["DAYBREAK_DATASET"] = "synthetic"

    from daybreak.core.settings import get_settings
    from daybreak.datasets import load_dataset_config
    from daybreak.ingest.simulation.synthetic import simulate_synthetic
    from daybreak.platform.airflow_env import airflow_environment, logical_date_for
    from jobs.pipeline import load_history, run_night

    settings = get_settings()
    config = load_dataset_config("synthetic").simulation
    start, end = dt.date.fromisoformat(str(config["start"])), dt.date.fromisoformat(str(config["end"]))
    figures: list[tuple[str, float, str]] = []

    began = time.perf_counter()
    summary = simulate_synthetic(settings.landing_dir, start=start, end=end, seed=42)
    figures.append(("simulate (2 years)", time.perf_counter() - began, f"{summary.lines_written:,} lines"))

    baseline, groups = plain_duckdb_baseline(settings.landing_dir)
    history_end = end - dt.timedelta(days=args.nights)
    history = load_history(history_end, settings)
    for step, result in history.items():
        note = (
            f"{result.get('rows_loaded', '')} lines, {result.get('days', '')} days"
            if step == "ingest"
            else ""
        )
        figures.append((f"history: {step}", result["seconds"], note))

    per_step: dict[str, list[float]] = {}
    nights = [end - dt.timedelta(days=offset) for offset in range(args.nights - 1, -1, -1)]
    in_process = nights[: len(nights) - args.airflow_nights]
    for day in in_process:
        for step, result in run_night(day, settings=settings).items():
            per_step.setdefault(step, []).append(result["seconds"])
    for step, seconds in per_step.items():
        figures.append((f"night: {step} (median of {len(seconds)})", statistics.median(seconds), ""))
    night_total = sum(statistics.median(seconds) for seconds in per_step.values())
    figures.append(("night: all steps in process", night_total, ""))

    env = airflow_environment(settings)
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
    airflow_times = []
    for day in nights[len(in_process) :]:
        began = time.perf_counter()
        subprocess.run(
            [airflow, "dags", "test", "daybreak_nightly", logical_date_for(day)],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        airflow_times.append(time.perf_counter() - began)
    if airflow_times:
        figures.append(("night: through `airflow dags test`", statistics.median(airflow_times), ""))

    print(
        f"baseline: plain DuckDB read of every export + revenue per country and day: {baseline:.2f} s "
        f"({groups:,} groups)"
    )
    print(f"{'stage':48} {'seconds':>9} {'x baseline':>11}  note")
    for stage, seconds, note in figures:
        print(f"{stage:48} {seconds:9.2f} {seconds / baseline:11.1f}  {note}")
    print(f"data home: {home}")
    return 0
