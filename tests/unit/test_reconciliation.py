"""Reconciliation of a night's forecasts over the hierarchy the series ids define (pure, no warehouse)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from daybreak.models import hierarchy as hierarchy_module
from daybreak.models import reconciliation as rec
from daybreak.models.forecasting.bands import BAND_COLUMNS
from daybreak.models.hierarchy import METHODS, build_hierarchy, parse_series_id

LOCATIONS = ("total", "location=A", "location=B")
DATES = pd.date_range("2024-04-01", periods=5, freq="D")


def _forecasts(levels: dict[str, float], spread: float = 10.0) -> pd.DataFrame:
    """Flat base forecasts per series with symmetric 80/95% bounds (`spread` is the 80% half-width)."""
    rows = []
    for series_id, level in levels.items():
        for step, ds in enumerate(DATES, start=1):
            yhat = level + step
            rows.append(
                {
                    "series_id": series_id,
                    "ds": ds,
                    "yhat": yhat,
                    "yhat_lower_80": yhat - spread,
                    "yhat_upper_80": yhat + spread,
                    "yhat_lower_95": yhat - 1.53 * spread,
                    "yhat_upper_95": yhat + 1.53 * spread,
                    "model": "auto_ets",
                }
            )
    return pd.DataFrame(rows)


def _history(levels: dict[str, float], days: int = 28) -> pd.DataFrame:
    dates = pd.date_range(DATES[0] - pd.Timedelta(days=days), periods=days, freq="D")
    return pd.DataFrame([{"series_id": s, "ds": d, "y": v} for d in dates for s, v in levels.items()])


def _wide(frame: pd.DataFrame, column: str = "yhat") -> pd.DataFrame:
    return frame.pivot(index="ds", columns="series_id", values=column)


def test_series_ids_parse_into_keys():
    assert parse_series_id("total") == {}
    assert parse_series_id("location=A") == {"location": "A"}
    assert parse_series_id("location=A|product_id=7") == {"location": "A", "product_id": "7"}
    assert parse_series_id("store 1") is None
    assert parse_series_id("location=A|location=B") is None


def test_the_total_is_the_parent_of_the_locations():
    hierarchy = build_hierarchy(["location=B", "total", "location=A"])

    assert hierarchy.series == LOCATIONS and hierarchy.bottom == LOCATIONS[1:]
    np.testing.assert_array_equal(hierarchy.S.toarray(), [[1, 1], [1, 0], [0, 1]])
    assert hierarchy.parents == {"total": ("location=A", "location=B")}
    assert hierarchy.levels == {"total": ("total",), "location": ("location=A", "location=B")}
    assert hierarchy.methods() == METHODS


def test_two_keys_with_their_levels_are_a_grouped_structure_without_top_down():
    ids = ["total", "location=A", "location=B", "product_id=1", "product_id=2"]
    ids += [f"location={loc}|product_id={p}" for loc in "AB" for p in "12"]
    hierarchy = build_hierarchy(ids)

    assert len(hierarchy.bottom) == 4 and hierarchy.S.shape == (9, 4)
    assert hierarchy.parents["location=A"] == ("location=A|product_id=1", "location=A|product_id=2")
    assert hierarchy.parents["product_id=2"] == ("location=A|product_id=2", "location=B|product_id=2")
    assert not hierarchy.is_strict
    assert hierarchy.methods() == ("bottom_up", "min_trace_ols", "min_trace_wls_struct")
    partial = build_hierarchy(["total", "location=A", "location=A|product_id=1", "location=B|product_id=1"])
    assert not partial.is_strict, "location=B is not forecast: the location level does not split the bottom"


@pytest.mark.parametrize(
    ("ids", "complete"),
    [
        (["total"], True),  # a single total
        (["location=A", "location=B"], True),  # keys without a parent
        (["store 1", "store 2"], True),  # ids of another form
        (list(LOCATIONS), False),  # series.include: the locations are not all of the total
    ],
)
def test_series_without_a_hierarchy_pass_through_unchanged(ids, complete):
    hierarchy = build_hierarchy(ids, complete=complete)
    forecasts = _forecasts({s: 100.0 for s in ids})

    assert hierarchy is None
    pd.testing.assert_frame_equal(rec.reconcile(forecasts, hierarchy, "min_trace_ols"), forecasts)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_makes_the_parent_the_sum_of_its_children(method):
    hierarchy = build_hierarchy(LOCATIONS)
    forecasts = _forecasts({"total": 300.0, "location=A": 100.0, "location=B": 150.0})
    history = _history({"total": 300.0, "location=A": 120.0, "location=B": 180.0})

    out = rec.reconcile(forecasts, hierarchy, method, history=history)

    wide = _wide(out)
    np.testing.assert_allclose(wide["total"], wide["location=A"] + wide["location=B"], atol=1e-9)
    assert out["model"].tolist() == forecasts["model"].tolist(), "other columns are kept"
    bands = ["yhat_lower_95", "yhat_lower_80", "yhat", "yhat_upper_80", "yhat_upper_95"]
    assert (out[bands].diff(axis=1).iloc[:, 1:] > 0).all().all(), "bounds nest around the reconciled yhat"
    if method != "top_down_forecast_proportions":  # a coherent Gaussian: sd of a sum <= the sum of the sds
        width = _wide(out.assign(w=out["yhat_upper_95"] - out["yhat_lower_95"]), "w")
        assert (width["total"] <= width["location=A"] + width["location=B"] + 1e-9).all()


def test_method_specific_results():
    hierarchy = build_hierarchy(LOCATIONS)
    forecasts = _forecasts({"total": 300.0, "location=A": 100.0, "location=B": 150.0})
    history = _history({"total": 300.0, "location=A": 120.0, "location=B": 180.0})

    def step_one(method):
        out = rec.reconcile(forecasts, hierarchy, method, history=history)
        return _wide(out).iloc[0]

    assert step_one("bottom_up")["total"] == pytest.approx(101 + 151)
    assert step_one("top_down_average_proportions")["location=A"] == pytest.approx(0.4 * 301)
    assert step_one("top_down_forecast_proportions")["location=A"] == pytest.approx(301 * 101 / 252)
    # OLS splits the gap of 49 evenly over the three series: each moves by 49 / 3
    assert step_one("min_trace_ols")["total"] == pytest.approx(301 - 49 / 3)


def test_min_trace_keeps_a_non_negative_target_non_negative():
    hierarchy = build_hierarchy(LOCATIONS)
    forecasts = _forecasts({"total": 0.0, "location=A": 0.0, "location=B": 60.0}, spread=1.0)

    free = rec.reconcile(forecasts, hierarchy, "min_trace_ols")
    bounded = rec.reconcile(forecasts, hierarchy, "min_trace_ols", non_negative=True)

    assert (free["yhat"] < 0).any()
    bands = ["yhat", "yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95"]
    assert (bounded[bands] >= 0).all().all()
    wide = _wide(bounded)
    np.testing.assert_allclose(wide["total"], wide["location=A"] + wide["location=B"], atol=1e-4)


def test_series_outside_the_hierarchy_are_left_alone():
    hierarchy = build_hierarchy(LOCATIONS)
    forecasts = _forecasts({"total": 300.0, "location=A": 100.0, "location=B": 150.0, "store 9": 7.0})

    out = rec.reconcile(forecasts, hierarchy, "bottom_up")

    mine = forecasts["series_id"] == "store 9"
    pd.testing.assert_frame_equal(out[mine], forecasts[mine].astype(out.dtypes.to_dict()))


def test_a_method_that_does_not_apply_or_a_missing_period_is_an_error():
    ids = ["total", "location=A", "location=B", "product_id=1", "product_id=2"]
    ids += [f"location={loc}|product_id={p}" for loc in "AB" for p in "12"]
    grouped = build_hierarchy(ids)
    with pytest.raises(ValueError, match="does not apply"):
        rec.reconcile(_forecasts(dict.fromkeys(ids, 1.0)), grouped, "top_down_forecast_proportions")
    forecasts = _forecasts({"total": 300.0, "location=A": 100.0, "location=B": 150.0}).iloc[1:]
    with pytest.raises(ValueError, match="every period"):
        rec.reconcile(forecasts, build_hierarchy(LOCATIONS), "bottom_up")


def _folds(levels: dict[str, float], actual: dict[str, float]) -> pd.DataFrame:
    rows = []
    for cutoff in (DATES[0] - pd.Timedelta(days=15), DATES[0] - pd.Timedelta(days=8)):
        for step in range(1, 8):
            ds = cutoff + pd.Timedelta(days=step)
            rows += [
                {"series_id": s, "cutoff": cutoff, "ds": ds, "y": actual[s], "yhat": levels[s]}
                for s in levels
            ]
    return pd.DataFrame(rows)


def test_the_backtest_prefers_bottom_up_when_the_total_is_badly_forecast():
    hierarchy = build_hierarchy(LOCATIONS)
    actual = {"total": 300.0, "location=A": 100.0, "location=B": 200.0}
    rng = np.random.default_rng(0)
    history = _history(actual, days=60).assign(y=lambda f: f["y"] + rng.normal(0, 5, len(f)))
    folds = _folds({"total": 200.0, "location=A": 101.0, "location=B": 199.0}, actual)

    scores = rec.backtest_scores(folds, hierarchy, history, metric="mase", season_length=7)

    assert scores["method"].tolist() == [*METHODS, rec.BASE]
    assert (scores["folds"] == 2).all() and (scores["series"] == 3).all()
    assert scores.loc[scores["chosen"], "method"].tolist() == ["bottom_up"]
    base = scores.set_index("method")["score"]
    assert base["bottom_up"] < base[rec.BASE]


def test_a_series_without_backtest_predictions_counts_as_zero_and_is_not_scored():
    hierarchy = build_hierarchy([*LOCATIONS, "location=New"])
    actual = {"total": 300.0, "location=A": 100.0, "location=B": 200.0}
    folds = _folds({"total": 280.0, "location=A": 101.0, "location=B": 199.0}, actual)

    scores = rec.backtest_scores(folds, hierarchy, _history(actual), metric="smape", season_length=7)

    assert (scores["series"] == 3).all() and (scores["folds"] == 2).all()
    assert scores.loc[scores["chosen"], "method"].tolist() == ["bottom_up"]
    assert rec.backtest_scores(
        folds.iloc[:0], hierarchy, _history(actual), metric="smape", season_length=7
    ).empty


def test_overrides_are_re_summed_into_parents_that_were_not_overridden():
    hierarchy = build_hierarchy(LOCATIONS)
    out = rec.reconcile(
        _forecasts({"total": 0.0, "location=A": 100.0, "location=B": 150.0}), hierarchy, "bottom_up"
    )
    overridden = ((out["series_id"] == "location=A") & (out["ds"] == DATES[1])).to_numpy()
    out.loc[overridden, "yhat"] = 500.0

    again = rec.aggregate_bottom_up(out, hierarchy, overridden)

    wide = _wide(again)
    np.testing.assert_allclose(wide["total"], wide["location=A"] + wide["location=B"])
    total = again[again["series_id"] == "total"].set_index("ds")
    assert total.loc[DATES[1], "yhat"] == 500 + 152
    assert total.loc[DATES[1], "yhat_upper_95"] - total.loc[DATES[1], "yhat"] == pytest.approx(
        out[(out["series_id"] == "total") & (out["ds"] == DATES[1])].eval("yhat_upper_95 - yhat").iloc[0]
    )
    pd.testing.assert_frame_equal(again[~again["ds"].eq(DATES[1])], out[~out["ds"].eq(DATES[1])])

    parent_too = overridden | ((out["series_id"] == "total") & (out["ds"] == DATES[1])).to_numpy()
    kept = rec.aggregate_bottom_up(out, hierarchy, parent_too)
    assert kept.loc[parent_too & (out["series_id"] == "total").to_numpy(), "yhat"].tolist() == [101 + 151 + 2]


@pytest.mark.parametrize(
    "method", ["bottom_up", "top_down_average_proportions", "min_trace_ols", "min_trace_wls_struct"]
)
def test_the_intervals_are_hierarchicalforecasts_normality_in_closed_form(method):
    from hierarchicalforecast.methods import BottomUp, MinTrace, TopDown

    hierarchy = build_hierarchy(LOCATIONS)
    base = np.array([[300.0, 310.0], [100.0, 90.0], [150.0, 170.0]])
    sigma = np.array([[20.0, 25.0], [8.0, 9.0], [12.0, 11.0]])
    history = _history({"total": 300.0, "location=A": 120.0, "location=B": 180.0})
    reconciler = {
        "bottom_up": BottomUp(),
        "top_down_average_proportions": TopDown("average_proportions"),
        "min_trace_ols": MinTrace("ols"),
        "min_trace_wls_struct": MinTrace("wls_struct"),
    }[method]
    extra = {"tags": hierarchy.tags(), "y_insample": rec._shares_history(hierarchy, history)}
    library = reconciler.fit_predict(
        S=hierarchy.S.toarray(),
        y_hat=base,
        sigmah=sigma,
        level=[80, 95],
        intervals_method="normality",
        **(extra if method.startswith("top_down") else {}),
    )

    mine = rec._apply(method, hierarchy, base, sigma=sigma, history=history)

    np.testing.assert_allclose(mine["mean"], library["mean"])
    np.testing.assert_allclose(mine["quantiles"], library["quantiles"], rtol=1e-9)


def test_a_large_hierarchy_is_reconciled_bottom_up_on_the_sparse_summing_matrix(monkeypatch):
    monkeypatch.setattr(hierarchy_module, "DENSE_LIMIT", 2)
    hierarchy = build_hierarchy(LOCATIONS)
    forecasts = _forecasts({"total": 300.0, "location=A": 100.0, "location=B": 150.0})

    assert hierarchy.methods() == ("bottom_up",)
    out = rec.reconcile(forecasts, hierarchy, "bottom_up")
    wide = _wide(out)
    np.testing.assert_allclose(wide["total"], wide["location=A"] + wide["location=B"])
    with pytest.raises(ValueError, match="does not apply"):
        rec.reconcile(forecasts, hierarchy, "min_trace_ols")


@pytest.mark.parametrize("method", METHODS)
def test_no_band_is_narrower_than_the_series_own_moved_with_its_point(method):
    """The Gaussian of independent base errors would narrow the locations' bands under MinTrace (the total's own
    small spread pulls them in); each bound is the wider of it and the series' own bound shifted with its point."""
    hierarchy = build_hierarchy(LOCATIONS)
    levels = {"total": 290.0, "location=A": 100.0, "location=B": 150.0}
    base = _forecasts(levels, spread=10.0)
    base.loc[base["series_id"] == "total", ["yhat_lower_80", "yhat_upper_80"]] += np.array([8.0, -8.0])
    base.loc[base["series_id"] == "total", ["yhat_lower_95", "yhat_upper_95"]] += np.array([12.0, -12.0])

    out = rec.reconcile(base, hierarchy, method, history=_history(levels))

    shift = _wide(out) - _wide(base)
    for column in BAND_COLUMNS[1:]:
        own = _wide(base, column) + shift
        widest = np.minimum if "lower" in column else np.maximum
        np.testing.assert_allclose(widest(_wide(out, column), own), _wide(out, column))
    from_children = not method.startswith("top_down")
    total_80 = _wide(out, "yhat_upper_80")["total"] - _wide(out, "yhat_lower_80")["total"]
    # the total's own 80% band is 4 wide; where the children make it, their Gaussian (each 20 wide) is wider
    assert (total_80 > 4.0 + 1e-9).all() == from_children
