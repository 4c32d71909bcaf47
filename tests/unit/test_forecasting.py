"""forecast_series, forecast_all and to_periods on a few short series (real Prophet fits, small data)."""

from __future__ import annotations

import datetime as dt
import pickle

import numpy as np
import pandas as pd
import pytest

from daybreak.models.forecasting import (
    FORECAST_COLUMNS,
    forecast_all,
    forecast_series,
    pandas_frequency,
    to_periods,
)

OPTIONS = {"horizon": 14, "frequency": "daily", "holidays_country": None, "seed": 3}


def _history(days: int = 120, level: float = 50.0, seed: int = 0, start: str = "2024-01-01") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ds = pd.date_range(start, periods=days, freq="D")
    t = np.arange(days)
    return pd.DataFrame(
        {"ds": ds, "y": level + 0.1 * t + 8 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 2, days)}
    )


def test_prophet_forecast_has_every_step_and_nested_intervals():
    history = _history()

    forecast = forecast_series(history, **OPTIONS)

    assert list(forecast.columns) == list(FORECAST_COLUMNS)
    assert forecast["horizon_step"].tolist() == list(range(1, 15))
    assert forecast["ds"].tolist() == list(pd.date_range("2024-04-30", periods=14, freq="D"))
    assert (forecast["model"] == "prophet").all()
    assert (forecast["yhat_lower_95"] < forecast["yhat_lower_80"]).all()
    assert (forecast["yhat_lower_80"] < forecast["yhat_upper_80"]).all()
    assert (forecast["yhat_upper_80"] < forecast["yhat_upper_95"]).all()
    # the weekly pattern is learnt: the forecast swings like the history does
    assert forecast["yhat"].max() - forecast["yhat"].min() > 8


def test_same_input_gives_identical_output_and_leaves_numpy_random_alone():
    history = _history()
    np.random.seed(11)
    state_before = np.random.get_state()[1].copy()

    first = forecast_series(history, **OPTIONS)
    second = forecast_series(history, **OPTIONS)

    pd.testing.assert_frame_equal(first, second)
    assert (np.random.get_state()[1] == state_before).all()


def test_holidays_and_origin_after_the_last_row():
    history = _history(days=100, start="2023-10-01")

    forecast = forecast_series(history, **{**OPTIONS, "holidays_country": "GB"}, origin=dt.date(2024, 1, 10))

    assert forecast["ds"].iloc[0] == pd.Timestamp("2024-01-11")
    assert (forecast["model"] == "prophet").all()
    assert forecast[["yhat", "yhat_lower_95", "yhat_upper_95"]].notna().all().all()


@pytest.mark.parametrize(
    ("values", "expected_yhat"),
    [
        ([], 0.0),  # a series with no known value yet
        ([7.0], 7.0),  # one point: its value
        ([0.0] * 30, 0.0),  # never sold
        ([np.nan, 5.0, np.nan], 5.0),  # nulls do not count as points
    ],
)
def test_series_prophet_cannot_fit_get_the_naive_forecast(values, expected_yhat):
    history = pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=len(values), freq="D"), "y": values})

    forecast = forecast_series(history, **OPTIONS, origin=dt.date(2024, 3, 1))

    assert (forecast["model"] == "naive").all()
    assert len(forecast) == 14
    assert forecast["yhat"].eq(expected_yhat).all()
    assert (forecast["yhat_lower_95"] <= forecast["yhat"]).all() and (
        forecast["yhat"] <= forecast["yhat_upper_95"]
    ).all()


def test_rows_after_the_origin_are_ignored():
    history = _history()
    cut = history["ds"].iloc[99]

    with_future_rows = forecast_series(history, **OPTIONS, origin=cut)
    without = forecast_series(history.iloc[:100], **OPTIONS)

    pd.testing.assert_frame_equal(with_future_rows, without)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="missing columns"):
        forecast_series(pd.DataFrame({"date": [], "y": []}), **OPTIONS)
    with pytest.raises(ValueError, match="frequency"):
        forecast_series(_history(), **{**OPTIONS, "frequency": "fortnightly"})
    with pytest.raises(ValueError, match="horizon"):
        forecast_series(_history(), **{**OPTIONS, "horizon": 0})
    with pytest.raises(ValueError, match="no origin"):
        forecast_series(pd.DataFrame({"ds": [], "y": []}), **OPTIONS)


