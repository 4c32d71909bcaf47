"""The customer-value model on small made-up purchase histories: the summary, the closed forms against
PyMC-Marketing's own functions and against a simulation of the process, one real fit, scoring and the backtest."""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import sys

import arviz as az
import joblib
import numpy as np
import pandas as pd
import pytest
from pymc_marketing.clv import BetaGeoModel, GammaGammaModel

from bench.customer_value_scale import simulate
from daybreak.models.customer_value import (
    CALIBRATION_COLUMNS,
    SCORE_COLUMNS,
    SUMMARY_COLUMNS,
    CustomerValueModel,
    backtest,
    fit,
    score,
    summarise,
)
from daybreak.models.customer_value.backtest import calibration_table
from daybreak.models.customer_value.formulas import (
    BetaGeo,
    GammaGamma,
    ObservedSpend,
    expected_purchases,
    expected_spend,
    probability_alive,
    purchase_quantiles,
)

PURCHASES = BetaGeo(r=0.75, alpha=60.0, a=0.8, b=4.0)
SPEND = GammaGamma(p=3.0, q=3.2, v=300.0)
START = dt.date(2024, 1, 1)
CALIBRATION_END = dt.date(2024, 9, 30)
HOLDOUT_END = dt.date(2024, 12, 29)


def _model(**changes) -> CustomerValueModel:
    model = CustomerValueModel(PURCHASES, SPEND, "test", customers=0, spend_customers=0, seed=0)
    return dataclasses.replace(model, **changes)


def _transactions(customers: int = 1500, seed: int = 3) -> pd.DataFrame:
    """Purchase lines of customers buying at Poisson rates who each may drop out after a purchase."""
    rng = np.random.default_rng(seed)
    days = (HOLDOUT_END - START).days
    rows = []
    for i in range(customers):
        day = int(rng.integers(0, (CALIBRATION_END - START).days))
        rate, dropout = rng.gamma(0.8, 1 / 40), rng.beta(1.0, 5.0)
        while day <= days:
            for _ in range(int(rng.integers(1, 3))):  # one to two lines on a purchase day
                rows.append((f"c{i:05d}", START + dt.timedelta(days=day), float(rng.gamma(3.0, 20.0))))
            if rng.random() < dropout:
                break
            day += 1 + int(rng.exponential(1 / rate))
    return pd.DataFrame(rows, columns=["customer_id", "purchase_date", "revenue"])


@pytest.fixture(scope="module")
def retail_backtest():
    return backtest(_transactions(), CALIBRATION_END, HOLDOUT_END, seed=5)


def test_summarise_counts_repeat_days_and_ignores_what_follows_the_as_of_date():
    purchases = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b", "c"],
            "purchase_date": [
                dt.date(2024, 1, 1),
                dt.date(2024, 1, 1),  # a second order the same day is the same purchase
                dt.date(2024, 1, 11),
                dt.date(2024, 1, 31),
                dt.date(2024, 1, 21),
                dt.date(2024, 2, 5),  # after the as-of date: c is not a customer yet
            ],
            "revenue": [10.0, 5.0, 30.0, 50.0, 7.0, 99.0],
        }
    )
    summary = summarise(purchases, dt.date(2024, 1, 31))
    assert tuple(summary.columns) == SUMMARY_COLUMNS
    assert summary.to_dict("records") == [
        {"customer_id": "a", "frequency": 2.0, "recency": 30.0, "T": 30.0, "monetary_value": 40.0},
        {"customer_id": "b", "frequency": 0.0, "recency": 0.0, "T": 10.0, "monetary_value": 0.0},
    ]


def test_summarise_names_a_missing_column():
    with pytest.raises(ValueError, match="revenue"):
        summarise(pd.DataFrame({"customer_id": ["a"], "purchase_date": [START]}), START)


def _sample(n: int = 300, seed: int = 11) -> pd.DataFrame:
    return simulate(n, seed=seed)


def test_closed_forms_agree_with_pymc_marketing_on_a_sample():
    sample = _sample()
    x, t_x, age, spend = (sample[c].to_numpy() for c in ("frequency", "recency", "T", "monetary_value"))
    library = BetaGeoModel()
    library.build_model(sample)
    library.idata = az.from_dict(posterior={k: np.array([[v]]) for k, v in PURCHASES._asdict().items()})
    np.testing.assert_allclose(
        probability_alive(PURCHASES, x, t_x, age),
        library.expected_probability_alive(sample).values.ravel(),
        rtol=1e-10,
    )
    np.testing.assert_allclose(
        expected_purchases(PURCHASES, x, t_x, age, 90.0),
        library.expected_purchases(sample, future_t=90).values.ravel(),
        rtol=1e-9,
    )
    repeat = sample[sample["frequency"] > 0]
    gamma_gamma = GammaGammaModel()
    gamma_gamma.build_model(repeat)
    gamma_gamma.idata = az.from_dict(posterior={k: np.array([[v]]) for k, v in SPEND._asdict().items()})
    np.testing.assert_allclose(
        expected_spend(SPEND, x, spend)[sample["frequency"].to_numpy() > 0],
        gamma_gamma.expected_customer_spend(repeat).values.ravel(),
        rtol=1e-10,
    )


