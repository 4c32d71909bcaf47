"""The forecasting engine on small series: metrics by hand, backtests, selection, promotion, fallbacks, frequencies.

Real model fits throughout (seasonal naive, statsforecast, and Prophet on short histories); nothing is mocked. The
tests that fit Prophet are marked integration (`FITS_PROPHET`), so the fast loop (`make check`) fits none.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from daybreak.datasets.calendar import BusinessCalendar
from daybreak.models.forecasting import series
from daybreak.models.forecasting.bands import BAND_COLUMNS
from daybreak.models.forecasting.context import CalendarDays, SeriesContext
from daybreak.models.forecasting.families.prophet import calendar_regressors
from daybreak.models.forecasting.families.prophet_stan import stan_workspace
from daybreak.models.forecasting.families.seasonal_naive import seasonal_naive
from daybreak.models.forecasting.fitting import fit_forecast, forecast_stored
from daybreak.models.forecasting.metrics import backtest_cutoffs, fold_metrics
from daybreak.models.forecasting.options import ForecastOptions
from daybreak.models.forecasting.pool import run_all
from daybreak.models.forecasting.registry import spec
from daybreak.models.forecasting.series import run_series
from daybreak.models.forecasting.tasks import BACKTEST_COLUMNS, FORECAST_COLUMNS, Champion, SeriesTask
from daybreak.models.forecasting.time_limit import TimeLimitExceeded, time_limit


def _calendar(start: str, end: str, **calendar) -> CalendarDays:
    """The models' view of a calendar (`BusinessCalendar` arguments, GB holidays) over `start..end`."""
    frame = BusinessCalendar(holidays_country="GB", **calendar).frame(
        dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    )
    return CalendarDays.from_frame(frame)


FITS_PROPHET = pytest.mark.integration
"""Tests that fit Prophet (a second or more each) run in `make test`, not in `make check`."""
WEEKLY_PATTERN = np.array([10.0, 12, 14, 16, 30, 40, 8])