def test_frequency_aliases():
    assert [pandas_frequency(f) for f in ("hourly", "daily", "weekly", "monthly")] == ["h", "D", "W", "MS"]


def test_forecast_series_pickles_for_worker_processes():
    assert pickle.loads(pickle.dumps(forecast_series)) is forecast_series


def _frame(n_series: int) -> pd.DataFrame:
    frames = [_history(days=60, level=20 + 10 * i, seed=i).assign(series_id=f"s{i}") for i in range(n_series)]
    return pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=1)  # shuffled on purpose


def test_forecast_all_is_sorted_and_the_same_in_processes_as_in_a_loop():
    frame = _frame(6)

    parallel = forecast_all(frame, **OPTIONS, max_workers=2)
    looped = forecast_all(frame, **OPTIONS, max_workers=1)

    pd.testing.assert_frame_equal(parallel, looped)
    assert list(parallel.columns) == ["series_id", *FORECAST_COLUMNS]
    assert parallel["series_id"].unique().tolist() == [f"s{i}" for i in range(6)]
    assert parallel.groupby("series_id")["ds"].apply(lambda ds: ds.is_monotonic_increasing).all()
    one = frame[frame["series_id"] == "s2"].sort_values("ds")
    pd.testing.assert_frame_equal(
        parallel[parallel["series_id"] == "s2"].drop(columns="series_id").reset_index(drop=True),
        forecast_series(one[["ds", "y"]], **OPTIONS),
    )


def test_forecast_all_with_no_series_and_missing_columns():
    empty = forecast_all(pd.DataFrame({"series_id": [], "ds": [], "y": []}), **OPTIONS)
    assert empty.empty and list(empty.columns) == ["series_id", *FORECAST_COLUMNS]
    with pytest.raises(ValueError, match="series_id"):
        forecast_all(pd.DataFrame({"ds": [], "y": []}), **OPTIONS)


def _daily(start: str, end: str) -> pd.DataFrame:
    ds = pd.date_range(start, end, freq="D")
    return pd.DataFrame({"series_id": "s", "ds": ds, "y": 1.0})


def test_to_periods_daily_keeps_days_up_to_the_business_date():
    periods, origin = to_periods(
        _daily("2024-01-01", "2024-01-31"), frequency="daily", as_of=dt.date(2024, 1, 20)
    )

    assert origin == pd.Timestamp("2024-01-20")
    assert periods["ds"].max() == origin and len(periods) == 20


def test_to_periods_weekly_and_monthly_drop_the_unfinished_period():
    daily = _daily("2024-01-01", "2024-03-31")

    weeks, week_origin = to_periods(daily, frequency="weekly", as_of=dt.date(2024, 2, 14))  # a Wednesday
    months, month_origin = to_periods(
        daily, frequency="monthly", as_of=dt.date(2024, 2, 29)
    )  # a month's last day

    assert week_origin == pd.Timestamp("2024-02-11")  # the Sunday closing the last full week
    assert weeks["ds"].dt.weekday.eq(6).all() and weeks["ds"].max() == week_origin
    assert weeks["y"].tolist() == [7.0] * 6
    assert month_origin == pd.Timestamp("2024-02-01")
    assert months["y"].tolist() == [31.0, 29.0]
    forecast = forecast_series(
        months[["ds", "y"]], horizon=2, frequency="monthly", holidays_country=None, seed=1
    )
    assert forecast["ds"].tolist() == [pd.Timestamp("2024-03-01"), pd.Timestamp("2024-04-01")]


def test_to_periods_refuses_hourly_from_daily_sales():
    with pytest.raises(ValueError, match="hourly"):
        to_periods(_daily("2024-01-01", "2024-01-02"), frequency="hourly", as_of=dt.date(2024, 1, 2))
