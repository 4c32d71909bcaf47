"""The global candidate (one LightGBM model across all series) on small synthetic panels.

Real mlforecast and LightGBM fits on a few hundred rows (a second or two each); nothing is mocked.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from daybreak.models.forecasting.bands import BAND_COLUMNS
from daybreak.models.forecasting.context import CalendarDays, SeriesContext
from daybreak.models.forecasting.families import global_lgbm
from daybreak.models.forecasting.fitting import fit_forecast
from daybreak.models.forecasting.metrics import backtest_cutoffs
from daybreak.models.forecasting.options import ForecastOptions
from daybreak.models.forecasting.panel import with_panel_forecasts
from daybreak.models.forecasting.pool import run_all
from daybreak.models.forecasting.registry import check, spec
from daybreak.models.forecasting.spec import CandidateError, CandidateSpec
from daybreak.models.forecasting.tasks import Champion, SeriesTask

GLOBAL = spec("global_lgbm", n_estimators=100, learning_rate=0.1, conformal_windows=2)
WEEK = np.array([10.0, 12, 14, 16, 30, 40, 8])
ORIGIN = pd.Timestamp("2024-06-30")


def _panel(
    series: int = 4, days: int = 150, short: int | None = None, noise: float = 1.0
) -> dict[str, pd.DataFrame]:
    """Weekly-patterned daily series of different levels ending on ORIGIN; `short`: one more, that many days."""
    rng = np.random.default_rng(0)
    panel = {}
    lengths = [days] * series + ([short] if short else [])
    for k, length in enumerate(lengths):
        ds = pd.date_range(end=ORIGIN, periods=length, freq="D")
        t = np.arange(length)
        y = (1 + k) * WEEK[ds.weekday] + 0.02 * t + rng.normal(0, noise, length)
        panel[f"s{k}"] = pd.DataFrame({"ds": ds, "y": np.maximum(y, 0)})
    return panel


def _tasks(panel, candidates=(GLOBAL,), *, retrain=True, champion=None, horizon=14, calendar=None):
    options = ForecastOptions(candidates=tuple(candidates), horizon=horizon, folds=2)
    context = SeriesContext(freq="D", seed=5, calendar=calendar or CalendarDays(), non_negative=True)
    return [
        SeriesTask(
            series_id=sid,
            ds=frame["ds"].to_numpy(),
            y=frame["y"].to_numpy(float),
            origin=ORIGIN,
            context=context,
            options=options,
            retrain=retrain,
            champion=champion,
            components=False,
        )
        for sid, frame in panel.items()
    ]


def test_spec_is_checked_and_labelled_like_the_others():
    assert GLOBAL.label == "global_lgbm(conformal_windows=2,learning_rate=0.1,n_estimators=100)"
    assert check(CandidateSpec("global_lgbm")) == CandidateSpec("global_lgbm", {})
    with pytest.raises(CandidateError, match="does not take"):
        check(CandidateSpec("global_lgbm", {"lags": [1]}))
    with pytest.raises(CandidateError, match="at least 2"):
        spec("global_lgbm", conformal_windows=1)
    with pytest.raises(CandidateError, match="none or log1p"):
        spec("global_lgbm", transform="sqrt")


def test_it_cannot_be_fitted_one_series_at_a_time():
    ds = pd.date_range("2024-01-01", periods=60, freq="D")
    with pytest.raises(CandidateError, match="across all series"):
        fit_forecast(GLOBAL, ds, np.ones(60), ds[-7:] + pd.Timedelta(days=7), SeriesContext(freq="D"))


def test_two_runs_give_the_same_forecasts_whether_the_fits_run_side_by_side_or_not():
    tasks = _tasks(_panel())

    first, second = run_all(tasks, max_workers=1), run_all(tasks, max_workers=2)

    for a, b in zip(first, second, strict=True):
        pd.testing.assert_frame_equal(a.forecast, b.forecast)
        pd.testing.assert_frame_equal(a.backtest, b.backtest)
        assert a.selection == b.selection


def test_intervals_are_nested_and_cover_the_holdout():
    panel = _panel(series=6, days=190)
    holdout = 28
    train = {sid: f.iloc[:-holdout] for sid, f in panel.items()}
    histories = {sid: (pd.DatetimeIndex(f["ds"]), f["y"].to_numpy(float)) for sid, f in train.items()}
    ctx = SeriesContext(freq="D", seed=5, non_negative=True)

    bands = global_lgbm.GlobalLGBM().fit_panel(GLOBAL, histories, holdout, ctx)

    inside = {"80": [], "95": []}
    for sid, b in bands.items():
        assert set(b) == set(BAND_COLUMNS)
        assert (b["yhat_lower_95"] <= b["yhat_lower_80"]).all()
        assert (b["yhat_lower_80"] <= b["yhat"]).all() and (b["yhat"] <= b["yhat_upper_80"]).all()
        assert (b["yhat_upper_80"] <= b["yhat_upper_95"]).all()
        actual = panel[sid]["y"].to_numpy()[-holdout:]
        for level in inside:
            inside[level].append(
                np.mean((b[f"yhat_lower_{level}"] <= actual) & (actual <= b[f"yhat_upper_{level}"]))
            )
    assert np.mean(inside["80"]) >= 0.65
    assert np.mean(inside["95"]) >= 0.85


def test_conformal_widths_take_the_finite_sample_quantile():
    errors = np.arange(1.0, 11.0)  # ten errors: ceil(11 * 0.8) = 9th, ceil(11 * 0.95) = 11th -> the largest

    assert global_lgbm.conformal_widths(errors) == {80: 9.0, 95: 10.0}


def test_backtest_folds_are_the_per_series_folds():
    tasks = _tasks(_panel(), candidates=(GLOBAL, spec("auto_ets")))

    results = run_all(tasks, max_workers=1)

    for task, result in zip(tasks, results, strict=True):
        frame = result.backtest
        per_series = frame.loc[frame["model"] == "auto_ets", ["fold", "cutoff", "n_train", "n_test"]]
        global_rows = frame.loc[frame["model"] == "global_lgbm", ["fold", "cutoff", "n_train", "n_test"]]
        assert len(global_rows) == 2
        pd.testing.assert_frame_equal(per_series.reset_index(drop=True), global_rows.reset_index(drop=True))
        n = len(task.y)
        expected = [task.ds[c - 1] for c in backtest_cutoffs(n, 14, 2, 14, min_train=16)]
        assert list(global_rows["cutoff"]) == [pd.Timestamp(d).date() for d in expected]


def test_it_competes_in_the_selection_and_its_forecast_is_used_when_it_wins():
    # noisy series: the seasonal naive repeats last week's noise, the shared model averages it out
    results = run_all(_tasks(_panel(noise=4.0)), max_workers=1)

    for result in results:
        assert result.selection.challenger_model in ("global_lgbm", "seasonal_naive")
        if result.selection.challenger_model == "global_lgbm":
            assert (result.forecast["model"] == "global_lgbm").all()
            assert result.challenger.spec == GLOBAL
    assert any(r.selection.challenger_model == "global_lgbm" for r in results)


def test_a_short_series_is_ineligible_with_a_reason_and_the_others_still_fit():
    tasks = _tasks(_panel(short=40))

    results = run_all(tasks, max_workers=1)

    short = results[-1]
    skipped = short.selection.skipped
    assert GLOBAL.label in skipped and "the global model needs" in skipped
    assert short.selection.challenger_model != "global_lgbm"
    assert all(GLOBAL.label not in (r.selection.skipped or "") for r in results[:-1])


def test_a_global_champion_is_refitted_across_the_series_on_a_normal_night():
    tasks = _tasks(_panel(), retrain=False, champion=Champion("v1", GLOBAL))

    results = run_all(tasks, max_workers=1)

    for result in results:
        assert (result.forecast["model"] == "global_lgbm").all()
        assert result.selection.fallback_reason is None


def test_closed_days_are_zero_and_panels_are_only_fitted_when_asked_for():
    closed = frozenset({(ORIGIN + pd.Timedelta(days=3)).date()})
    tasks = _tasks(_panel(), calendar=CalendarDays(closed=closed))
    assert all(
        t.panel is None for t in with_panel_forecasts(_tasks(_panel(), candidates=(spec("auto_ets"),)))
    )

    made = with_panel_forecasts(tasks)

    final = made[0].panel[GLOBAL.label].final
    assert final["yhat"][2] == 0.0 and final["yhat_upper_95"][2] == 0.0