def _history(days: int = 120, seed: int = 0, start: str = "2024-01-01", noise: float = 2.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ds = pd.date_range(start, periods=days, freq="D")
    t = np.arange(days)
    return pd.DataFrame(
        {"ds": ds, "y": 50 + 0.1 * t + 8 * np.sin(2 * np.pi * t / 7) + rng.normal(0, noise, days)}
    )


def _task(history: pd.DataFrame, candidates, *, horizon=14, freq="D", **overrides) -> SeriesTask:
    options = ForecastOptions(
        candidates=tuple(candidates), horizon=horizon, **{"folds": 2, **overrides.pop("options", {})}
    )
    return SeriesTask(
        series_id="s",
        ds=history["ds"].to_numpy(),
        y=history["y"].to_numpy(dtype=float),
        origin=pd.Timestamp(history["ds"].max()),
        context=SeriesContext(freq=freq, seed=3),
        options=options,
        **overrides,
    )


def test_fold_metrics_by_hand():
    train = np.array([1.0, 2, 3, 4, 5, 6, 7, 8])  # lag-7 naive errors: |8 - 1| = 7 -> scale 7
    actual = np.array([10.0, 0.0, 5.0])
    bands = {
        "yhat": np.array([12.0, 0.0, 4.0]),
        "yhat_lower_80": np.array([11.0, -1, 3]),
        "yhat_upper_80": np.array([13.0, 1, 4.5]),
        "yhat_lower_95": np.array([9.0, -2, 2]),
        "yhat_upper_95": np.array([14.0, 2, 6]),
    }

    metrics = fold_metrics(actual, bands, train, season_length=7)

    assert metrics["mase"] == pytest.approx((2 + 0 + 1) / 3 / 7)
    assert metrics["smape"] == pytest.approx(100 * (2 * 2 / 22 + 0 + 2 * 1 / 9) / 3)  # 0/0 counts as 0
    assert metrics["rmse"] == pytest.approx(np.sqrt((4 + 0 + 1) / 3))
    assert metrics["bias"] == pytest.approx((2 + 0 - 1) / 3)
    assert metrics["coverage_80"] == pytest.approx(1 / 3)  # only the 0 lies in its 80% band
    assert metrics["coverage_95"] == pytest.approx(1.0)
    assert metrics["n_test"] == 3


def test_fold_metrics_mase_is_undefined_on_a_constant_history():
    bands = {
        c: np.array([1.0])
        for c in ("yhat", "yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95")
    }
    assert np.isnan(fold_metrics(np.array([2.0]), bands, np.ones(10), 7)["mase"])


def test_backtest_cutoffs_roll_back_from_the_end_and_drop_short_folds():
    assert backtest_cutoffs(100, horizon=10, folds=3, step=5, min_train=16) == [80, 85, 90]
    assert backtest_cutoffs(40, horizon=10, folds=3, step=10, min_train=16) == [20, 30]
    assert backtest_cutoffs(20, horizon=10, folds=3, step=10, min_train=16) == []


def test_seasonal_naive_repeats_the_last_season_with_widening_intervals():
    values = np.tile(WEEKLY_PATTERN, 4) + np.tile([0.0, 1.0], 14)

    bands = seasonal_naive(values, 14, 7)

    assert bands["yhat"].tolist() == values[-7:].tolist() * 2
    width = bands["yhat_upper_95"] - bands["yhat"]
    assert (width[7:] > width[:7]).all(), "two seasons ahead is less certain than one"
    assert seasonal_naive(np.array([]), 3, 7)["yhat"].tolist() == [0.0, 0.0, 0.0]


def test_retrain_picks_the_candidate_with_the_best_backtest_and_records_every_fold():
    history = _history()

    candidates = [spec("seasonal_naive"), spec("auto_ets"), spec("theta")]
    result = run_series(_task(history, candidates, options={"halving_margin": None}))

    backtest = result.backtest
    assert list(backtest.columns) == list(BACKTEST_COLUMNS)
    assert set(backtest["candidate"]) == {"seasonal_naive", "auto_ets", "theta"}
    assert backtest.groupby("candidate")["fold"].apply(list).map(tuple).unique().tolist() == [(1, 2)]
    means = backtest.groupby("candidate")["mase"].mean()
    assert result.selection.challenger == means.idxmin()
    assert backtest.loc[backtest["selected"], "candidate"].unique().tolist() == [means.idxmin()]
    assert result.selection.challenger_score == pytest.approx(means.min())
    assert result.selection.baseline_score == pytest.approx(means["seasonal_naive"])
    assert result.selection.decision == "promote" and "no champion" in result.selection.decision_reason
    # the registry gets the concrete model the search chose, so later nights refit it without searching
    assert result.challenger.spec.name == result.forecast["model"].iloc[0]
    if result.challenger.spec.name == "auto_ets":
        assert set(result.challenger.spec.params) == {"model", "damped"}
    assert result.challenger.data_end == history["ds"].max().date()


def test_successive_halving_drops_a_candidate_far_behind_on_the_newest_fold():
    history = _history()
    candidates = [spec("seasonal_naive"), spec("auto_ets"), spec("theta")]
    full = run_series(_task(history, candidates, options={"halving_margin": None})).backtest
    newest = full.loc[full["fold"] == 2].set_index("candidate")["mase"]
    margin = 0.05
    challengers = sorted(("auto_ets", "theta"), key=lambda c: newest[c])
    behind = {c for c in challengers[1:] if newest[c] > newest.min() * (1 + margin)}
    assert behind, "the history should leave one candidate far behind, or this test checks nothing"

    halved = run_series(_task(history, candidates, options={"halving_margin": margin}))
    # the best challenger always goes on: the baseline never wins because its only rival was pruned
    alone = run_series(
        _task(history, [spec("seasonal_naive"), spec(challengers[1])], options={"halving_margin": 0})
    )

    skipped = json.loads(halved.selection.skipped or "{}")
    assert set(skipped) == behind and all("dropped after the newest fold" in r for r in skipped.values())
    assert set(halved.backtest["candidate"]) == set(newest.index) - behind
    assert halved.backtest.groupby("candidate")["fold"].apply(list).map(tuple).unique().tolist() == [(1, 2)]
    assert alone.selection.skipped is None and len(alone.backtest) == 4
    kept = full.loc[~full["candidate"].isin(behind)].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        halved.backtest.drop(columns="selected").reset_index(drop=True), kept.drop(columns="selected")
    )


