"""Forecast accuracy and wall time on all 500 Kaggle store-item series, against a plain default-Prophet loop.

Holdout: the last `--holdout` days (90) of every series. In one run, on the same machine:

1. a Daybreak retrain night: every candidate of `store_item.yml` backtested per series (rolling origin, horizon =
   the holdout length), the winner selected, fitted and forecast, on every core;
2. a plain loop fitting default `Prophet()` per series and predicting the holdout dates (one process);
3. a Daybreak normal night: each series' champion from step 1 scores on the same history, as the config's
   `normal_night` says (`score`, the default: from the fit stored at step 1, without fitting), and the same night
   with `normal_night: refit` (the champion refit, warm-started, then scored);
4. the baseline, what a user writes first: Prophet's quickstart per series in a plain loop
   (`make_future_dataframe` + `predict`, which predicts the history too);
5. a retrain night with the global candidate (`global_lgbm`, one LightGBM model across all series) competing
   beside the per-series candidates of step 1 (step 1 runs without it whatever `store_item.yml` says);
6. the global candidate alone: one fit across all series on the full training history, forecasting the
   holdout (what a normal night whose champions are all global costs), with its sMAPE and interval coverage.

`--no-global` leaves out steps 5 and 6; `--global-only` runs step 6 alone (the global candidate's accuracy on
many series without the hours the per-series steps take). Steps 2 to 4 run back to back so that they see similar load from anything else on the machine; CPU seconds
(this process and its workers) are printed beside the wall times for the same reason. Accuracy is mean sMAPE
(percent) over series against the holdout. The engine is the same `run_all` the forecast job calls; the job's
warehouse reads and writes are not included.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_SOURCE = (
    Path(__file__).resolve().parents[2] / "shared/data/store_item_demand/demand-forecasting-kernels-only.zip"
)


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    denominator = np.abs(actual) + np.abs(forecast)
    terms = np.where(
        denominator == 0, 0.0, 2 * np.abs(forecast - actual) / np.where(denominator == 0, 1, denominator)
    )
    return float(100 * terms.mean())


def load(source: Path, series: int | None) -> pd.DataFrame:
    with zipfile.ZipFile(source) as archive:
        frame = pd.read_csv(archive.open("train.csv"), parse_dates=["date"])
    frame["series_id"] = "location=" + frame["store"].astype(str) + "|product_id=" + frame["item"].astype(str)
    frame = frame.rename(columns={"date": "ds", "sales": "y"})[["series_id", "ds", "y"]]
    if series:
        keep = sorted(frame["series_id"].unique())[:series]
        frame = frame[frame["series_id"].isin(keep)]
    return frame.sort_values(["series_id", "ds"], ignore_index=True)


def plain_prophet_loop(train: pd.DataFrame, holdout_dates: pd.DatetimeIndex, *, quickstart: bool) -> dict:
    """The baseline: default Prophet fitted and predicted per series, in a plain loop (one process).

    `quickstart=True` is Prophet's quickstart verbatim, `make_future_dataframe(periods=h)` then `predict`, which
    also predicts (with intervals) every day of the history; `False` predicts only the holdout dates, which is
    what a user who reads further writes. Both give the same forecasts.
    """
    from prophet import Prophet

    forecasts = {}
    for series_id, group in train.groupby("series_id", sort=True):
        model = Prophet().fit(group[["ds", "y"]])
        if quickstart:
            future = model.make_future_dataframe(periods=len(holdout_dates))
            predicted = model.predict(future).tail(len(holdout_dates))
        else:
            predicted = model.predict(pd.DataFrame({"ds": holdout_dates}))
        forecasts[series_id] = predicted["yhat"].to_numpy()
    return forecasts


def night_tasks(histories, origin, context, options, champions: dict | None = None) -> list:
    """A night's `SeriesTask`s for (series id, dates, values) histories: a retrain night's without `champions`,
    else a normal night's, each series scoring with its champion."""
    from daybreak.models.forecasting.tasks import SeriesTask

    return [
        SeriesTask(
            series_id=sid,
            ds=ds,
            y=y,
            origin=origin,
            context=context,
            options=options,
            retrain=champions is None,
            champion=None if champions is None else champions[sid],
        )
        for sid, ds, y in histories
    ]


