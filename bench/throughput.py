"""Ingest + transform throughput on a large synthetic history, in lines per second, against plain DuckDB.

Daybreak's path: every day's export through the validated ingest job (typed, checked, quarantined, accounted,
written as an immutable Parquet partition), then the full-refresh `dbt build` of every mart with its tests. The
baseline, in the same run: one DuckDB script that reads every export, writes it as date-partitioned Parquet and
builds the daily revenue per country and the customer totals, with no validation, accounting or tests.

`--floor` then measures, in the same run, the parts of Daybreak's path that no implementation can skip: the
exports read as text and written as the date-partitioned lake (by DuckDB, nothing checked), dbt's start and parse,
writing the `fct_sales_lines` rows (a copy of the built table), and the other marts' and the tests' node times from
the build's `run_results.json`. Their sum against the plain script says how much of the 2x bound is left for the
validation, the line ids and the return linking.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import tempfile
import time
from pathlib import Path


def plain_duckdb(landing_dir: Path, out_dir: Path) -> float:
    import duckdb

    started = time.perf_counter()
    with duckdb.connect(str(out_dir / "plain.duckdb")) as connection:
        connection.execute("set enable_progress_bar = false")
        connection.execute(
            "create or replace table lines as select *, cast(invoice_ts as date) as business_date, "
            "qty * unit_price as revenue from read_csv(?, header = true)",
            [str(landing_dir / "2*" / "*.csv")],
        )
        connection.execute(
            f"copy lines to '{out_dir / 'lake'}' (format parquet, partition_by (business_date), overwrite_or_ignore)"
        )
        connection.execute(
            "create or replace table daily as select business_date, country, sum(revenue) as revenue "
            "from lines group by all"
        )
        connection.execute(
            "create or replace table customers as select customer_ref, count(distinct invoice_no) as orders, "
            "sum(revenue) as revenue, min(business_date) as first_day, max(business_date) as last_day "
            "from lines where customer_ref is not null group by all"
        )
    return time.perf_counter() - started


def floor_parts(settings, out_dir: Path, transform_seconds: float) -> list[tuple[str, float]]:
    """The measured floor of ingest plus transform (see the module docstring), part by part, in seconds."""
    import duckdb

    parts = []
    with duckdb.connect(str(out_dir / "floor.duckdb")) as connection:
        connection.execute("set enable_progress_bar = false")
        began = time.perf_counter()
        connection.execute(
            "create or replace table exports as select * from read_csv(?, header = true, all_varchar = true)",
            [str(settings.landing_dir / "2*" / "*.csv")],
        )
        parts.append(("the exports read as text (DuckDB)", time.perf_counter() - began))
        began = time.perf_counter()
        connection.execute(
            "create or replace view dated as select *, cast(invoice_ts as date) as business_date from exports"
        )
        connection.execute(
            f"copy dated to '{out_dir / 'floor-lake'}' "
            "(format parquet, partition_by (business_date), overwrite_or_ignore)"
        )
        parts.append(("that text written as the dated lake", time.perf_counter() - began))
    run_results = json.loads((settings.dbt_target_dir / "run_results.json").read_text())
    parts.append(("dbt started, project parsed", transform_seconds - run_results["elapsed_time"]))
    copy = out_dir / "warehouse-copy.duckdb"
    shutil.copy(settings.warehouse_path, copy)
    with duckdb.connect(str(copy)) as connection:
        began = time.perf_counter()
        connection.execute("create table main.fct_sales_lines_copy as select * from marts.fct_sales_lines")
        parts.append(("fct_sales_lines' rows written (a copy)", time.perf_counter() - began))
    copy.unlink()
    nodes = run_results["results"]
    parts.append(
        (
            "the other models' nodes",
            sum(
                n["execution_time"]
                for n in nodes
                if n["unique_id"].startswith("model.") and not n["unique_id"].endswith(".fct_sales_lines")
            ),
        )
    )
    parts.append(
        (
            "the data and unit tests' nodes",
            sum(n["execution_time"] for n in nodes if "test." in n["unique_id"]),
        )
    )
    return parts


def simulate_history(landing_dir: Path, start: dt.date, end: dt.date, orders_per_day: float):
    """The synthetic shop at benchmark scale (seed 42, the default population); returns the summary and seconds."""
    from daybreak.ingest.simulation.synthetic import simulate_synthetic

    began = time.perf_counter()
    summary = simulate_synthetic(landing_dir, start=start, end=end, seed=42, orders_per_day=orders_per_day)
    return summary, time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench throughput", description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="data home (default: a new temporary folder)")
    parser.add_argument(
        "--orders-per-day", type=float, default=1020.0, help="1020 gives about 10 million lines"
    )
    parser.add_argument("--start", default="2023-01-01")
    parser.add_argument("--end", default="2024-12-31")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="then measure the parts no implementation can skip (module docstring)",
    )
    args = parser.parse_args(argv)
    home = Path(args.home or tempfile.mkdtemp(prefix="daybreak-bench-"))
    os.environ["DAYBREAK_HOME"] = str(home)
    os.environ["DAYBREAK_DATASET"] = "synthetic"

    from daybreak.core.settings import get_settings
    from daybreak.privacy.local_keys import ensure_local_keys
    from jobs import ingest, transform
    from jobs.pipeline import landed_days

    settings = get_settings()
    ensure_local_keys(settings)  # the privacy keys, as the demo makes them for a fresh home
    start, end = dt.date.fromisoformat(args.start), dt.date.fromisoformat(args.end)
    summary, simulate_seconds = simulate_history(settings.landing_dir, start, end, args.orders_per_day)
    lines = summary.lines_written

    plain_dir = home / "plain"
    plain_dir.mkdir(exist_ok=True)
    plain = plain_duckdb(settings.landing_dir, plain_dir)

    began = time.perf_counter()
    loaded = sum(s["rows_loaded"] for s in ingest.run_days(landed_days(settings), "bench", settings))
    ingest_seconds = time.perf_counter() - began
    began = time.perf_counter()
    transform.run(end, "bench", settings, full_refresh=True)
    transform_seconds = time.perf_counter() - began
    daybreak_seconds = ingest_seconds + transform_seconds

    print(
        f"history: {lines:,} lines over {(end - start).days + 1} days (simulated in {simulate_seconds:.1f} s)"
    )
    print(f"{'':34} {'seconds':>9} {'lines/s':>11} {'x plain':>8}")
    print(f"{'plain DuckDB script':34} {plain:9.1f} {lines / plain:11,.0f} {1.0:8.1f}")
    print(
        f"{'daybreak ingest (validated)':34} {ingest_seconds:9.1f} {loaded / ingest_seconds:11,.0f} "
        f"{ingest_seconds / plain:8.1f}"
    )
    print(
        f"{'daybreak dbt build (full refresh)':34} {transform_seconds:9.1f} {lines / transform_seconds:11,.0f} "
        f"{transform_seconds / plain:8.1f}"
    )
    print(
        f"{'daybreak ingest + transform':34} {daybreak_seconds:9.1f} {lines / daybreak_seconds:11,.0f} "
        f"{daybreak_seconds / plain:8.1f}"
    )
    if args.floor:
        print(f"\nthe floor under ingest + transform (bound: 2 x plain = {2 * plain:.1f} s)")
        print(f"{'':40} {'seconds':>9} {'so far':>8} {'x plain':>8}")
        total = 0.0
        for name, seconds in floor_parts(settings, plain_dir, transform_seconds):
            total += seconds
            print(f"{name:40} {seconds:9.1f} {total:8.1f} {total / plain:8.2f}")
    print(f"data home: {home}")
    return 0