@FITS_PROPHET
def test_prophet_backtests_draw_no_samples_so_their_coverage_is_unknown_not_zero():
    history = _history()

    result = run_series(_task(history, [spec("prophet"), spec("auto_ets")]))

    backtest = result.backtest.set_index("candidate")
    assert backtest.loc["prophet", ["coverage_80", "coverage_95"]].isna().all().all()
    assert backtest.loc["auto_ets", ["coverage_80", "coverage_95"]].notna().all().all()
    forecast = result.forecast
    if result.selection.scoring_model.startswith("prophet"):
        assert (forecast["yhat_upper_95"] > forecast["yhat_lower_95"]).all(), (
            "the final fit draws its samples"
        )


def test_prophet_gets_its_data_as_arrays_and_fits_as_with_lists():
    from prophet.models import CmdStanPyBackend

    from daybreak.models.forecasting.families.prophet_stan import array_backend

    init = {"k": 0.1, "m": 0.2, "sigma_obs": 1.0, "delta": np.zeros(3), "beta": np.ones(2)}
    data = {
        "T": 2, "S": 3, "K": 2, "tau": 0.05, "trend_indicator": 0, "sigmas": [10.0, 10.0],
        "y": np.array([1.0, 2.0]), "t": np.array([0.0, 1.0]), "cap": np.zeros(2),
        "t_change": np.array([0.2, 0.5, 0.8]), "s_a": np.ones(2), "s_m": np.zeros(2),
        "X": pd.DataFrame({"a": [0.5, 0.25], "b": [1.0, 0.0]}),
    }  # fmt: skip
    from stanio import dump_stan_json

    ours, prophets = array_backend().prepare_data(init, data), CmdStanPyBackend.prepare_data(init, data)
    for mine, theirs in zip(ours, prophets, strict=True):
        assert dump_stan_json(mine) == dump_stan_json(theirs), "the same Stan input, so the same fit"


def test_forecast_has_every_step_nested_intervals_and_is_reproducible():
    history = _history()
    task = _task(history, [spec("auto_ets")])

    first, second = run_series(task), run_series(task)

    forecast = first.forecast
    assert list(forecast.columns) == list(FORECAST_COLUMNS)
    assert forecast["horizon_step"].tolist() == list(range(1, 15))
    assert forecast["ds"].tolist() == list(pd.date_range("2024-04-30", periods=14, freq="D"))
    assert (forecast["yhat_lower_95"] <= forecast["yhat_lower_80"]).all()
    assert (forecast["yhat_lower_80"] <= forecast["yhat"]).all() and (
        forecast["yhat"] <= forecast["yhat_upper_80"]
    ).all()
    assert (forecast["yhat_upper_80"] <= forecast["yhat_upper_95"]).all()
    pd.testing.assert_frame_equal(first.forecast, second.forecast)
    pd.testing.assert_frame_equal(first.backtest, second.backtest)
    assert first.selection == second.selection


def test_a_weak_challenger_is_not_promoted_and_the_champion_keeps_scoring():
    history = _history()
    strong = run_series(_task(history, [spec("auto_ets")])).challenger.spec
    champion = Champion(version="2024-04-01", spec=strong)

    # the only candidate is the seasonal naive: a deliberately weak challenger
    result = run_series(_task(history, [spec("seasonal_naive")], champion=champion))

    assert result.selection.challenger == "seasonal_naive"
    assert result.selection.champion_score < result.selection.challenger_score
    assert result.selection.decision == "reject"
    assert "does not beat" in result.selection.decision_reason
    assert result.selection.scoring_role == "champion"
    assert (result.forecast["model"] == "auto_ets").all()
    # the champion was scored on the same folds as the challenger
    roles = result.backtest.groupby("role")["cutoff"].apply(lambda c: tuple(sorted(c)))
    assert roles["champion"] == roles["baseline"]


def test_a_better_challenger_replaces_a_weak_champion():
    history = _history()
    champion = Champion("2024-04-01", spec("seasonal_naive"))

    result = run_series(_task(history, [spec("auto_ets")], champion=champion))

    assert result.selection.decision == "promote"
    assert result.selection.scoring_role == "challenger"
    assert (result.forecast["model"] == "auto_ets").all()


