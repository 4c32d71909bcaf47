"""Forecast accuracy and wall time on all 500 Kaggle store-item series, against a plain default-Prophet loop.

Holdout: the last `--holdout` days (90) of every series. In one run, on the same machine:

1. baseline: what a user writes first, a loop that fits `Prophet()` with its defaults to each series and predicts
   the holdout (one process);
2. a Daybreak retrain night: every candidate of `store_item.yml` backtested per series (rolling origin, horizon =
   the holdout length), the winner selected, fitted and forecast, on every core;
3. a Daybreak normal night: each series' champion from step 2 refit (warm-started) on the same history, scored.

Accuracy is mean sMAPE (percent) over series against the holdout; times are wall seconds and ratios to the loop.
The engine is the same `run_all` the forecast job calls; the job's warehouse reads and writes are not included.
"""

from __future__ import annotations

import argparse
import dataclasses
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


def plain_prophet_loop(train: pd.DataFrame, holdout_dates: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    """The baseline: default Prophet fitted and predicted per series, in a plain loop."""
    from prophet import Prophet

    forecasts = {}
    for series_id, group in train.groupby("series_id", sort=True):
        model = Prophet().fit(group[["ds", "y"]])
        forecasts[series_id] = model.predict(pd.DataFrame({"ds": holdout_dates}))["yhat"].to_numpy()
    return forecasts


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
    args = parser.parse_args(argv)

    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.WARNING)
    for name in ("cmdstanpy", "prophet"):
        logging.getLogger(name).setLevel(logging.WARNING)

    from daybreak.datasets import load_dataset_config
    from daybreak.models import DEFAULT_SEED
    from daybreak.models.candidates import SeriesContext
    from daybreak.models.forecasting import SeriesTask, run_all

    frame = load(args.source, args.series)
    last = frame["ds"].max()
    origin = last - pd.Timedelta(days=args.holdout)
    holdout_dates = pd.date_range(origin + pd.Timedelta(days=1), last, freq="D")
    train = frame[frame["ds"] <= origin]
    actual = {
        sid: g["y"].to_numpy(float) for sid, g in frame[frame["ds"] > origin].groupby("series_id", sort=True)
    }
    n_series = len(actual)
    print(
        f"{n_series} series, training through {origin.date()}, holdout {holdout_dates[0].date()}..{last.date()}"
    )

    started = time.perf_counter()
    baseline = plain_prophet_loop(train, holdout_dates)
    baseline_seconds = time.perf_counter() - started
    baseline_smape = float(np.mean([smape(actual[s], baseline[s]) for s in actual]))

    config = load_dataset_config("store_item")
    options = dataclasses.replace(
        config.forecasting, backtest_horizon=args.holdout, step=args.holdout
    ).options(args.holdout)
    context = SeriesContext(freq="D", holidays_country=config.series.holidays_country, seed=DEFAULT_SEED)
    groups = list(train.groupby("series_id", sort=True))

    def tasks(champions: dict | None) -> list[SeriesTask]:
        return [
            SeriesTask(
                series_id=sid,
                ds=g["ds"].to_numpy(),
                y=g["y"].to_numpy(float),
                origin=origin,
                context=context,
                options=options,
                retrain=champions is None,
                champion=None if champions is None else champions[sid],
                components=True,
            )
            for sid, g in groups
        ]

    started = time.perf_counter()
    retrained = run_all(tasks(None), max_workers=args.workers)
    retrain_seconds = time.perf_counter() - started
    champions = {
        r.series_id: {"version": "bench", "spec": r.challenger["spec"], "state": r.challenger["state"]}
        for r in retrained
    }
    started = time.perf_counter()
    refit = run_all(tasks(champions), max_workers=args.workers)
    night_seconds = time.perf_counter() - started

    def mean_smape(results) -> float:
        return float(np.mean([smape(actual[r.series_id], r.forecast["yhat"].to_numpy()) for r in results]))

    selected_smape, night_smape = mean_smape(retrained), mean_smape(refit)
    winners = pd.Series([r.selection["scoring_model"] for r in retrained]).value_counts()
    fallbacks = sum(r.selection["fallback_reason"] is not None for r in retrained + refit)
    coverage = {
        level: float(
            np.mean(
                [
                    np.mean(
                        (r.forecast[f"yhat_lower_{level}"].to_numpy() <= actual[r.series_id])
                        & (actual[r.series_id] <= r.forecast[f"yhat_upper_{level}"].to_numpy())
                    )
                    for r in retrained
                ]
            )
        )
        for level in ("80", "95")
    }

    print(f"\n{'run':48} {'wall s':>9} {'x loop':>7} {'mean sMAPE':>11}")
    print(
        f"{'plain loop: default Prophet per series (1 process)':48} {baseline_seconds:9.1f} {1:7.2f} {baseline_smape:11.3f}"
    )
    print(
        f"{'Daybreak retrain night (backtests + selection)':48} {retrain_seconds:9.1f} "
        f"{retrain_seconds / baseline_seconds:7.2f} {selected_smape:11.3f}"
    )
    print(
        f"{'Daybreak normal night (champion refit + score)':48} {night_seconds:9.1f} "
        f"{night_seconds / baseline_seconds:7.2f} {night_smape:11.3f}"
    )
    print(
        f"\nsMAPE of Daybreak's selected forecasts vs the loop: {100 * (1 - selected_smape / baseline_smape):.1f}% lower"
    )
    print(
        f"normal night / loop wall time: {night_seconds / baseline_seconds:.2f} (bound 0.5), workers {args.workers}"
    )
    print(
        f"holdout coverage of the selected forecasts' intervals: 80% -> {coverage['80']:.3f}, 95% -> {coverage['95']:.3f}"
    )
    print(f"fallbacks flagged: {fallbacks}")
    print("winners:")
    for name, count in winners.items():
        print(f"  {count:4d}  {name}")
    return 0