@pytest.mark.parametrize(
    "x, t_x, age, horizon",
    [
        (0, 0, 200, 90.0),
        (3, 150, 200, 90.0),
        (12, 250, 300, 90.0),
        (25, 280, 290, 90.0),
        # a daily buyer over four years: NB(0) underflows and eq. 10's 2F1 overflows as the paper writes it
        (1900, 1940, 1950, 1500.0),
    ],
)
def test_the_predictive_distribution_matches_a_simulation_of_the_process(x, t_x, age, horizon):
    """Given alive, the rate is Gamma(r + x, alpha + T), the dropout Beta(a, b + x), purchases min(N, K)."""
    rng = np.random.default_rng(x)
    draws = 400_000
    r, alpha, a, b = PURCHASES
    alive = probability_alive(PURCHASES, np.array([x]), np.array([t_x]), np.array([age]))
    is_alive = rng.random(draws) < alive[0]
    purchases = np.minimum(
        rng.poisson(rng.gamma(r + x, 1 / (alpha + age), draws) * horizon),
        rng.geometric(rng.beta(a, b + x, draws)),
    )
    simulated = np.where(is_alive, purchases, 0)
    expected = expected_purchases(PURCHASES, np.array([x]), np.array([t_x]), np.array([age]), horizon)[0]
    assert simulated.mean() == pytest.approx(expected, rel=0.01)
    lower, upper = purchase_quantiles(PURCHASES, np.array([float(x)]), alive, np.array([age]), horizon)
    cdf = lambda k: (simulated <= k).mean()  # noqa: E731
    assert cdf(lower[0]) >= 0.1 - 0.003 and (lower[0] == 0 or cdf(lower[0] - 1) < 0.1 + 0.003)
    assert cdf(upper[0]) >= 0.9 - 0.003 and (upper[0] == 0 or cdf(upper[0] - 1) < 0.9 + 0.003)


def test_a_customer_whose_repeat_days_net_to_nothing_spends_the_population_mean():
    population = SPEND.v * SPEND.p / (SPEND.q - 1)
    spend = expected_spend(SPEND, np.array([0.0, 3.0, 3.0, 3.0]), np.array([0.0, -20.0, 0.0, 50.0]))
    np.testing.assert_allclose(spend[:3], population)
    assert population > spend[3] > 50.0


def test_observed_spend_keeps_each_repeat_customers_own_mean_and_gives_the_rest_the_median():
    spend = expected_spend(
        ObservedSpend(typical=42.0, refused_q=0.8),
        np.array([0.0, 3.0, 3.0, 1.0]),
        np.array([0.0, -20.0, 1500.0, 12.5]),
    )
    np.testing.assert_array_equal(spend, [42.0, 42.0, 1500.0, 12.5])


def test_a_shop_of_retail_and_wholesale_buyers_gets_observed_spend_instead_of_a_refusal(retail_backtest):
    """Gamma-Gamma fits q <= 1 (no finite mean) when a fifth of the buyers spend 50 times the rest, as the demo's
    wholesale customers do; the purchases are still BG/NBD and every customer still gets a finite value."""
    summary = retail_backtest.customers.loc[:, list(SUMMARY_COLUMNS)].copy()
    wholesale = np.random.default_rng(11).random(len(summary)) < 0.2
    summary.loc[wholesale, "monetary_value"] *= 50
    model = fit(summary, seed=5)
    assert isinstance(model.spend, ObservedSpend) and model.spend.refused_q <= 1
    assert model.name == "bg_nbd+observed_spend" and model.purchases == retail_backtest.model.purchases
    repeat = summary.loc[(summary["frequency"] > 0) & (summary["monetary_value"] > 0), "monetary_value"]
    assert model.spend.typical == pytest.approx(repeat.median())
    scored = score(model, summary, 90)
    assert np.isfinite(scored.drop(columns="customer_id").to_numpy()).all()
    known = (summary["frequency"] > 0).to_numpy() & (summary["monetary_value"] > 0).to_numpy()
    per_purchase = scored["expected_revenue"] / scored["expected_purchases"]
    np.testing.assert_allclose(per_purchase[known], summary.loc[known, "monetary_value"])