def test_a_recorded_decision_is_repeated_not_remade():
    history = _history()
    champion = Champion("2024-04-01", spec("seasonal_naive"))

    result = run_series(
        _task(history, [spec("auto_ets")], champion=champion, decision="reject", decision_reason="recorded")
    )

    assert (result.selection.decision, result.selection.decision_reason) == ("reject", "recorded")
    assert (result.forecast["model"] == "seasonal_naive").all()


def test_a_challenger_that_fails_its_final_fit_is_rejected_as_a_rerun_rejects_it(monkeypatch):
    """The winner fits every backtest fold but not the full history: the champion scores, and the rerun of the
    night (which repeats the recorded rejection) gives the same selection and registers the same challenger."""
    history = _history()
    champion = Champion("2024-04-01", spec("seasonal_naive"))
    fit = series.fit_forecast

    def refuses_the_full_history(candidate, ds, *args, **kwargs):
        if candidate.name == "auto_ets" and len(ds) == len(history):
            raise ValueError("refused")
        return fit(candidate, ds, *args, **kwargs)

    monkeypatch.setattr(series, "fit_forecast", refuses_the_full_history)

    first = run_series(_task(history, [spec("auto_ets")], champion=champion))
    rerun = run_series(
        _task(
            history,
            [spec("auto_ets")],
            champion=champion,
            decision=first.selection.decision,
            decision_reason=first.selection.decision_reason,
        )
    )

    assert first.selection.decision == "reject"
    assert first.selection.decision_reason.startswith("challenger's final fit failed: auto_ets failed")
    assert (first.selection.scoring_role, first.selection.fallback_reason) == ("champion", None)
    assert first.challenger.spec.name == "auto_ets"
    assert rerun.selection == first.selection
    assert rerun.challenger.spec == first.challenger.spec
    pd.testing.assert_frame_equal(rerun.forecast, first.forecast)


def test_a_night_without_retraining_refits_the_champion():
    history = _history()
    trained = run_series(_task(history, [spec("theta")]))
    champion = Champion("2024-04-01", trained.challenger.spec, trained.challenger.state)

    refit = run_series(_task(history, [spec("seasonal_naive")], retrain=False, champion=champion))

    assert refit.backtest.empty and refit.selection.decision is None
    assert refit.selection.scoring_model == trained.selection.scoring_model
    np.testing.assert_allclose(refit.forecast["yhat"], trained.forecast["yhat"])


@FITS_PROPHET
def test_prophet_refit_warm_starts_from_the_champion_and_explains_itself():
    history = _history(days=60)
    ds, y = pd.DatetimeIndex(history["ds"]), history["y"].to_numpy()
    future = pd.date_range("2024-03-01", periods=14, freq="D")
    trained = fit_forecast(spec("prophet"), ds, y, future, SeriesContext(freq="D", seed=3))
    assert trained.spec.name == "prophet" and trained.state["k"] is not None
    champion = Champion("v", trained.spec, trained.state)

    refit = run_series(_task(history, [], retrain=False, champion=champion))

    assert (refit.forecast["model"] == "prophet").all()
    np.testing.assert_allclose(refit.forecast["yhat"], trained.bands["yhat"], rtol=1e-3)
    assert {"trend", "weekly"} <= set(refit.components["component"])
    assert refit.components.groupby("component").size().eq(14).all()


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ([], "no known values"),
        ([np.nan] * 60, "no known values"),
        ([7.0], "too short to backtest"),
        ([0.0] * 60, "every value is zero"),
        ([np.nan, 5.0, np.nan], "too short to backtest"),
    ],
)
def test_series_too_short_or_empty_fall_back_to_the_seasonal_naive_flagged(values, reason):
    history = pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=len(values), freq="D"), "y": values})
    task = _task(history, [spec("auto_ets")]) if len(values) else None
    if task is None:
        task = dataclasses.replace(
            _task(_history(days=3), [spec("auto_ets")]),
            ds=np.array([], dtype="datetime64[ns]"),
            y=np.array([]),
        )

    result = run_series(task)

    assert (result.forecast["model"] == "seasonal_naive").all() and len(result.forecast) == 14
    flagged = " ".join(filter(None, [result.selection.fallback_reason, result.selection.skipped or ""]))
    assert reason in flagged


