"""fit_segments on a few hundred made-up customers with four clear profiles."""

from __future__ import annotations

import joblib
import numpy as np
import pandas as pd
import pytest

from daybreak.models.segmentation import ASSIGNMENT_COLUMNS, FEATURES, fit_segments, name_segments

# recency_days, frequency, monetary (per order), tenure_days
PROFILES = {
    "best": (3, 40, 120.0, 700),
    "lapsed_big": (300, 30, 110.0, 800),
    "new": (5, 1, 25.0, 6),
    "gone": (350, 1, 20.0, 400),
}


def _customers(per_profile: int = 50, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for name, (recency, frequency, per_order, tenure) in PROFILES.items():
        for i in range(per_profile):
            f = max(1, int(rng.normal(frequency, frequency * 0.1)))
            basket = per_order * rng.uniform(0.9, 1.1)
            rows.append(
                {
                    "customer_id": f"{name}-{i:03d}",
                    "recency_days": max(0, int(rng.normal(recency, 2))),
                    "frequency": f,
                    "monetary": f * basket,
                    "tenure_days": max(recency, int(rng.normal(tenure, 10))),
                    "avg_basket_value": basket,
                }
            )
    return pd.DataFrame(rows)


def test_segments_are_ordered_by_value_and_named_from_their_profile():
    customers = _customers()

    model, assignments = fit_segments(customers, n_segments=4, seed=1)

    assert list(assignments.columns) == list(ASSIGNMENT_COLUMNS)
    assert assignments["customer_id"].tolist() == sorted(customers["customer_id"])
    profile_of = assignments["customer_id"].str.split("-").str[0]
    # each made-up profile is exactly one segment
    assert assignments.groupby(profile_of)["segment_id"].nunique().eq(1).all()
    segment = assignments.groupby(profile_of)["segment_id"].first()
    name = assignments.groupby(profile_of)["segment_name"].first()
    assert segment.to_dict() == {"best": 0, "lapsed_big": 1, "new": 2, "gone": 3}
    assert name.to_dict() == {
        "best": "champions",
        "lapsed_big": "at risk",
        "new": "potential",
        "gone": "hibernating",
    }
    assert model.names == ("champions", "at risk", "potential", "hibernating")
    assert (assignments["distance"] >= 0).all()
    assert model.profile["customers"].tolist() == [50, 50, 50, 50]


def test_fit_is_deterministic_and_ignores_row_order():
    customers = _customers()

    _, first = fit_segments(customers, n_segments=4, seed=1)
    _, again = fit_segments(customers, n_segments=4, seed=1)
    _, shuffled = fit_segments(customers.sample(frac=1.0, random_state=5), n_segments=4, seed=1)

    pd.testing.assert_frame_equal(first, again)
    pd.testing.assert_frame_equal(first, shuffled)


def test_model_reassigns_the_same_and_survives_joblib(tmp_path):
    customers = _customers(per_profile=20)
    model, assignments = fit_segments(customers, n_segments=4, seed=1)

    joblib.dump(model, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")

    pd.testing.assert_frame_equal(loaded.assign(customers), assignments)
    predicted = loaded.pipeline.predict(customers.sort_values("customer_id")[list(FEATURES)])
    assert (
        predicted.tolist() == assignments["segment_id"].tolist()
    )  # the pipeline itself speaks in ordered ids


def test_distance_is_to_the_assigned_centroid_in_scaled_space():
    customers = _customers(per_profile=20)
    model, assignments = fit_segments(customers, n_segments=4, seed=1)

    scaled = model.pipeline[:-1].transform(customers.sort_values("customer_id")[list(FEATURES)])
    centers = model.pipeline[-1].cluster_centers_[assignments["segment_id"]]

    np.testing.assert_allclose(assignments["distance"], np.linalg.norm(scaled - centers, axis=1))


def test_fewer_customers_than_segments_fits_fewer_segments():
    customers = _customers(per_profile=1)  # four customers
    model, assignments = fit_segments(customers.iloc[:3], n_segments=4, seed=1)

    assert len(model.names) == 3 and len(set(model.names)) == 3
    assert sorted(assignments["segment_id"]) == [0, 1, 2]


def test_one_customer_and_negative_monetary():
    one = _customers(per_profile=1).iloc[:1].assign(monetary=-30.0)

    model, assignments = fit_segments(one, n_segments=4, seed=1)

    assert model.names == ("all customers",)
    assert assignments[["segment_id", "segment_name"]].values.tolist() == [[0, "all customers"]]
    assert assignments["distance"].iloc[0] == pytest.approx(0.0)


def test_bad_input_is_refused():
    customers = _customers(per_profile=2)
    with pytest.raises(ValueError, match="monetary"):
        fit_segments(customers.drop(columns="monetary"), n_segments=2, seed=1)
    with pytest.raises(ValueError, match="more than one row"):
        fit_segments(pd.concat([customers, customers.iloc[:1]]), n_segments=2, seed=1)
    with pytest.raises(ValueError, match="no customers"):
        fit_segments(customers.iloc[:0], n_segments=2, seed=1)
    with pytest.raises(ValueError, match="n_segments"):
        fit_segments(customers, n_segments=0, seed=1)


def test_names_are_unique_for_many_segments():
    k = 12
    profile = pd.DataFrame({"recency_days": np.arange(k) * 10.0, "value_score": np.arange(k, 0, -1) * 100.0})

    names = name_segments(profile)

    assert len(names) == k and len(set(names)) == k
    assert names[0] == "champions"
    assert "segment 11" in names or "segment 10" in names  # beyond the ten known names


def test_two_segments_take_corner_names():
    recent_and_valuable = pd.DataFrame({"recency_days": [2.0, 200.0], "value_score": [900.0, 10.0]})
    valuable_but_lapsed = pd.DataFrame({"recency_days": [200.0, 2.0], "value_score": [900.0, 10.0]})

    assert name_segments(recent_and_valuable) == ("champions", "hibernating")
    assert name_segments(valuable_but_lapsed) == ("at risk", "potential")
