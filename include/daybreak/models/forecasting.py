"""Forecasts per series: Prophet with 80% and 95% prediction intervals, and a naive fallback.

Pure functions: a history frame in, a forecast frame out. `forecast_series` is a top-level function of plain
arguments, so it pickles and can be shipped to worker processes (here) or to Spark executors (later) one series
at a time; `forecast_all` fans it out over many series.

Determinism: Prophet's MAP fit starts from fixed initial values and is given the seed, and the interval samples are
drawn from numpy's global generator seeded for the call (and restored afterwards), so the same history, settings
and seed give identical numbers.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import logging
import os
from collections.abc import Hashable

import numpy as np
import pandas as pd

PANDAS_FREQUENCIES = {"hourly": "h", "daily": "D", "weekly": "W", "monthly": "MS"}
SEASON_LENGTHS = {"h": 24, "D": 7, "W": 52, "MS": 12}
FORECAST_COLUMNS = (
    "ds",
    "horizon_step",
    "yhat",
    "yhat_lower_80",
    "yhat_upper_80",
    "yhat_lower_95",
    "yhat_upper_95",
    "model",
)
MODEL_PROPHET = "prophet"
MODEL_NAIVE = "naive"
UNCERTAINTY_SAMPLES = 1000
QUANTILES = {"yhat_lower_95": 2.5, "yhat_lower_80": 10.0, "yhat_upper_80": 90.0, "yhat_upper_95": 97.5}
NORMAL_Z = {"80": 1.2815515655446004, "95": 1.959963984540054}
MIN_PROPHET_POINTS = 2
SEQUENTIAL_MAX_SERIES = 4
"""Up to this many series run in a loop: starting worker processes costs more than it saves."""


def pandas_frequency(frequency: str) -> str:
    """Map a dataset config frequency (`daily`, ...) to its pandas offset alias (`D`, ...).

    Raises:
        ValueError: for a frequency Daybreak does not forecast at.
    """
    try:
        return PANDAS_FREQUENCIES[frequency]
    except KeyError:
        raise ValueError(
            f"frequency must be one of {sorted(PANDAS_FREQUENCIES)}, got {frequency!r}"
        ) from None


def to_periods(daily: pd.DataFrame, *, frequency: str, as_of: dt.date) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Sum daily values into the forecast frequency's periods, keeping only periods complete by `as_of`.

    A half-finished week or month would look like a slump to the model, so the trailing incomplete period is
    dropped and the forecast counts from the last complete one.

    Args:
        daily: one row per series and day, columns `series_id, ds, y`; rows after `as_of` are ignored.
        frequency: `daily`, `weekly` or `monthly` (the marts are daily, so `hourly` cannot be built from them).
        as_of: the business date the forecast is made on.

    Returns:
        the period frame (`series_id, ds, y`, ds = period label: the day, the week's Sunday, the month's first
        day) and the origin: the label of the last complete period, which forecasts count their steps from.
    """
    freq = pandas_frequency(frequency)
    if freq == "h":
        raise ValueError("hourly series cannot be built from daily sales; the forecast needs an hourly mart")
    as_of_ts = pd.Timestamp(as_of)
    frame = daily.loc[pd.to_datetime(daily["ds"]) <= as_of_ts, ["series_id", "ds", "y"]].copy()
    frame["ds"] = pd.to_datetime(frame["ds"])
    if freq == "D":
        return frame.sort_values(["series_id", "ds"], ignore_index=True), as_of_ts
    if freq == "W":
        frame["ds"] = frame["ds"] + pd.to_timedelta(6 - frame["ds"].dt.weekday, unit="D")
        origin = as_of_ts - pd.Timedelta(days=(as_of_ts.weekday() + 1) % 7)
    else:
        frame["ds"] = frame["ds"].dt.to_period("M").dt.start_time
        month_end = as_of_ts + pd.offsets.MonthEnd(0)
        origin = (as_of_ts.to_period("M") - (0 if as_of_ts == month_end else 1)).start_time
    periods = frame.groupby(["series_id", "ds"], as_index=False, sort=True)["y"].sum(min_count=1)
    return periods.loc[periods["ds"] <= origin].reset_index(drop=True), origin