@FITS_PROPHET
def test_a_model_over_the_time_limit_is_abandoned_for_its_fallback():
    history = _history(days=60)

    result = run_series(_task(history, [spec("prophet")], options={"time_limit_seconds": 1e-6}))

    assert "time limit" in result.selection.skipped
    assert result.selection.challenger == "seasonal_naive"
    assert (result.forecast["model"] == "seasonal_naive").all()


def test_a_block_over_the_time_limit_is_abandoned_after_it_ends_in_the_main_process():
    with pytest.raises(TimeLimitExceeded, match="time limit of 0.001 s"), time_limit(0.001):
        time.sleep(0.01)
    with time_limit(None):
        time.sleep(0.001)


def test_an_unexpected_error_gives_a_flagged_seasonal_naive_not_a_failed_night():
    history = _history(days=30)

    # nothing to refit and retraining off: the series cannot be handled as asked
    result = run_series(_task(history, [spec("auto_ets")], retrain=False, champion=None))

    assert (result.forecast["model"] == "seasonal_naive").all() and len(result.forecast) == 14
    assert result.selection.fallback_reason.startswith("error: ValueError")
    assert result.selection.scoring_role == "fallback"


def test_a_model_that_cannot_take_the_data_is_skipped_with_the_reason():
    history = _history(days=60).assign(y=lambda f: f["y"] - 60)  # negative values

    result = run_series(_task(history, [spec("prophet", transform="log1p"), spec("theta")]))

    assert "log1p needs non-negative values" in result.selection.skipped
    assert "prophet" not in set(result.backtest["model"])


def test_ensemble_of_the_top_candidates_competes():
    history = _history()

    result = run_series(_task(history, [spec("auto_ets"), spec("theta")], options={"ensemble_top": 2}))

    ensemble = result.backtest[result.backtest["role"] == "ensemble"]
    assert len(ensemble) == 2 and ensemble["candidate"].iloc[0].startswith("ensemble(")


@pytest.mark.parametrize(
    ("freq", "periods", "season", "expected_second"),
    [
        ("h", 24 * 10, 24, pd.Timestamp("2024-01-11 01:00")),
        ("W-SUN", 120, 52, pd.Timestamp("2026-05-03")),
        ("MS", 40, 12, pd.Timestamp("2027-06-01")),
    ],
)
def test_hourly_weekly_and_monthly_series(freq, periods, season, expected_second):
    ds = pd.date_range("2024-01-07" if freq.startswith("W") else "2024-01-01", periods=periods, freq=freq)
    t = np.arange(periods)
    history = pd.DataFrame({"ds": ds, "y": 100 + 20 * np.sin(2 * np.pi * t / season) + (t % 3)})

    result = run_series(_task(history, [spec("seasonal_naive"), spec("auto_ets")], horizon=6, freq=freq))

    assert result.forecast["ds"].iloc[1] == expected_second
    assert len(result.forecast) == 6
    assert result.forecast[["yhat", "yhat_lower_95", "yhat_upper_95"]].notna().all().all()


def test_candidate_specs_are_checked():
    with pytest.raises(ValueError, match="unknown model"):
        spec("lstm")
    with pytest.raises(ValueError, match="does not take"):
        spec("auto_ets", season_length=12)
    with pytest.raises(ValueError, match="regressors"):
        spec("prophet", regressors=["weather"])
    with pytest.raises(ValueError, match="metric"):
        ForecastOptions(candidates=(), horizon=3, metric="mape")


@FITS_PROPHET
def test_calendar_regressors_reach_prophet():
    history = _history(days=100, start="2023-10-01")
    ctx = SeriesContext(
        freq="D", seed=1, calendar=_calendar("2023-10-01", "2024-01-31", closed_annual=("12-25",))
    )
    candidate = spec("prophet", regressors=["closed", "holiday", "month_of_year"])
    future = pd.date_range("2024-01-09", periods=7, freq="D")

    fitted = fit_forecast(
        candidate, pd.DatetimeIndex(history["ds"]), history["y"].to_numpy(), future, ctx, components=True
    )

    assert "regressors" in set(fitted.components["component"])
    assert np.isfinite(fitted.bands["yhat"]).all()


