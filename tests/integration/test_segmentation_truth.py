"""Segmentation against the simulator's ground truth, through the real pipeline (ingest, dbt, the segment job).

Given a synthetic shop of 1,000 customers of four known latent types (champion, loyal, occasional,
new_then_lapsed) over 2023-01-01..2024-06-30, its history loaded up to Saturday 2024-06-29 (no champion yet: the
first model is trained and promoted) and the night of Sunday 2024-06-30 run (the weekly retrain), then:
the recovered segments match the true types with an adjusted Rand index of at least 0.8; the retrain keeps at
least 95% of customers in the same segment id, and every kept id keeps its name; the transitions, profiles and
registry tell the same story; and rerunning the retrain night leaves every table identical. The first night's
customer value, on this shop of retail and wholesale buyers (mean spends 100 times apart, too far for Gamma-Gamma's
finite mean, as in the demo), scores every customer with finite values from their own mean spend.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pandas as pd
import pytest

from daybreak.core.settings import get_settings, pseudonym_key
from daybreak.privacy.pseudonyms import pseudonym
from daybreak.warehouse.connection import connect, table_checksums

pytestmark = pytest.mark.integration

START, FIRST_NIGHT, RETRAIN_NIGHT = dt.date(2023, 1, 1), dt.date(2024, 6, 29), dt.date(2024, 6, 30)


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    home = tmp_path_factory.mktemp("truth")
    patch = pytest.MonkeyPatch()
    patch.setenv("DAYBREAK_HOME", str(home))
    patch.setenv("DAYBREAK_DATASET", "synthetic")
    from daybreak.ingest.simulation.synthetic import simulate_synthetic
    from jobs import customer_value, ingest, segment, transform

    settings = get_settings()
    try:
        simulate_synthetic(
            settings.landing_dir,
            start=START,
            end=RETRAIN_NIGHT,
            seed=11,
            customers=1000,
            products=200,
            locations=3,
        )
        days = [START + dt.timedelta(days=i) for i in range((FIRST_NIGHT - START).days + 1)]
        ingest.run_days(days, "history", settings)
        transform.run(FIRST_NIGHT, "history", settings, full_refresh=True)
        first = segment.run(FIRST_NIGHT, "night-1", settings)
        first["customer_value"] = customer_value.run(FIRST_NIGHT, "night-1", settings)
        ingest.run(RETRAIN_NIGHT, "night-2", settings)
        transform.run(RETRAIN_NIGHT, "night-2", settings)
        second = segment.run(RETRAIN_NIGHT, "night-2", settings)
    finally:
        patch.undo()
    return settings, first, second


def query(settings, sql: str, params=()) -> pd.DataFrame:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        return connection.execute(sql, list(params)).df()


def test_segments_recover_the_true_customer_types(shop):
    from sklearn.metrics import adjusted_rand_score

    settings, first, _ = shop
    truth = pd.read_csv(settings.landing_dir / "_truth" / "customers.csv", dtype=str)
    truth["customer_ref"] = truth["customer_ref"].map(lambda ref: pseudonym(ref, pseudonym_key()))
    for night in (FIRST_NIGHT, RETRAIN_NIGHT):
        segments = query(
            settings,
            "select customer_id, segment_id from predictions.customer_segments where as_of_date = ?",
            [night],
        )
        joined = segments.merge(truth, left_on="customer_id", right_on="customer_ref", validate="one_to_one")
        assert len(joined) == len(segments) > 900
        ari = adjusted_rand_score(joined["customer_type"], joined["segment_id"])
        assert ari >= 0.8, (night, ari, pd.crosstab(joined["customer_type"], joined["segment_id"]))
    assert first["training"]["decision"].startswith("promoted: no champion yet")


def test_retraining_the_next_night_keeps_segment_ids_and_names(shop):
    settings, first, second = shop
    assert second["training"]["reason"] == "scheduled (weekly retrain)"
    assert second["training"]["new_segments"] == [] and second["training"]["vanished_segments"] == []
    assert second["training"]["stability"] >= 0.95
    both = query(
        settings,
        """
        select a.customer_id, a.segment_id as id_before, b.segment_id as id_after,
               a.segment_name as name_before, b.segment_name as name_after
        from predictions.customer_segments a
        join predictions.customer_segments b on a.customer_id = b.customer_id
        where a.as_of_date = ? and b.as_of_date = ?
        """,
        [FIRST_NIGHT, RETRAIN_NIGHT],
    )
    assert len(both) > 900
    assert (both["id_before"] == both["id_after"]).mean() >= 0.95
    names_before = both.groupby("id_before")["name_before"].first().to_dict()
    names_after = both.groupby("id_after")["name_after"].first().to_dict()
    assert names_before == names_after
    assert first["segments"].keys() == second["segments"].keys()


def test_transitions_profiles_and_registry_agree(shop):
    settings, _, second = shop
    customers = query(
        settings,
        "select count(*) as n from predictions.customer_segments where as_of_date = ?",
        [RETRAIN_NIGHT],
    )["n"][0]
    transitions = query(
        settings, "select * from predictions.segment_transitions where as_of_date = ?", [RETRAIN_NIGHT]
    )
    assert transitions["customers"].sum() == customers
    assert set(transitions["previous_as_of_date"].dt.date) == {FIRST_NIGHT}
    stayed = transitions.loc[
        transitions["from_segment_id"] == transitions["to_segment_id"], "customers"
    ].sum()
    assert stayed / transitions["customers"].sum() >= 0.95

    profiles = query(
        settings, "select * from predictions.segment_profiles where as_of_date = ?", [RETRAIN_NIGHT]
    )
    per_segment = profiles.drop_duplicates("segment_id")
    assert per_segment["customers"].sum() == customers
    assert per_segment["share_of_revenue"].sum() == pytest.approx(1.0)
    assert set(profiles["feature"]) >= {
        "recency_days",
        "frequency",
        "monetary",
        "tenure_days",
        "avg_basket_value",
    }

    versions = query(
        settings,
        "select version, status, model_name, metrics from registry.model_versions "
        "where model_kind = 'segmentation' and model_id = 'customers' order by version",
    )
    assert versions["version"].tolist() == [FIRST_NIGHT.isoformat(), RETRAIN_NIGHT.isoformat()]
    metrics = json.loads(versions["metrics"].iloc[1])
    assert metrics["stability"] == pytest.approx(second["training"]["stability"], abs=1e-4)
    assert metrics["champion_version"] == FIRST_NIGHT.isoformat()
    assert [row["k"] for row in metrics["k_selection"]] == list(range(3, 9))
    scored = query(
        settings,
        "select distinct model_version from predictions.customer_segments where as_of_date = ?",
        [RETRAIN_NIGHT],
    )["model_version"].tolist()
    champion = versions.loc[versions["status"] == "champion", "version"].tolist()
    assert scored == champion


def test_rerunning_the_retrain_night_changes_nothing(shop, monkeypatch):
    from jobs import segment

    settings, _, second = shop
    with connect(settings.warehouse_path, read_only=True) as connection:
        before = table_checksums(connection)
    again = segment.run(RETRAIN_NIGHT, "night-2-rerun", settings)
    with connect(settings.warehouse_path, read_only=True) as connection:
        after = table_checksums(connection)
    assert after == before
    assert again["training"]["decision"].startswith("already decided")
    assert again["segments"] == second["segments"]


def test_customer_value_scores_every_customer_of_a_retail_and_wholesale_shop(shop):
    settings, first, _ = shop
    assert "promoted" in str(first["customer_value"]), first["customer_value"]
    values = query(
        settings,
        "select v.*, s.frequency, s.monetary_value from predictions.customer_value v "
        "join marts.features_customer_value_asof s using (as_of_date, customer_id) where v.as_of_date = ?",
        [FIRST_NIGHT],
    )
    customers = query(
        settings,
        "select count(*) n from marts.features_customer_value_asof where as_of_date = ?",
        [FIRST_NIGHT],
    )["n"].iloc[0]
    assert len(values) == customers > 900
    assert set(values["model"]) == {"bg_nbd+observed_spend"}
    numbers = values[["probability_active", "expected_purchases", "expected_revenue", "revenue_upper_80"]]
    assert numbers.notna().all().all() and (numbers >= 0).all().all()
    repeat = values[
        (values["frequency"] > 0) & (values["monetary_value"] > 0) & (values["expected_purchases"] > 0)
    ]
    per_purchase = repeat["expected_revenue"] / repeat["expected_purchases"]
    assert per_purchase.to_numpy() == pytest.approx(repeat["monetary_value"].to_numpy())