def forecast_series(
    history: pd.DataFrame,
    *,
    horizon: int,
    frequency: str,
    holidays_country: str | None,
    seed: int,
    origin: dt.date | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Forecast one series `horizon` periods ahead, with 80% and 95% prediction intervals.

    Prophet is fitted when the history can support it; a series with fewer than two known values, or only zeros,
    gets a naive forecast instead (the history's mean, or its last season when there is one), so a new or
    dormant series still has a row for every step instead of failing the night.

    Args:
        history: columns `ds` (dates) and `y` (values, nulls allowed); rows after `origin` are ignored.
        horizon: number of periods to forecast.
        frequency: `hourly`, `daily`, `weekly` or `monthly`.
        holidays_country: ISO country code whose public holidays Prophet models, or None.
        seed: seeds the fit and the interval samples, so a rerun gives identical numbers.
        origin: the period the forecast counts from (step 1 is the period after it); default: the last `ds`.

    Returns:
        `horizon` rows: `ds, horizon_step, yhat, yhat_lower_80, yhat_upper_80, yhat_lower_95, yhat_upper_95,
        model` (`prophet` or `naive`), in step order.
    """
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1, got {horizon}")
    missing = {"ds", "y"} - set(history.columns)
    if missing:
        raise ValueError(f"history is missing columns {sorted(missing)}")
    freq = pandas_frequency(frequency)
    train = pd.DataFrame(
        {"ds": pd.to_datetime(history["ds"]), "y": pd.to_numeric(history["y"]).astype(float)}
    )
    if origin is None:
        if train.empty:
            raise ValueError("history is empty and no origin was given")
        origin_ts = train["ds"].max()
    else:
        origin_ts = pd.Timestamp(origin)
    train = train.loc[train["ds"] <= origin_ts].sort_values("ds", ignore_index=True)
    # the range starts at the origin only when the origin is on the frequency's grid (a Sunday for weekly)
    dates = pd.date_range(origin_ts, periods=horizon + 1, freq=freq)
    future = pd.DataFrame({"ds": dates[dates > origin_ts][:horizon]})

    known = train.dropna(subset=["y"])
    if len(known) < MIN_PROPHET_POINTS or (known["y"] == 0).all():
        bands, model = _naive_forecast(known["y"].to_numpy(), horizon, SEASON_LENGTHS[freq]), MODEL_NAIVE
    else:
        try:
            bands, model = _prophet_forecast(known, future, holidays_country, seed), MODEL_PROPHET
        except RuntimeError:
            bands, model = _naive_forecast(known["y"].to_numpy(), horizon, SEASON_LENGTHS[freq]), MODEL_NAIVE
    result = future.assign(horizon_step=np.arange(1, horizon + 1, dtype="int32"), **bands, model=model)
    return result.loc[:, list(FORECAST_COLUMNS)]


def forecast_all(
    frame: pd.DataFrame,
    *,
    horizon: int,
    frequency: str,
    holidays_country: str | None,
    seed: int,
    origin: dt.date | pd.Timestamp | None = None,
    max_workers: int | None = None,
) -> pd.DataFrame:
    """Forecast every series of `frame`, in parallel processes when there are more than a handful.

    Each series is fitted independently with the same arguments, so the result does not depend on how the work is
    split; the output is sorted by series and date.

    Args:
        frame: columns `series_id, ds, y`, one row per series and period.
        horizon, frequency, holidays_country, seed, origin: as for `forecast_series`, applied to every series.
        max_workers: worker processes; default `os.cpu_count()`.

    Returns:
        `series_id` followed by `forecast_series`' columns, `horizon` rows per series, sorted by series_id, ds.
    """
    missing = {"series_id", "ds", "y"} - set(frame.columns)
    if missing:
        raise ValueError(f"frame is missing columns {sorted(missing)}")
    groups: list[tuple[Hashable, pd.DataFrame]] = [
        (series_id, group[["ds", "y"]].reset_index(drop=True))
        for series_id, group in frame.groupby("series_id", sort=True)
    ]
    if not groups:
        return pd.DataFrame(columns=["series_id", *FORECAST_COLUMNS])
    options = {
        "horizon": horizon,
        "frequency": frequency,
        "holidays_country": holidays_country,
        "seed": seed,
        "origin": origin,
    }
    workers = min(max_workers or os.cpu_count() or 1, len(groups))
    if len(groups) <= SEQUENTIAL_MAX_SERIES or workers < 2:
        forecasts = [forecast_series(history, **options) for _, history in groups]
    else:
        _warm_up(holidays_country)  # forked workers inherit the imports instead of each paying for them
        with concurrent.futures.ProcessPoolExecutor(
            max_workers=workers, initializer=_warm_up, initargs=(holidays_country,)
        ) as pool:
            futures = [pool.submit(forecast_series, history, **options) for _, history in groups]
            forecasts = [future.result() for future in futures]
    result = pd.concat(
        [
            forecast.assign(series_id=series_id)
            for (series_id, _), forecast in zip(groups, forecasts, strict=True)
        ],
        ignore_index=True,
    )
    return result.loc[:, ["series_id", *FORECAST_COLUMNS]].sort_values(["series_id", "ds"], ignore_index=True)


def _warm_up(holidays_country: str | None) -> None:
    """Import Prophet and load the holiday calendar once per process (seconds each) rather than per series.

    Importing cmdstanpy here also makes forked workers share the parent's temporary folder for Stan's files,
    which the parent removes when it exits; workers end without running exit handlers and would leave theirs.
    """
    import cmdstanpy  # noqa: F401
    from prophet.make_holidays import get_holiday_names

    if holidays_country:
        get_holiday_names(holidays_country)


def _prophet_forecast(
    known: pd.DataFrame, future: pd.DataFrame, holidays_country: str | None, seed: int
) -> dict[str, np.ndarray]:
    from cmdstanpy.utils import get_logger
    from prophet import Prophet

    get_logger().setLevel(logging.WARNING)  # cmdstanpy sets DEBUG on its first call; take it down after that
    logging.getLogger("prophet").setLevel(logging.WARNING)
    span_days = (known["ds"].max() - known["ds"].min()).days
    model = Prophet(
        yearly_seasonality="auto" if span_days >= 365 else False,
        uncertainty_samples=UNCERTAINTY_SAMPLES,
    )
    if holidays_country:
        model.add_country_holidays(country_name=holidays_country)
    model.fit(known, seed=seed)
    random_state = np.random.get_state()
    np.random.seed(seed)
    try:
        samples = model.predictive_samples(future)["yhat"]
    finally:
        np.random.set_state(random_state)
    model.uncertainty_samples = 0  # the point forecast needs no second round of samples
    bands = {"yhat": model.predict(future)["yhat"].to_numpy()}
    bands.update({column: np.percentile(samples, q, axis=1) for column, q in QUANTILES.items()})
    return bands


def _naive_forecast(values: np.ndarray, horizon: int, season_length: int) -> dict[str, np.ndarray]:
    if len(values) >= 2 * season_length:
        last_season = values[-season_length:]
        yhat = np.array([last_season[step % season_length] for step in range(horizon)], dtype=float)
        spread = float(np.std(values[season_length:] - values[:-season_length], ddof=1))
    else:
        yhat = np.full(horizon, float(values.mean()) if len(values) else 0.0)
        spread = float(np.std(values, ddof=1)) if len(values) >= 2 else 0.0
    return {
        "yhat": yhat,
        "yhat_lower_80": yhat - NORMAL_Z["80"] * spread,
        "yhat_upper_80": yhat + NORMAL_Z["80"] * spread,
        "yhat_lower_95": yhat - NORMAL_Z["95"] * spread,
        "yhat_upper_95": yhat + NORMAL_Z["95"] * spread,
    }
