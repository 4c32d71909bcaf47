"""Does a night cost in proportion to the new day, not the history? Night 300 against night 10 of a replay.

The synthetic shop is simulated from 2023-01-01; the history is loaded up to day 9, then night 10 runs (ingest and
the incremental `dbt build`, then the whole night); then the history is loaded up to day 299 and night 300 runs
the same way. Each night is run `--repeat` times (a rerun is the same work: the partition is replaced) and the
median taken. The baseline, measured in the same run, is a plain DuckDB script that reads that day's export and
sums revenue per country: the least work a night could do. The acceptance bound is night 300 / night 10 <= 1.5.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path

START = dt.date(2023, 1, 1)


def plain_day(landing_dir: Path, day: dt.date) -> float:
    import duckdb

    started = time.perf_counter()
    with duckdb.connect() as connection:
        connection.execute("set enable_progress_bar = false")
        connection.execute(
            "select cast(invoice_ts as date), country, sum(qty * unit_price) from read_csv(?, header = true) "
            "group by all",
            [str(landing_dir / day.isoformat() / "*.csv")],
        ).fetchall()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench incremental", description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="data home (default: a new temporary folder)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--orders-per-day", type=float, help="synthetic volume (default: the demo shop's)")
    args = parser.parse_args(argv)
    os.environ["DAYBREAK_HOME"] = args.home or tempfile.mkdtemp(prefix="daybreak-bench-")
    os.environ["DAYBREAK_DATASET"] = "synthetic"

    from daybreak.core.settings import get_settings
    from daybreak.ingest.simulation.synthetic import simulate_synthetic
    from jobs import ingest, transform
    from jobs.pipeline import load_history, run_night

    settings = get_settings()
    day10, day300 = START + dt.timedelta(days=9), START + dt.timedelta(days=299)
    simulate_synthetic(
        settings.landing_dir, start=START, end=day300, seed=42, orders_per_day=args.orders_per_day
    )

    results = {}
    for label, day in (("night 10", day10), ("night 300", day300)):
        load_history(day - dt.timedelta(days=1), settings)
        incremental, whole, plain = [], [], []
        for attempt in range(args.repeat):
            plain.append(plain_day(settings.landing_dir, day))
            started = time.perf_counter()
            ingest.run(day, f"bench-{attempt}", settings)
            transform.run(day, f"bench-{attempt}", settings)
            incremental.append(time.perf_counter() - started)
            started = time.perf_counter()
            run_night(day, f"bench-{attempt}", settings)
            whole.append(time.perf_counter() - started)
        results[label] = (statistics.median(plain), statistics.median(incremental), statistics.median(whole))

    print(f"{'':10} {'plain DuckDB (s)':>17} {'ingest+dbt (s)':>15} {'x plain':>8} {'whole night (s)':>16}")
    for label, (plain, incremental, whole) in results.items():
        print(f"{label:10} {plain:17.2f} {incremental:15.2f} {incremental / plain:8.1f} {whole:16.2f}")
    ratio = results["night 300"][1] / results["night 10"][1]
    whole_ratio = results["night 300"][2] / results["night 10"][2]
    print(f"night 300 / night 10: ingest+dbt {ratio:.2f} (bound 1.5), whole night {whole_ratio:.2f}")
    print(f"data home: {settings.home}")
    return 0