def test_run_series_pickles_and_processes_match_a_loop():
    assert pickle.loads(pickle.dumps(run_series)) is run_series
    tasks = [
        dataclasses.replace(_task(_history(days=60, seed=i), [spec("auto_ets")]), series_id=f"s{i}")
        for i in range(6)
    ]

    parallel = run_all(tasks, max_workers=2)
    looped = run_all(tasks, max_workers=1)

    assert [r.series_id for r in parallel] == [f"s{i}" for i in range(6)]
    for a, b in zip(parallel, looped, strict=True):
        pd.testing.assert_frame_equal(a.forecast, b.forecast)
        assert a.selection == b.selection


SATURDAYS_CLOSED = {"closed_weekdays": (5,), "closed_dates": (dt.date(2024, 5, 8),)}


@pytest.mark.parametrize(
    "candidate",
    [
        spec("seasonal_naive"),
        spec("auto_ets"),
        spec("theta"),
        pytest.param(spec("prophet"), marks=FITS_PROPHET),
        pytest.param(spec("prophet", regressors=["weekend"]), marks=FITS_PROPHET),
    ],
)
def test_a_closed_day_is_forecast_as_zero_by_every_model_whatever_its_regressors(candidate):
    history = _history(
        days=120
    )  # trades on Saturdays too: only the calendar knows they are closed from now on
    context = SeriesContext(
        freq="D",
        seed=3,
        calendar=_calendar("2024-01-01", "2024-06-30", **SATURDAYS_CLOSED),
        non_negative=True,
    )
    task = dataclasses.replace(_task(history, [candidate], horizon=28), context=context)

    forecast = run_series(task).forecast.set_index("ds")

    closed = forecast.index[(forecast.index.weekday == 5) | (forecast.index == "2024-05-08")]
    assert len(closed) == 5
    assert (forecast.loc[closed, list(BAND_COLUMNS)] == 0).all().all()
    assert (forecast.drop(closed)["yhat"] > 0).all()


@FITS_PROPHET
def test_no_forecast_or_bound_of_a_non_negative_target_is_below_zero():
    rng = np.random.default_rng(1)
    history = pd.DataFrame(
        {"ds": pd.date_range("2024-01-01", periods=90, freq="D"), "y": rng.choice([0.0, 0.0, 3.0, 40.0], 90)}
    )
    loose = run_series(_task(history, [spec("seasonal_naive")], horizon=28))
    assert (loose.forecast["yhat_lower_95"] < 0).any(), "the raw intervals do go below zero"

    context = SeriesContext(freq="D", seed=3, non_negative=True)
    task = dataclasses.replace(
        _task(history, [spec("seasonal_naive"), spec("prophet")], horizon=28), context=context
    )
    result = run_series(task)

    assert (result.forecast[list(BAND_COLUMNS)] >= 0).all().all()
    assert (result.forecast["yhat_upper_95"] > 0).any()


def test_the_closed_regressor_follows_the_dataset_calendar():
    from daybreak.datasets import load_dataset_config
    from daybreak.nights.forecast import series_context

    config = load_dataset_config("synthetic")
    frame = BusinessCalendar.from_config(config).frame(dt.date(2023, 12, 20), dt.date(2024, 1, 5))
    context = series_context(config, frame, pd.Timestamp("2023-12-31"))
    days = pd.date_range("2023-12-20", "2024-01-05", freq="D")

    closed = calendar_regressors(days, ["closed"], context)["closed"]

    assert days[closed.to_numpy() == 1].strftime("%m-%d").tolist() == ["12-25", "01-01"]
    holidays = calendar_regressors(days, ["holiday"], context)["holiday"]
    assert days[holidays.to_numpy() == 1].strftime("%m-%d").tolist() == ["12-25", "12-26", "01-01"]


@FITS_PROPHET
def test_prophet_takes_its_holidays_from_the_calendar():
    history = _history(days=120, start="2023-11-01")
    future = pd.date_range("2024-02-29", periods=7, freq="D")
    with_holidays = SeriesContext(freq="D", seed=1, calendar=_calendar("2023-11-01", "2024-03-31"))

    fitted = fit_forecast(
        spec("prophet"), pd.DatetimeIndex(history["ds"]), history["y"].to_numpy(), future, with_holidays,
        components=True,
    )  # fmt: skip
    plain = fit_forecast(
        spec("prophet"), pd.DatetimeIndex(history["ds"]), history["y"].to_numpy(), future,
        SeriesContext(freq="D", seed=1), components=True,
    )  # fmt: skip

    assert "holidays" in set(fitted.components["component"])
    assert "holidays" not in set(plain.components["component"])


