"""What pseudonymisation costs a demo night: the same night with customer ids hashed at ingest and without.

The demo shop (the synthetic dataset's default volume) is simulated and its history loaded once, up to the night
before the last simulated day; then the last night runs `--repeat` times in each mode, each time on a fresh copy
of that data home (so ingest really lands the day's file every time): `with` is Daybreak as shipped (HMAC of every
customer id, the encrypted link store updated before the lake is written), `without` skips that one function
(`daybreak.ingest.preparation`'s `pseudonymise`; forked workers inherit the swap), the baseline measured in the same run. Printed: the median seconds of the
history's ingest (every day up to the night, into an empty home: where the hashing and the link store's rewrites
add up), of the night's ingest step and of the whole night (`jobs.pipeline.run_night`: ingest, privacy, transform, drift, forecast,
segment, publish) per mode, and with / without.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench pseudonyms", description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="data home (default: a new temporary folder)")
    parser.add_argument(
        "--days", type=int, default=120, help="days of history before the night (default 120)"
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    base = Path(args.home or tempfile.mkdtemp(prefix="daybreak-bench-pseudonyms-"))
    os.environ["DAYBREAK_DATASET"] = "synthetic"

    from daybreak.core.settings import Settings
    from daybreak.ingest import preparation
    from daybreak.ingest.simulation.synthetic import simulate_synthetic
    from daybreak.privacy.local_keys import ensure_local_keys
    from jobs import ingest
    from jobs.pipeline import load_history, run_night

    start = dt.date(2023, 1, 1)  # the demo shop's first day
    night = start + dt.timedelta(days=args.days)
    history = Settings(home=base / "history", dataset="synthetic")
    ensure_local_keys(history)
    if not history.warehouse_path.exists():
        simulate_synthetic(history.landing_dir, start=start, end=night, seed=42)
        load_history(night - dt.timedelta(days=1), history)

    real = preparation.pseudonymise
    modes = {"without": lambda result, config, key: (result, {}), "with": real}
    parts = ("history", "ingest", "night")
    seconds: dict[str, dict[str, list[float]]] = {mode: {part: [] for part in parts} for mode in modes}
    days = [start + dt.timedelta(days=offset) for offset in range(args.days)]
    for attempt in range(args.repeat):
        for mode, function in modes.items():
            home = base / f"{mode}-{attempt}"
            preparation.pseudonymise = function
            try:
                shutil.rmtree(home, ignore_errors=True)
                shutil.copytree(history.landing_dir, Settings(home=home, dataset="synthetic").landing_dir)
                started = time.perf_counter()
                ingest.run_days(days, "bench-history", Settings(home=home, dataset="synthetic"))
                seconds[mode]["history"].append(time.perf_counter() - started)
                shutil.rmtree(home)
                shutil.copytree(history.home, home)
                steps = run_night(night, f"bench-{mode}-{attempt}", Settings(home=home, dataset="synthetic"))
            finally:
                preparation.pseudonymise = real
            seconds[mode]["ingest"].append(steps["ingest"]["seconds"])
            seconds[mode]["night"].append(sum(step["seconds"] for step in steps.values()))
            shutil.rmtree(home)

    medians = {mode: {k: statistics.median(v) for k, v in parts.items()} for mode, parts in seconds.items()}
    print(f"night {night} after {args.days} days of the demo shop, {args.repeat} runs per mode (medians)")
    print(f"{'mode':10} {'history ingest (s)':>19} {'night ingest (s)':>17} {'whole night (s)':>16}")
    for mode, values in medians.items():
        print(f"{mode:10} {values['history']:19.2f} {values['ingest']:17.2f} {values['night']:16.2f}")
    ratios = {part: medians["with"][part] / medians["without"][part] for part in parts}
    print(
        f"with / without: history ingest {ratios['history']:.2f}, night ingest {ratios['ingest']:.2f}, "
        f"whole night {ratios['night']:.2f}"
    )
    print(f"data home: {base}")
    return 0
