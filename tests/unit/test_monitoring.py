"""The pure parts of monitoring: the retraining policy, reference sampling and storage, the drift tests, the data
quality checks and the alert's text."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

from daybreak.datasets.monitoring import Retraining
from daybreak.models.drift import data_quality, feature_drift, forecast_surprise
from daybreak.nights import references
from daybreak.nights.monitoring import alert_text, report_html
from daybreak.nights.retraining import policy

DAY = dt.date(2024, 4, 17)


def test_the_policy_retrains_on_drift_past_the_share_and_names_what_drifted():
    decision = policy(
        "forecast", Retraining(drift_share=0.1), share_drifted=0.25, drifted=["a:revenue"], error_ratio=None,
        scheduled=False,
    )  # fmt: skip
    assert decision["retrain"] and decision["trigger"] == "drift" and "a:revenue" in decision["reason"]


def test_the_policy_retrains_on_degradation_past_the_margin_only():
    config = Retraining(error_margin=0.5)
    kept = policy("forecast", config, share_drifted=0.0, drifted=[], error_ratio=1.4, scheduled=False)
    worse = policy("forecast", config, share_drifted=0.0, drifted=[], error_ratio=1.6, scheduled=False)
    assert (kept["retrain"], kept["trigger"]) == (False, "none")
    assert (worse["retrain"], worse["trigger"]) == (True, "degradation") and "1.60" in worse["reason"]


def test_the_schedule_retrains_when_nothing_drifted_and_nothing_compared_is_no_drift():
    scheduled = policy(
        "segmentation", Retraining(), share_drifted=None, drifted=[], error_ratio=None, scheduled=True
    )
    assert (scheduled["retrain"], scheduled["trigger"]) == (True, "schedule")


def test_a_sample_is_deterministic_bounded_and_in_key_order():
    frame = pd.DataFrame({"customer_id": [f"C{i:04d}" for i in range(1000)], "x": range(1000)})
    first = references.sample(frame, 100, "customer_id")
    again = references.sample(frame.sample(frac=1, random_state=1), 100, "customer_id")
    assert len(first) == 100 and set(first["customer_id"]) == set(again["customer_id"])
    assert list(first["customer_id"]) == sorted(first["customer_id"])
    assert len(references.sample(frame.head(10), 100, "customer_id")) == 10


def test_a_reference_is_stored_once_and_loaded_for_the_champion_version(tmp_path):
    connection = duckdb.connect()
    frame = pd.DataFrame({"model_id": ["a", "a", "b"], "y": [1.0, 2.0, 3.0]})
    stored = references.store(
        connection, tmp_path, model_kind="forecast", version="2024-04-16", frame=frame,
        window=(dt.date(2024, 3, 20), dt.date(2024, 4, 16)), rule="all rows", source_rows=3,
        promoted_on=dt.date(2024, 4, 16), run_id="r",
    )  # fmt: skip
    again = references.store(
        connection, tmp_path, model_kind="forecast", version="2024-04-16", frame=frame.assign(y=9.0),
        window=(dt.date(2024, 3, 20), dt.date(2024, 4, 16)), rule="all rows", source_rows=3,
        promoted_on=dt.date(2024, 4, 16), run_id="rerun",
    )  # fmt: skip
    rows, sample = references.load(connection, "forecast", {"a": "2024-04-16", "b": "older"})
    assert (stored, again) == (2, 0)
    assert list(rows["model_id"]) == ["a"] and rows["reference_start"].iloc[0] == dt.date(2024, 3, 20)
    assert list(sample["y"]) == [1.0, 2.0], "the first stored sample stands"


def test_a_reference_sample_is_read_once_per_process_and_again_after_a_later_store(tmp_path, monkeypatch):
    connection = duckdb.connect()
    window, day = (dt.date(2024, 3, 20), dt.date(2024, 4, 16)), dt.date(2024, 4, 16)

    def store(frame):
        references.store(
            connection, tmp_path, model_kind="forecast", version="2024-04-16", frame=frame, window=window,
            rule="all rows", source_rows=len(frame), promoted_on=day, run_id="r",
        )  # fmt: skip

    reads = []
    read_parquet = pd.read_parquet
    monkeypatch.setattr(pd, "read_parquet", lambda path: reads.append(path) or read_parquet(path))
    store(pd.DataFrame({"model_id": ["a"], "y": [1.0]}))
    versions = {"a": "2024-04-16", "b": "2024-04-16"}
    first = references.load(connection, "forecast", versions)[1]
    first["y"] = 0.0  # a caller changing its copy changes no other night's sample
    second = references.load(connection, "forecast", versions)[1]
    assert list(second["y"]) == [1.0] and len(reads) == 1, "the second night reads no file"

    store(pd.DataFrame({"model_id": ["b"], "y": [2.0]}))  # a later promotion step of the same version
    reads.clear()
    third = references.load(connection, "forecast", versions)[1]
    assert list(third["model_id"]) == ["a", "b"] and len(reads) == 1, "the grown file is read again"


def test_feature_drift_flags_a_shifted_column_and_not_a_stable_one():
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"level": rng.normal(10, 1, 500), "shop": rng.choice(["a", "b"], 500)})
    current = pd.DataFrame({"level": rng.normal(12, 1, 200), "shop": rng.choice(["a", "b"], 200)})
    found, snapshot = feature_drift(
        reference, current, numeric_threshold=0.5, categorical_threshold=0.2,
        metadata={"model_version": "v1", "reference_window": "2024-01-01..2024-01-31"},
    )  # fmt: skip
    by_feature = found.set_index("feature")
    assert bool(by_feature.loc["level", "drifted"]) and not bool(by_feature.loc["shop", "drifted"])
    assert (
        by_feature.loc["level", "test"] == "wasserstein" and by_feature.loc["shop", "test"] == "jensenshannon"
    )
    page = report_html(snapshot, {"model_version": "v1", "reference_window": "2024-01-01..2024-01-31"})
    assert "model version: v1 | reference window: 2024-01-01..2024-01-31" in page


def test_feature_drift_refuses_different_columns_and_compares_nothing_when_a_side_is_empty():
    with pytest.raises(ValueError, match="differ"):
        feature_drift(
            pd.DataFrame({"a": [1.0]}),
            pd.DataFrame({"b": [1.0]}),
            numeric_threshold=1,
            categorical_threshold=1,
        )
    found, snapshot = feature_drift(
        pd.DataFrame({"a": [1.0]}),
        pd.DataFrame({"a": []}, dtype=float),
        numeric_threshold=1,
        categorical_threshold=1,
    )
    assert found.empty and snapshot is None


def test_the_surprise_check_measures_the_actual_in_the_forecasts_standard_deviations():
    day = pd.DataFrame(
        {
            "feature": ["steady", "shifted", "closed", "not landed"],
            "y": [11.0, 30.0, 0.0, None],
            "yhat": [10.0, 10.0, 0.0, 10.0],
            "yhat_upper_95": [
                19.8,
                19.8,
                0.0,
                19.8,
            ],  # a standard deviation of 5; a closed day has zero width
        }
    )
    found = forecast_surprise(day, threshold=4.0)
    assert found[["feature", "statistic", "drifted"]].values.tolist() == [
        ["steady", 0.2, False],
        ["shifted", 4.0, True],
    ]
    assert set(found["test"]) == {"forecast_z"} and set(found["threshold"]) == {4.0}


def test_data_quality_finds_missing_values_out_of_range_values_and_a_new_location():
    reference = pd.DataFrame({"unit_price": [1.0, 2.0, 3.0], "location": ["UK", "UK", "FR"]})
    day = pd.DataFrame({"unit_price": [2.0, 9.0, None, 2.5], "location": ["UK", "Atlantis", "FR", "UK"]})
    checks = data_quality(
        day, reference, {"location": {"UK", "FR"}}, range_columns=("unit_price",), max_missing_share=0.1,
        max_out_of_range_share=0.05,
    ).set_index(["check_name", "column_name"])  # fmt: skip
    assert checks.loc[("missing_share", "unit_price"), "value"] == 0.25
    assert not checks.loc[("out_of_range_share", "unit_price"), "passed"]
    assert checks.loc[("new_categories", "location"), "detail"] == "Atlantis"
    assert bool(checks.loc[("missing_share", "location"), "passed"])


def test_the_alert_says_what_drifted_how_much_since_when_and_what_was_done():
    compared = pd.DataFrame(
        {
            "feature": ["location=Germany:revenue", "total:revenue"], "test": ["wasserstein"] * 2,
            "statistic": [2.5, 0.2], "threshold": [1.0, 1.0], "drifted": [True, False],
            "model_version": ["2024-04-14"] * 2, "reference_start": [dt.date(2024, 3, 18)] * 2,
            "reference_end": [dt.date(2024, 4, 14)] * 2,
        }
    )  # fmt: skip
    decision = policy("forecast", Retraining(), share_drifted=0.5, drifted=["location=Germany:revenue"],
                      error_ratio=None, scheduled=False)  # fmt: skip
    text = alert_text("shop", DAY, {**decision, "model_kind": "forecast"}, compared, dt.date(2024, 4, 16))
    assert (
        "forecast drift since 2024-04-16" in text and "location=Germany:revenue wasserstein 2.50 >= 1" in text
    )
    assert "champion 2024-04-14, reference 2024-03-18..2024-04-14" in text and "Action: retraining" in text
    assert "total:revenue" not in text.split("Worst:")[1]