def test_a_stan_workspace_is_removed_on_every_way_out(tmp_path):
    with stan_workspace() as folder:
        assert Path(folder).is_dir()
    assert not Path(folder).exists()
    with pytest.raises(RuntimeError), stan_workspace() as folder:
        raise RuntimeError("fit failed")
    assert not Path(folder).exists()


@FITS_PROPHET
def test_a_process_killed_during_a_prophet_fit_leaves_no_temp_folder(tmp_path):
    """Given a child process fitting Prophet in a loop with its own TMPDIR, when it gets SIGTERM mid-fit, then
    the TMPDIR is empty: neither the fit's folder nor cmdstanpy's own is left behind."""
    script = (
        "import numpy as np, pandas as pd\n"
        "from daybreak.models.forecasting.context import SeriesContext\n"
        "from daybreak.models.forecasting.fitting import fit_forecast\n"
        "from daybreak.models.forecasting.registry import spec\n"
        "ds = pd.date_range('2022-01-01', periods=700, freq='D')\n"
        "y = 50 + 10 * np.sin(np.arange(700) / 7) + np.random.default_rng(0).normal(0, 2, 700)\n"
        "future = pd.date_range('2023-12-02', periods=28, freq='D')\n"
        "print('ready', flush=True)\n"
        "while True:\n"
        "    fit_forecast(spec('prophet'), ds, y, future, SeriesContext(freq='D', uncertainty_samples=0))\n"
    )
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp)}
    child = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 60
        while not any(p.name.startswith("daybreak-stan-") for p in temp.iterdir()):
            assert time.monotonic() < deadline, "no fit started"
            time.sleep(0.01)
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGTERM
    assert list(temp.iterdir()) == []


@pytest.fixture
def stan_calls(monkeypatch):
    """Counts Stan's optimiser calls (every Prophet fit makes one); `["forbidden"] = True` makes them fail."""
    from cmdstanpy import CmdStanModel

    optimize = CmdStanModel.optimize
    calls = {"count": 0, "forbidden": False}

    def counted(self, *args, **kwargs):
        calls["count"] += 1
        if calls["forbidden"]:
            raise AssertionError("Stan was called")
        return optimize(self, *args, **kwargs)

    monkeypatch.setattr(CmdStanModel, "optimize", counted)
    return calls


def _prophet_night(history: pd.DataFrame, **overrides) -> SeriesTask:
    """A task of a Prophet candidate with the calendar's holidays and month regressors, as store_item.yml has."""
    candidate = spec("prophet", transform="log1p", regressors=["month_of_year", "holiday"])
    task = _task(history, [candidate], **overrides)
    calendar = _calendar("2023-01-01", "2025-12-31")
    return dataclasses.replace(task, context=dataclasses.replace(task.context, calendar=calendar))


def _champion(result) -> Champion:
    challenger = result.challenger
    return Champion("2024-04-29", challenger.spec, challenger.state, challenger.fit)


@FITS_PROPHET
def test_a_prophet_champion_scores_from_its_stored_fit_without_fitting(stan_calls):
    history = _history(days=120)
    trained = run_series(_prophet_night(history))
    champion = _champion(trained)
    assert trained.challenger.fit is not None
    stan_calls["forbidden"] = True

    night = _prophet_night(history, retrain=False, champion=champion)
    scored = run_series(pickle.loads(pickle.dumps(night)))  # as it travels to a Spark executor
    rerun = run_series(night)

    assert scored.selection.fallback_reason is None and scored.selection.scoring_role == "champion"
    pd.testing.assert_frame_equal(scored.forecast, trained.forecast)  # the same history: the same forecast
    pd.testing.assert_frame_equal(scored.components, trained.components)
    pd.testing.assert_frame_equal(rerun.forecast, scored.forecast)