def timed(work):
    """Run `work()`; returns (its result, wall seconds, CPU seconds of this process and of finished workers)."""
    import resource

    def cpu() -> float:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    cpu_before, started = cpu(), time.perf_counter()
    result = work()
    return result, time.perf_counter() - started, cpu() - cpu_before


def peak_rss_mb(*, children: bool = False) -> float:
    """Peak resident memory in MB of this process, or of its largest finished worker (`ru_maxrss`, Linux: kB)."""
    import resource

    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench forecast_store_item", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--source", type=Path, default=Path(os.environ.get("DAYBREAK_STORE_ITEM_PATH", DEFAULT_SOURCE))
    )
    parser.add_argument("--holdout", type=int, default=90)
    parser.add_argument(
        "--series", type=int, help="only the first N series (a quick check; the figures use all)"
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument(
        "--ensemble-top", type=int, help="override store_item.yml's ensemble_top (0: no ensembles)"
    )
    parser.add_argument(
        "--uncertainty-samples",
        type=int,
        help="Prophet's interval samples in the nights' final fits (default: the engine's UNCERTAINTY_SAMPLES)",
    )
    parser.add_argument(
        "--no-global", action="store_true", help="leave out the global candidate's runs (steps 5 and 6)"
    )
    parser.add_argument(
        "--global-only",
        action="store_true",
        help="only step 6, the global candidate alone: its accuracy and coverage on every series, quickly",
    )
    args = parser.parse_args(argv)

    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.WARNING)
    for name in ("cmdstanpy", "prophet"):
        logging.getLogger(name).setLevel(logging.WARNING)

    from daybreak.core.files import dumps
    from daybreak.datasets import load_dataset_config
    from daybreak.datasets.calendar import BusinessCalendar
    from daybreak.models import DEFAULT_SEED
    from daybreak.models.forecasting.context import CalendarDays, SeriesContext
    from daybreak.models.forecasting.panel import with_panel_forecasts
    from daybreak.models.forecasting.pool import run_all
    from daybreak.models.forecasting.registry import across_series, spec
    from daybreak.models.forecasting.tasks import Champion

    frame = load(args.source, args.series)
    last = frame["ds"].max()
    origin = last - pd.Timedelta(days=args.holdout)
    holdout_dates = pd.date_range(origin + pd.Timedelta(days=1), last, freq="D")
    train = frame[frame["ds"] <= origin]
    actual = {
        sid: g["y"].to_numpy(float) for sid, g in frame[frame["ds"] > origin].groupby("series_id", sort=True)
    }
    print(
        f"{len(actual)} series, training through {origin.date()}, holdout {holdout_dates[0].date()}..{last.date()}"
    )

    config = load_dataset_config("store_item")
    backtest = dataclasses.replace(config.forecasting.backtest, horizon=args.holdout, step=args.holdout)
    section = dataclasses.replace(config.forecasting, backtest=backtest)
    if args.ensemble_top is not None:
        section = dataclasses.replace(section, ensemble_top=args.ensemble_top)
    shipped = section.options(args.holdout)
    global_spec = next((c for c in shipped.candidates if across_series(c)), spec("global_lgbm"))
    per_series = tuple(c for c in shipped.candidates if not across_series(c))
    options = dataclasses.replace(shipped, candidates=per_series)
    with_global = dataclasses.replace(shipped, candidates=(*per_series, global_spec))
    calendar = BusinessCalendar.from_config(config).frame(frame["ds"].min().date(), last.date())
    context = SeriesContext(
        freq="D", seed=DEFAULT_SEED, calendar=CalendarDays.from_frame(calendar), non_negative=True
    )
    if args.uncertainty_samples is not None:
        context = dataclasses.replace(context, uncertainty_samples=args.uncertainty_samples)
    groups = list(train.groupby("series_id", sort=True))

    histories = [(sid, g["ds"].to_numpy(), g["y"].to_numpy(float)) for sid, g in groups]

    def tasks(champions: dict | None, options=options) -> list:
        return night_tasks(histories, origin, context, options, champions)

    if args.global_only:
        global_champions = {sid: Champion("bench", global_spec) for sid, _ in groups}
        alone, alone_seconds, alone_cpu = timed(lambda: with_panel_forecasts(tasks(global_champions)))
        made = {t.series_id: t.panel[global_spec.label].final for t in alone}
        made = {sid: f for sid, f in made.items() if f is not None}
        inside = {
            level: np.mean(
                [
                    np.mean((f[f"yhat_lower_{level}"] <= actual[s]) & (actual[s] <= f[f"yhat_upper_{level}"]))
                    for s, f in made.items()
                ]
            )
            for level in ("80", "95")
        }
        print(
            f"global candidate alone, {global_spec.label}: {len(made)} series forecast, wall {alone_seconds:.1f} s, "
            f"CPU {alone_cpu:.1f} s, mean sMAPE {np.mean([smape(actual[s], f['yhat']) for s, f in made.items()]):.3f}, "
            f"coverage 80% -> {inside['80']:.3f}, 95% -> {inside['95']:.3f}"
        )
        return 0
    retrained, retrain_seconds, retrain_cpu = timed(lambda: run_all(tasks(None), max_workers=args.workers))
    champions = {
        r.series_id: Champion("bench", r.challenger.spec, r.challenger.state, r.challenger.fit)
        for r in retrained
    }
    stored = [len(dumps(c.fit)) for c in champions.values() if c.fit is not None]
    if not args.no_global:
        retrained_global, global_retrain_seconds, global_retrain_cpu = timed(
            lambda: run_all(tasks(None, with_global), max_workers=args.workers)
        )
    lean, lean_seconds, lean_cpu = timed(lambda: plain_prophet_loop(train, holdout_dates, quickstart=False))
    if not args.no_global:
        global_champions = {sid: Champion("bench", global_spec) for sid, _ in groups}
        alone, alone_seconds, alone_cpu = timed(lambda: with_panel_forecasts(tasks(global_champions)))
    refit, night_seconds, night_cpu = timed(lambda: run_all(tasks(champions), max_workers=args.workers))
    refitting = dataclasses.replace(options, normal_night="refit")
    refit_night, refit_seconds, refit_cpu = timed(
        lambda: run_all(tasks(champions, refitting), max_workers=args.workers)
    )
    baseline, baseline_seconds, baseline_cpu = timed(
        lambda: plain_prophet_loop(train, holdout_dates, quickstart=True)
    )

    def mean_smape(forecasts: dict[str, np.ndarray]) -> float:
        return float(np.mean([smape(actual[s], forecasts[s]) for s in actual]))

    def coverage(forecasts: dict[str, dict], level: str) -> float:
        inside = [
            np.mean(
                (np.asarray(f[f"yhat_lower_{level}"]) <= actual[sid])
                & (actual[sid] <= np.asarray(f[f"yhat_upper_{level}"]))
            )
            for sid, f in forecasts.items()
        ]
        return float(np.mean(inside))

    def bands(results) -> dict[str, dict]:
        return {r.series_id: r.forecast for r in results}

    baseline_smape = mean_smape(baseline)
    selected_smape = mean_smape({r.series_id: r.forecast["yhat"].to_numpy() for r in retrained})
    night_smape = mean_smape({r.series_id: r.forecast["yhat"].to_numpy() for r in refit})
    winners = pd.Series([r.selection.scoring_model for r in retrained]).value_counts()
    fallbacks = sum(r.selection.fallback_reason is not None for r in retrained + refit)

    runs = [
        ("plain loop: Prophet quickstart per series", baseline_seconds, baseline_cpu, baseline_smape),
        ("plain loop: default Prophet, holdout dates only", lean_seconds, lean_cpu, mean_smape(lean)),
        ("Daybreak retrain night (backtests + selection)", retrain_seconds, retrain_cpu, selected_smape),
        (f"Daybreak normal night ({options.normal_night})", night_seconds, night_cpu, night_smape),
        (
            "Daybreak normal night (refit)",
            refit_seconds,
            refit_cpu,
            mean_smape({r.series_id: r.forecast["yhat"].to_numpy() for r in refit_night}),
        ),
    ]
    if not args.no_global:
        global_final = {t.series_id: t.panel[global_spec.label].final for t in alone}
        runs += [
            (
                "Daybreak retrain night with the global candidate",
                global_retrain_seconds,
                global_retrain_cpu,
                mean_smape({r.series_id: r.forecast["yhat"].to_numpy() for r in retrained_global}),
            ),
            (
                "global candidate alone (one fit, all series)",
                alone_seconds,
                alone_cpu,
                mean_smape({s: f["yhat"] for s, f in global_final.items() if f is not None}),
            ),
        ]
    print()
    print(
        f"{'run':52} {'wall s':>8} {'x loop':>7} {'x lean':>7} {'CPU s':>8} {'CPU x lean':>11} {'mean sMAPE':>11}"
    )
    for name, wall, cpu, score in runs:
        print(
            f"{name:52} {wall:8.1f} {wall / baseline_seconds:7.2f} {wall / lean_seconds:7.2f} {cpu:8.1f} "
            f"{cpu / lean_cpu:11.2f} {score:11.3f}"
        )
    print(
        "(x loop: wall time against the quickstart loop; x lean: against the holdout-only default-Prophet loop; "
        "CPU x lean: CPU seconds against that loop's)"
    )
    print()
    print(
        f"Daybreak's selected forecasts: mean sMAPE {100 * (1 - selected_smape / baseline_smape):.1f}% below the loop's"
    )
    print(
        f"normal night / loop wall time: {night_seconds / baseline_seconds:.2f} against the quickstart loop "
        f"(bound 0.5), {night_seconds / lean_seconds:.2f} against the holdout-only loop; {args.workers} workers"
    )
    print(
        f"holdout coverage, selected forecasts: 80% -> {coverage(bands(retrained), '80'):.3f}, "
        f"95% -> {coverage(bands(retrained), '95'):.3f}"
    )
    print(
        f"holdout coverage, normal night: 80% -> {coverage(bands(refit), '80'):.3f}, "
        f"95% -> {coverage(bands(refit), '95'):.3f} ({context.uncertainty_samples} interval samples)"
    )
    print(
        f"stored fits: {len(stored)} of {len(champions)} champions, {np.mean(stored or [0]):.0f} bytes of JSON each "
        f"on average (max {max(stored or [0])}); peak RSS {peak_rss_mb():.0f} MB (this process), "
        f"{peak_rss_mb(children=True):.0f} MB (largest worker)"
    )
    print(f"fallbacks flagged: {fallbacks}")
    dropped = sum(
        "dropped after the newest fold" in reason
        for r in retrained
        for reason in json.loads(r.selection.skipped or "{}").values()
    )
    print(f"candidates dropped by successive halving: {dropped} (of {len(retrained)} series)")
    print("winners:")
    for name, count in winners.items():
        print(f"  {count:4d}  {name}")
    if not args.no_global:
        print()
        print(
            f"global candidate: {global_spec.label}; {sum(f is None for f in global_final.values())} ineligible"
        )
        covered = {s: f for s, f in global_final.items() if f is not None}
        print(
            f"holdout coverage, global candidate alone: 80% -> {coverage(covered, '80'):.3f}, "
            f"95% -> {coverage(covered, '95'):.3f}"
        )
        print(
            f"holdout coverage, selected with the global candidate: 80% -> "
            f"{coverage(bands(retrained_global), '80'):.3f}, 95% -> {coverage(bands(retrained_global), '95'):.3f}"
        )
        print("winners with the global candidate:")
        for name, count in (
            pd.Series([r.selection.scoring_model for r in retrained_global]).value_counts().items()
        ):
            print(f"  {count:4d}  {name}")
    return 0
