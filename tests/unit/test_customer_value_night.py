"""Customer value night by night: when a night retrains, the backtest gate, the rows it writes, when it skips."""

from __future__ import annotations

import dataclasses
import datetime as dt

import duckdb
import pandas as pd
import pytest
import yaml

from daybreak.core.settings import CONFIG_DIR, Settings
from daybreak.datasets import CustomerValueConfig
from daybreak.models.customer_value import CALIBRATION_COLUMNS, Backtest, CustomerValueModel, score
from daybreak.models.customer_value.formulas import BetaGeo, GammaGamma
from daybreak.nights.customer_value import promotion_gate, retrain_reason, score_table, train
from daybreak.warehouse.schemas.predictions import CUSTOMER_VALUE
from jobs import customer_value

SPEC = CustomerValueConfig(
    enabled=True, horizon_days=30, retrain="weekly", retrain_weekday=6, min_customers=3
)
SUNDAY, MONDAY = dt.date(2024, 6, 30), dt.date(2024, 7, 1)
MODEL = CustomerValueModel(
    purchases=BetaGeo(r=0.8, alpha=20.0, a=0.6, b=2.5),
    spend=GammaGamma(p=6.0, q=4.0, v=15.0),
    library="pymc-marketing test",
    customers=3,
    spend_customers=2,
    seed=0,
)
SUMMARY = pd.DataFrame(
    {
        "customer_id": ["a", "b", "c"],
        "frequency": [0.0, 3.0, 8.0],
        "recency": [0.0, 40.0, 100.0],
        "T": [10.0, 90.0, 120.0],
        "monetary_value": [0.0, 25.0, 40.0],
    }
)


def _backtest(predicted: list[float], actual: list[float], own: list[float], mean: list[float]) -> Backtest:
    customers = SUMMARY.assign(
        predicted_purchases=predicted,
        actual_purchases=actual,
        individual_rate=own,
        mean_rate=mean,
        predicted_revenue=0.0,
        actual_revenue=0.0,
    )
    return Backtest(MODEL, customers, 30, pd.DataFrame(columns=list(CALIBRATION_COLUMNS)))


def test_retrain_reason():
    assert retrain_reason(SPEC, MONDAY, None) == "no champion yet"
    assert retrain_reason(SPEC, SUNDAY, MODEL) == "scheduled (weekly retrain)"
    assert retrain_reason(SPEC, MONDAY, MODEL) is None  # the champion scores
    assert retrain_reason(dataclasses.replace(SPEC, retrain="daily"), MONDAY, MODEL) is not None


def test_the_gate_wants_both_baselines_beaten_and_the_champion_matched():
    good = _backtest([0.1, 2.0, 5.0], [0.0, 2.0, 6.0], [0.0, 1.0, 3.0], [2.0, 2.0, 2.0])
    promote, why, champion_mae = promotion_gate(good, None)
    assert promote and champion_mae is None and why.startswith("beats both baselines")

    # one baseline (each customer's own rate) does as well: not promoted
    tied = _backtest([0.0, 2.0, 5.0], [0.0, 2.0, 6.0], [0.0, 2.0, 5.0], [2.0, 2.0, 2.0])
    promote, why, _ = promotion_gate(tied, None)
    assert not promote and why.startswith("does not beat both baselines")

    # the champion's parameters, scoring the same calibration customers over the same holdout, are the bar too
    champion = score(MODEL, SUMMARY, 30)["expected_purchases"].tolist()
    baseline = [p + 1 for p in champion]
    worse = _backtest([p + 0.1 for p in champion], champion, baseline, baseline)
    promote, why, champion_mae = promotion_gate(worse, MODEL)
    assert not promote and champion_mae == pytest.approx(0) and why.startswith("worse than the champion")
    as_good = _backtest(champion, champion, baseline, baseline)
    promote, why, _ = promotion_gate(as_good, MODEL)
    assert promote and "the champion's 0.0000" in why