@FITS_PROPHET
def test_a_later_night_scores_the_stored_fit_as_of_its_training():
    history = _history(days=127)
    trained = run_series(_prophet_night(history.iloc[:120]))
    week_later = _prophet_night(history, retrain=False, champion=_champion(trained))

    scored = run_series(week_later)

    assert scored.forecast["ds"].min() == history["ds"].max() + pd.Timedelta(days=1)
    assert scored.selection.fallback_reason is None
    # the fit has not seen the week since its training: the same forecast whatever that week's values
    changed = history.assign(y=np.where(history.index >= 120, history["y"] + 50, history["y"]))
    moved = run_series(dataclasses.replace(week_later, y=changed["y"].to_numpy(dtype=float)))
    pd.testing.assert_frame_equal(moved.forecast, scored.forecast)


@FITS_PROPHET
def test_without_a_stored_fit_or_with_refit_the_champion_is_refit(stan_calls):
    history = _history(days=120)
    champion = _champion(run_series(_prophet_night(history)))
    stan_calls["count"] = 0

    older = run_series(
        _prophet_night(history, retrain=False, champion=dataclasses.replace(champion, fit=None))
    )
    assert stan_calls["count"] == 1 and older.selection.fallback_reason is None
    refit = run_series(
        _prophet_night(history, retrain=False, champion=champion, options={"normal_night": "refit"})
    )
    assert stan_calls["count"] == 2 and refit.selection.fallback_reason is None
    with pytest.raises(ValueError, match="normal_night"):
        ForecastOptions(candidates=(), horizon=7, normal_night="sometimes")


@FITS_PROPHET
def test_a_stored_fit_that_no_longer_predicts_is_refit(stan_calls):
    history = _history(days=120)
    champion = _champion(run_series(_prophet_night(history)))
    broken = {**champion.fit, "params": {**champion.fit["params"], "beta": [[0.0, 0.0]]}}
    stan_calls["count"] = 0

    result = run_series(
        _prophet_night(history, retrain=False, champion=dataclasses.replace(champion, fit=broken))
    )

    assert stan_calls["count"] == 1 and result.selection.fallback_reason is None


@FITS_PROPHET
def test_the_stored_fit_is_small_whatever_the_history():
    short, long = _history(days=400, start="2023-12-01"), _history(days=1000, start="2022-01-01")
    ctx = SeriesContext(freq="D", seed=3, calendar=_calendar("2022-01-01", "2024-12-31"))
    sizes = []
    for history in (short, long):
        ds, y = pd.DatetimeIndex(history["ds"]), history["y"].to_numpy()
        future = pd.date_range(ds[-1] + pd.Timedelta(days=1), periods=30, freq="D")
        fitted = fit_forecast(spec("prophet", regressors=["month_of_year"]), ds, y, future, ctx)
        sizes.append(len(json.dumps(fitted.fit)))
    assert max(sizes) < 12_000
    assert sizes[1] < 1.1 * sizes[0]  # not in proportion to the history: its length adds nothing


@FITS_PROPHET
def test_an_ensemble_scores_its_prophet_member_from_the_stored_fit(stan_calls):
    history = _history(days=120)
    ds, y = pd.DatetimeIndex(history["ds"]), history["y"].to_numpy()
    future = pd.date_range("2024-04-30", periods=14, freq="D")
    ctx = SeriesContext(freq="D", seed=3)
    ensemble = spec("ensemble", members=[spec("prophet").to_dict(), spec("theta").to_dict()])
    fitted = fit_forecast(ensemble, ds, y, future, ctx)
    assert fitted.fit["members"][0] is not None and fitted.fit["members"][1] is None
    stan_calls["forbidden"] = True

    scored = forecast_stored(fitted.spec, fitted.fit, ds, y, future, ctx)

    for column in BAND_COLUMNS:
        np.testing.assert_array_equal(scored.bands[column], fitted.bands[column])


@FITS_PROPHET
def test_a_retrain_night_that_keeps_the_champion_stores_its_refit_for_the_normal_nights(stan_calls):
    history = _history(days=127)
    first = run_series(_prophet_night(history.iloc[:120]))
    champion = _champion(first)

    kept = run_series(_prophet_night(history, champion=champion))

    assert kept.selection.decision == "reject" and kept.selection.scoring_role == "champion"
    refit = kept.challenger.champion_fit
    assert refit["version"] == champion.version and refit["fit"] != champion.fit
    stan_calls["forbidden"] = True
    night = run_series(
        _prophet_night(history, retrain=False, champion=dataclasses.replace(champion, fit=refit["fit"]))
    )
    pd.testing.assert_frame_equal(night.forecast, kept.forecast)