def test_score_gives_every_customer_a_row_in_order_with_consistent_intervals():
    sample = _sample(2000).iloc[::-1].reset_index(drop=True)
    scored = score(_model(), sample, 90)
    assert tuple(scored.columns) == SCORE_COLUMNS
    assert scored["customer_id"].tolist() == sample["customer_id"].tolist()
    assert scored["probability_active"].between(0, 1).all()
    assert (scored.loc[sample["frequency"] == 0, "probability_active"] == 1).all()
    assert (scored["purchases_lower_80"] <= scored["purchases_upper_80"]).all()
    assert (scored["purchases_lower_80"] <= scored["expected_purchases"]).all()
    spend = scored["expected_revenue"] / scored["expected_purchases"]
    np.testing.assert_allclose(scored["revenue_upper_80"], scored["purchases_upper_80"] * spend)
    longer = score(_model(), sample, 180)
    assert (longer["expected_purchases"] > scored["expected_purchases"]).all()


def test_score_refuses_a_bad_horizon_and_an_impossible_summary():
    sample = _sample(10)
    with pytest.raises(ValueError, match="horizon_days"):
        score(_model(), sample, 0)
    with pytest.raises(ValueError, match="recency <= T"):
        score(_model(), sample.assign(recency=sample["T"] + 1), 90)
    with pytest.raises(ValueError, match="monetary_value"):
        score(_model(), sample.drop(columns="monetary_value"), 90)


def test_fit_refuses_a_summary_without_repeat_purchases():
    sample = _sample(50).assign(frequency=0.0, recency=0.0, monetary_value=0.0)
    with pytest.raises(ValueError, match="repeat purchase"):
        fit(sample)


def test_backtest_fits_deterministically_and_beats_both_baselines(retail_backtest):
    result = retail_backtest
    model = result.model
    assert model.library.startswith("pymc-marketing ")
    assert model.customers == len(result.customers) and model.seed == 5
    summary = result.customers.loc[:, list(SUMMARY_COLUMNS)]
    again = fit(summary, seed=5)
    assert again == model  # the same parameters, library and seed (the fit's seconds do not count)
    assert result.horizon_days == (HOLDOUT_END - CALIBRATION_END).days
    assert result.beats_baselines
    assert result.mae < result.mae_individual_rate and result.mae < result.mae_mean_rate
    assert abs(result.total_error) < 0.15
    assert result.revenue_spearman > 0.3


def test_a_fitted_model_survives_joblib_and_scores_the_same(retail_backtest, tmp_path):
    model = retail_backtest.model
    joblib.dump(model, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    assert loaded == model
    summary = retail_backtest.customers.loc[:, list(SUMMARY_COLUMNS)]
    pd.testing.assert_frame_equal(score(loaded, summary, 90), score(model, summary, 90))


def test_calibration_table_buckets_by_calibration_purchases_with_an_open_last_bucket():
    customers = pd.DataFrame(
        {
            "customer_id": list("abcde"),
            "frequency": [0.0, 0.0, 2.0, 7.0, 30.0],
            "predicted_purchases": [0.5, 1.5, 2.0, 6.0, 20.0],
            "actual_purchases": [0.0, 1.0, 3.0, 8.0, 16.0],
        }
    )
    table = calibration_table(customers)
    assert tuple(table.columns) == CALIBRATION_COLUMNS
    assert table.to_dict("records") == [
        {"calibration_purchases": 0, "customers": 2, "predicted_purchases": 1.0, "actual_purchases": 0.5},
        {"calibration_purchases": 2, "customers": 1, "predicted_purchases": 2.0, "actual_purchases": 3.0},
        {"calibration_purchases": 7, "customers": 2, "predicted_purchases": 13.0, "actual_purchases": 12.0},
    ]


def test_the_scoring_side_does_not_import_pymc():
    """Scoring nights and pages import the package; only `fit` may pay PyMC-Marketing's seconds of import."""
    code = "import sys, daybreak.models.customer_value; print(sorted(m for m in sys.modules if m.startswith('pymc')))"
    loaded = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert loaded.strip() == "[]"


def test_expected_purchases_stay_finite_where_the_data_shows_no_visible_dropout():
    """A fit on data without drop-out gives a and b near 1e6 (a customer-only export did): eq. 10 overflows there,
    so the dropout is taken at its posterior mean, which agrees with eq. 10 where both are finite."""
    x, t_x, age = np.array([0.0, 1, 5, 30]), np.array([0.0, 50, 200, 300]), np.array([100.0, 300, 365, 365])
    moderate = expected_purchases(BetaGeo(0.6, 40.0, 200.0, 7000.0), x, t_x, age, 90.0)
    steep = expected_purchases(BetaGeo(0.6, 40.0, 4e4, 1.4e6), x, t_x, age, 90.0)
    assert np.isfinite(steep).all()
    np.testing.assert_allclose(steep, moderate, rtol=5e-3)
