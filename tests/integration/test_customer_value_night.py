"""The customer-value night through the real jobs, on the demo's synthetic shop and on a customer-only export.

Given the synthetic shop with a short customer-value horizon (2 days) and holdout (21 days), its history loaded up
to 03-27 and the nights of 03-28 to 03-31 run step by step as the DAG runs them, then every night writes one
partition of predictions.customer_value (a row per customer of the summary mart), the training nights (the
first, and Sunday 03-31's schedule) write their calibration rows and register a version gated on the backtest,
the accuracy view fills with each prediction whose horizon has closed (the purchase days that followed, counted
here from the sales lines themselves, and the customer's segment that night), and a rerun of a night changes
nothing; a customer whose erasure is requested then leaves customer_value, its marts and the accuracy view with
the next night (04-01), every as-of date of them. Given an export of nothing but customer, date and amount (`grain: aggregated`), the night predicts
its customers too.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest
import yaml

from daybreak.core.settings import CONFIG_DIR, PROJECT_ROOT, Settings
from daybreak.warehouse.connection import connect, table_checksums

pytestmark = pytest.mark.integration

START, HISTORY_END = dt.date(2024, 1, 1), dt.date(2024, 3, 27)
NIGHTS = [HISTORY_END + dt.timedelta(days=i) for i in range(5)]  # 03-27 (the history's) .. 03-31, a Sunday
AFTER_ERASURE = NIGHTS[-1] + dt.timedelta(days=1)
HORIZON = 2
CUSTOMER_VALUE = {"horizon_days": HORIZON, "holdout_days": 21, "min_customers": 20}
AGGREGATED = PROJECT_ROOT / "tests" / "data" / "aggregated"


def shop_config(directory) -> str:
    """The synthetic dataset with a short customer-value horizon and the quick forecast candidate only."""
    raw = yaml.safe_load((CONFIG_DIR / "synthetic.yml").read_text(encoding="utf-8"))
    raw["name"] = "valued_shop"
    raw["customer_value"] = {**raw["customer_value"], **CUSTOMER_VALUE}
    raw["forecasting"] = {"candidates": ["seasonal_naive"]}
    path = directory / "valued_shop.yml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    from daybreak.ingest.simulation.synthetic import simulate_synthetic
    from jobs.pipeline import load_history, run_night

    home = tmp_path_factory.mktemp("customer_value")
    settings = Settings(home=home / "home", dataset=shop_config(home))
    simulate_synthetic(
        settings.landing_dir, start=START, end=AFTER_ERASURE, seed=7, customers=150, products=40, locations=3
    )
    results = {HISTORY_END: load_history(HISTORY_END, settings)}
    for day in NIGHTS[1:]:
        results[day] = run_night(day, settings=settings)
    return settings, results


def frame(settings: Settings, sql: str, params=()) -> pd.DataFrame:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        return connection.execute(sql, list(params)).df()


def test_every_night_scores_every_customer_of_its_summary(nights):
    settings, results = nights
    written = frame(
        settings,
        "select as_of_date, count(*) as rows, count(distinct model_version) as versions, min(horizon_days) as h, "
        "max(horizon_days) as h_max from predictions.customer_value group by 1 order by 1",
    )
    customers = frame(
        settings,
        "select as_of_date, count(*) as customers from marts.features_customer_value_asof group by 1 order by 1",
    )
    assert [d.date() for d in pd.to_datetime(written["as_of_date"])] == NIGHTS
    assert (
        written["rows"].tolist()
        == customers.set_index("as_of_date").loc[written["as_of_date"], "customers"].tolist()
    )
    assert (
        (written["versions"] == 1).all()
        and (written["h"] == HORIZON).all()
        and (written["h_max"] == HORIZON).all()
    )
    for day in NIGHTS:
        assert results[day]["customer_value"]["rows_written"]["predictions.customer_value"] > 0, day


def test_the_training_nights_are_gated_through_the_registry_and_write_their_calibration(nights):
    settings, results = nights
    trained = {day: results[day]["customer_value"].get("training") for day in NIGHTS}
    assert [day for day, training in trained.items() if training] == [HISTORY_END, NIGHTS[-1]]
    assert trained[HISTORY_END]["reason"] == "no champion yet"
    assert trained[NIGHTS[-1]]["reason"] == "scheduled (weekly retrain)"
    assert trained[HISTORY_END]["decision"].startswith("promoted: beats both baselines")
    calibration = frame(
        settings, "select distinct as_of_date, model_version from predictions.customer_value_calibration"
    )
    assert sorted(calibration["model_version"]) == [HISTORY_END.isoformat(), NIGHTS[-1].isoformat()]
    events = frame(
        settings,
        "select version, action from registry.model_events where model_kind = 'customer_value' order by event_seq",
    )
    assert events.values.tolist()[:2] == [
        [HISTORY_END.isoformat(), "register"],
        [HISTORY_END.isoformat(), "promote"],
    ]
    scored_by = frame(
        settings,
        "select distinct model_version from predictions.customer_value where as_of_date < ?",
        [NIGHTS[-1]],
    )
    assert scored_by["model_version"].tolist() == [HISTORY_END.isoformat()]


def test_the_accuracy_view_fills_as_the_horizon_closes(nights):
    settings, _ = nights
    accuracy = frame(
        settings, "select * from predictions.customer_value_accuracy order by as_of_date, customer_id"
    )
    closed = [day for day in NIGHTS if day + dt.timedelta(days=HORIZON) <= NIGHTS[-1]]
    assert sorted({d.date() for d in pd.to_datetime(accuracy["as_of_date"])}) == closed
    assert (
        pd.to_datetime(accuracy["scored_on"])
        == pd.to_datetime(accuracy["as_of_date"]) + pd.Timedelta(days=HORIZON)
    ).all()
    # what followed each prediction, counted from the sales lines themselves: days with a product sale
    followed = frame(
        settings,
        """select value.as_of_date, value.customer_id,
                  count(distinct lines.business_date) as purchases, coalesce(sum(lines.revenue), 0) as revenue
           from predictions.customer_value as value
           left join marts.fct_sales_lines as lines
             on lines.customer_id = value.customer_id and lines.is_product_sale and not lines.is_return
            and lines.business_date > value.as_of_date and lines.business_date <= value.as_of_date + ?
           where value.as_of_date + ? <= ?
           group by 1, 2 order by 1, 2""",
        [HORIZON, HORIZON, NIGHTS[-1]],
    )
    assert len(accuracy) == len(followed)
    assert accuracy["actual_purchases"].tolist() == followed["purchases"].astype(float).tolist()
    assert accuracy["actual_revenue"].round(6).tolist() == followed["revenue"].round(6).tolist()
    assert accuracy["actual_purchases"].sum() > 0, "some customers came back within the horizon"
    segments = frame(
        settings,
        "select as_of_date, customer_id, segment_name from predictions.customer_segments "
        "where as_of_date <= ? order by 1, 2",
        [closed[-1]],
    )
    pd.testing.assert_series_equal(
        accuracy["segment_name"].reset_index(drop=True), segments["segment_name"].reset_index(drop=True)
    )


def test_rerunning_a_night_changes_nothing(nights):
    from jobs import customer_value

    settings, _ = nights
    with connect(settings.warehouse_path, read_only=True) as connection:
        before = table_checksums(connection)
    for day in (HISTORY_END, NIGHTS[2], NIGHTS[-1]):
        customer_value.run(day, f"rerun-{day}", settings)
    with connect(settings.warehouse_path, read_only=True) as connection:
        after = table_checksums(connection)
    assert after == before


def test_an_erased_customer_leaves_customer_value_its_marts_and_the_accuracy_view(nights):
    """Last of the shop's tests: it runs one more night, after an erasure request."""
    from daybreak.nights import erasure
    from daybreak.privacy.links import LinkStore
    from jobs.pipeline import run_night

    settings, _ = nights
    tables = (
        "predictions.customer_value",
        "predictions.customer_value_accuracy",
        "marts.features_customer_value_asof",
        "marts.fct_customer_purchase_days",
    )
    held = "select count(*) as n from {} where customer_id = ?"
    accuracy = frame(
        settings, "select customer_id, count(*) as n from predictions.customer_value_accuracy group by 1"
    )
    code = accuracy.sort_values(["n", "customer_id"], ascending=[False, True])["customer_id"].iloc[0]
    assert all(frame(settings, held.format(t), [code])["n"].iloc[0] > 0 for t in tables), "valued before"
    others = frame(
        settings, "select count(*) as n from predictions.customer_value where customer_id <> ?", [code]
    )

    source_id = LinkStore.open(settings).source_id(code)
    erasure.request(
        settings,
        source_id,
        "data subject request",
        now=dt.datetime(2024, 4, 1, tzinfo=dt.UTC),
        as_of=NIGHTS[-1],
    )
    done = run_night(AFTER_ERASURE, settings=settings)

    assert done["privacy"]["erasures"], "carried out by the next night"
    assert {t: int(frame(settings, held.format(t), [code])["n"].iloc[0]) for t in tables} == dict.fromkeys(
        tables, 0
    )
    kept = frame(
        settings,
        "select count(*) as n from predictions.customer_value where customer_id <> ? and as_of_date <= ?",
        [code, NIGHTS[-1]],
    )
    assert kept["n"].iloc[0] == others["n"].iloc[0], "the other customers' predictions stay"


def test_an_export_of_customers_dates_and_amounts_alone_gets_customer_values(tmp_path):
    from daybreak.datasets import load_dataset_config
    from daybreak.ingest.simulation.replay import replay_dataset
    from jobs import customer_value, ingest, transform
    from jobs.pipeline import landed_days

    settings = Settings(home=tmp_path, dataset=str(AGGREGATED / "customer_spend.yml"))
    replay_dataset(load_dataset_config(settings.dataset), settings.landing_dir)
    days = landed_days(settings)
    ingest.run_days(days, "test", settings)
    transform.run(days[-1], "test", settings, full_refresh=True)
    summary = customer_value.run(days[-1], "test", settings)

    source = pd.read_csv(AGGREGATED / "customer_spend.csv")
    assert summary["customers"] == source["customer"].nunique()
    assert summary["training"]["decision"].startswith("promoted")
    rows = frame(settings, "select * from predictions.customer_value")
    assert len(rows) == source["customer"].nunique() and rows["expected_revenue"].gt(0).all()