def test_rows_carry_the_night_the_horizon_and_the_version_and_scoring_runs_where_the_engine_says():
    calls = []

    def elsewhere(model, summary, horizon_days):
        calls.append((len(summary), horizon_days))
        return score(model, summary, horizon_days)

    here = score_table(MODEL, SUMMARY, SPEC, SUNDAY, "2024-06-30", "r")
    there = score_table(MODEL, SUMMARY, SPEC, SUNDAY, "2024-06-30", "r", scorer=elsewhere)

    assert calls == [(3, 30)]
    pd.testing.assert_frame_equal(here, there)
    assert list(here.columns) == [c.name for c in CUSTOMER_VALUE.columns]
    assert here["customer_id"].tolist() == ["a", "b", "c"]
    assert set(here["as_of_date"]) == {SUNDAY} and set(here["horizon_days"]) == {30}
    assert set(here["model"]) == {"bg_nbd+gamma_gamma"} and set(here["model_version"]) == {"2024-06-30"}
    assert (here["purchases_lower_80"] <= here["expected_purchases"]).all()
    assert (here["expected_purchases"] <= here["purchases_upper_80"]).all()
    assert here["probability_active"].between(0, 1).all()
    assert score_table(None, SUMMARY, SPEC, SUNDAY, None, "r").empty


def test_too_short_a_history_for_the_backtest_trains_nothing(tmp_path):
    purchases = pd.DataFrame(
        {
            "customer_id": ["a", "b", "b", "c"],
            "purchase_date": pd.to_datetime(["2024-06-01", "2024-06-02", "2024-06-20", "2024-06-25"]),
            "revenue": [1.0, 2.0, 3.0, 4.0],
        }
    )
    spec = dataclasses.replace(SPEC, holdout_days=20)  # calibration ends 06-10: two customers, fewer than 3
    with duckdb.connect() as connection:
        result, calibration = train(
            connection, tmp_path, spec, SUMMARY, purchases, SUNDAY, "r", "no champion yet", None
        )
        assert connection.execute("select count(*) from information_schema.tables").fetchone()[0] == 0
    assert calibration is None and result["decision"].startswith(
        "not trained: 2 customers bought by 2024-06-10"
    )
    assert not list(tmp_path.iterdir()), "no model saved"


def _settings(tmp_path, **section) -> Settings:
    """A copy of the synthetic dataset with its customer_value section changed."""
    raw = yaml.safe_load((CONFIG_DIR / "synthetic.yml").read_text(encoding="utf-8"))
    raw["name"] = "shop"
    raw["customer_value"] = {**raw["customer_value"], **section}
    path = tmp_path / "shop.yml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return Settings(home=tmp_path / "home", dataset=str(path))


def _warehouse(settings: Settings, summary: pd.DataFrame) -> None:
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.warehouse_path)) as connection:
        connection.execute("create schema marts")
        frame = summary.assign(as_of_date=SUNDAY)  # noqa: F841 - read by the SQL below
        connection.execute("create table marts.features_customer_value_asof as select * from frame")


def test_a_disabled_dataset_and_a_night_with_too_few_customers_are_skipped_saying_why(tmp_path):
    off = customer_value.run(SUNDAY, "r", _settings(tmp_path, enabled=False))
    assert off == {"skipped": "customer value disabled for dataset shop"}

    settings = _settings(tmp_path, min_customers=4)
    _warehouse(settings, SUMMARY)
    few = customer_value.run(SUNDAY, "r", settings)
    assert few["skipped"] == "3 customers with a purchase by 2024-06-30, fewer than min_customers 4"
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        tables = {
            row[0]
            for row in connection.execute("select table_name from information_schema.tables").fetchall()
        }
    assert tables == {"features_customer_value_asof"}, "nothing written"


@pytest.mark.parametrize("key, value", [("horizon_days", 0), ("holdout_days", 0), ("min_customers", 0)])
def test_the_section_refuses_what_cannot_be_predicted(key, value):
    with pytest.raises(ValueError, match=key):
        CustomerValueConfig(**{key: value})
