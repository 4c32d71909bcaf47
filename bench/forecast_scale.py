"""A retrain night and a normal night on many simulated daily series: time, CPU and peak memory on this machine.

What a dataset of `--series` daily series (50,000 by default) costs the forecast engine, and from it the Spark
executors a retrain needs to finish in one hour. The series are simulated (`simulate`), shaped like store-item
demand: a per-series level, a weekday profile, a yearly swing and a trend, Poisson counts; each series is a pure
function of the seed and its number. Both nights run the same `run_all` the forecast job calls, with a dataset
config's `forecasting:` section (`--dataset`, store_item by default) at its nightly horizon and backtest; the
normal night scores the retrain's champions as the config's `normal_night` says. The job's warehouse reads and
writes are not included. `--champions-from N` retrains only the first N series and lets the normal night's
series share their champions, to measure a large normal night without its retrain's hours. CPU seconds are this
process's and its finished workers'; peak memory is this process's and its largest worker's (`ru_maxrss`).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import math
import os
import warnings

import numpy as np
import pandas as pd

from bench.forecast_store_item import night_tasks, peak_rss_mb, timed

USEFUL_SHARE = 0.75
"""Of an executor core's hour, the share spent fitting (the rest: the last partitions' tail, series that run to
the time limit, starting the session and its Python workers); the docs' executor estimates use the same."""
EXECUTOR_CORES = 4


def simulate(series: int, days: int, seed: int, start: str = "2022-01-01") -> tuple[pd.DatetimeIndex, list]:
    """`series` daily count series of `days` days: (the dates, a list of (series id, values))."""
    ds = pd.date_range(start, periods=days, freq="D")
    t = np.arange(days) / 365.25
    weekday = ds.dayofweek.to_numpy()
    shape = np.array([0.85, 0.95, 0.95, 1.0, 1.05, 1.15, 1.05])
    made = []
    for number in range(series):
        rng = np.random.default_rng([seed, number])
        level = math.exp(rng.normal(3.0, 0.8))
        week = shape * (1 + rng.normal(0, 0.05, 7))
        swing = rng.uniform(0.1, 0.4) * np.sin(2 * np.pi * t + rng.uniform(0, 2 * np.pi))
        trend = (1 + rng.normal(0.03, 0.05)) ** t
        rate = level * week[weekday] * (1 + swing) * trend
        made.append((f"series={number:06d}", rng.poisson(rate).astype(float)))
    return ds, made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench forecast_scale", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--series", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=1096, help="history per series (default three years)")
    parser.add_argument("--dataset", default="store_item", help="whose forecasting: section to run")
    parser.add_argument(
        "--candidates",
        help="comma-separated model names instead of the config's candidates (seasonal_naive alone measures "
        "the engine's own cost and memory per series, without any model fit)",
    )
    parser.add_argument(
        "--champions-from",
        type=int,
        metavar="N",
        help="retrain only the first N series, and give series k the champion of series k mod N on the normal "
        "night: a scored night's time and memory do not depend on which stored fit a series scores from, so "
        "this measures a large normal night without the hours of its retrain",
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.WARNING)
    for name in ("cmdstanpy", "prophet"):
        logging.getLogger(name).setLevel(logging.WARNING)

    from daybreak.datasets import load_dataset_config
    from daybreak.datasets.calendar import BusinessCalendar
    from daybreak.models import DEFAULT_SEED
    from daybreak.models.forecasting.context import CalendarDays, SeriesContext
    from daybreak.models.forecasting.pool import run_all
    from daybreak.models.forecasting.registry import spec
    from daybreak.models.forecasting.tasks import Champion

    config = load_dataset_config(args.dataset)
    options = config.forecasting.options(config.series.horizon)
    if args.candidates:
        names = args.candidates.split(",")
        options = dataclasses.replace(options, candidates=tuple(spec(name) for name in names))
    (ds, made), simulate_seconds, _ = timed(lambda: simulate(args.series, args.days, args.seed))
    origin = ds[-1]
    calendar = BusinessCalendar.from_config(config).frame(
        ds[0].date(), (origin + pd.Timedelta(days=400)).date()
    )
    context = SeriesContext(
        freq="D", seed=DEFAULT_SEED, calendar=CalendarDays.from_frame(calendar), non_negative=True
    )
    histories = [(sid, ds.to_numpy(), y) for sid, y in made]
    retrained_series = min(args.champions_from or args.series, args.series)

    print(
        f"{args.series} simulated daily series x {args.days} days (made in {simulate_seconds:.1f} s), "
        f"{args.dataset}.yml's forecasting, candidates {[c.name for c in options.candidates]}, horizon {options.horizon}, "
        f"{options.folds} backtest fold(s) of {options.bt_horizon}, normal night: {options.normal_night}; "
        f"{args.workers} workers"
        + (f"; the retrain on the first {retrained_series}" if retrained_series < args.series else ""),
        flush=True,
    )
    header = f"{'night':24} {'series':>7} {'wall s':>9} {'CPU s':>9} {'CPU s/series':>13} {'peak RSS MB: process':>21} {'worker':>7}"

    def report(name: str, series: int, wall: float, cpu: float) -> None:
        """One night's row, printed as soon as the night ends (a 50,000-series retrain takes hours)."""
        print(
            f"{name:24} {series:7d} {wall:9.1f} {cpu:9.1f} {cpu / series:13.4f} {peak_rss_mb():21.0f} "
            f"{peak_rss_mb(children=True):7.0f}",
            flush=True,
        )

    retrained, retrain_seconds, retrain_cpu = timed(
        lambda: run_all(
            night_tasks(histories[:retrained_series], origin, context, options), max_workers=args.workers
        )
    )
    print(f"\n{header}", flush=True)
    report("retrain", retrained_series, retrain_seconds, retrain_cpu)
    fits = [Champion("bench", r.challenger.spec, r.challenger.state, r.challenger.fit) for r in retrained]
    champions = {sid: fits[k % len(fits)] for k, (sid, _, _) in enumerate(histories)}
    winners = pd.Series([r.selection.scoring_model for r in retrained]).value_counts()
    fallbacks = sum(r.selection.fallback_reason is not None for r in retrained)
    del retrained
    scored, night_seconds, night_cpu = timed(
        lambda: run_all(night_tasks(histories, origin, context, options, champions), max_workers=args.workers)
    )
    fallbacks += sum(r.selection.fallback_reason is not None for r in scored)
    report(f"normal ({options.normal_night})", args.series, night_seconds, night_cpu)
    print(
        "(worker: the largest finished worker so far, so the normal night's is the larger of the two nights')"
    )
    print(f"fallbacks flagged: {fallbacks}")
    print("winners:")
    for name, count in winners.items():
        print(f"  {count:6d}  {name}")
    per_series = retrain_cpu / retrained_series
    for scale in sorted({args.series, 50_000}):
        cores = math.ceil(scale * per_series / 3600 / USEFUL_SHARE)
        print(
            f"a {scale}-series retrain in one hour at {per_series:.3f} CPU s a series and {USEFUL_SHARE:.0%} useful "
            f"time: {cores} executor cores, {math.ceil(cores / EXECUTOR_CORES)} executors of {EXECUTOR_CORES}"
        )
    return 0
