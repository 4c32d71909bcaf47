"""The segmentation model on a few hundred made-up customers with four clear profiles: fit, k selection, stable
ids and names across retrains, profiles, transitions and the promotion gate."""

from __future__ import annotations

import dataclasses

import joblib
import numpy as np
import pandas as pd
import pytest

from daybreak.datasets import SegmentationConfig
from daybreak.models.segmentation import ASSIGNMENT_COLUMNS
from daybreak.models.segmentation.fitting import build_pipeline, fit_segments, select_k
from daybreak.models.segmentation.gate import promotion_gate, stability
from daybreak.models.segmentation.matching import match_centres
from daybreak.models.segmentation.naming import name_segments
from daybreak.models.segmentation.scoring import profile_segments, segment_transitions

# recency_days, frequency, monetary per order, tenure_days
PROFILES = {
    "best": (3, 40, 120.0, 700),
    "lapsed_big": (300, 30, 110.0, 800),
    "new": (5, 1, 25.0, 6),
    "gone": (350, 1, 20.0, 400),
}
CONFIG = SegmentationConfig(enabled=True, min_segments=2, max_segments=6)
SEED = 1


def _customers(per_profile: int = 50, seed: int = 0, profiles: dict = PROFILES) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for name, (recency, frequency, per_order, tenure) in profiles.items():
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


def _next_night(customers: pd.DataFrame) -> pd.DataFrame:
    """The same customers a day later: nobody bought, so recency and tenure grow by one day."""
    return customers.assign(
        recency_days=customers["recency_days"] + 1, tenure_days=customers["tenure_days"] + 1
    )


def _profile_of(assignments: pd.DataFrame) -> pd.Series:
    return assignments["customer_id"].str.split("-").str[0]


def test_four_profiles_give_four_value_ordered_named_segments():
    customers = _customers()

    model, report = fit_segments(customers, CONFIG, SEED)
    assignments = model.assign(customers)

    assert list(assignments.columns) == list(ASSIGNMENT_COLUMNS)
    assert report.k == 4 and model.selection.loc[model.selection["chosen"], "k"].tolist() == [4]
    assert model.selection["k"].tolist() == [2, 3, 4, 5, 6]
    profile_of = _profile_of(assignments)
    assert assignments.groupby(profile_of)["segment_id"].nunique().eq(1).all()
    segment = assignments.groupby(profile_of)["segment_id"].first().to_dict()
    name = assignments.groupby(profile_of)["segment_name"].first().to_dict()
    assert segment == {"best": 0, "lapsed_big": 1, "new": 2, "gone": 3}
    assert name == {"best": "champions", "lapsed_big": "at risk", "new": "potential", "gone": "hibernating"}
    assert model.names == {0: "champions", 1: "at risk", 2: "potential", 3: "hibernating"}
    assert model.profile["customers"].tolist() == [50, 50, 50, 50]
    assert report.new == (0, 1, 2, 3) and report.vanished == () and model.next_segment_id == 4
    assert (assignments["distance"] >= 0).all() and assignments["probability"].isna().all()


def test_fit_is_deterministic_and_ignores_row_order():
    customers = _customers()

    first = fit_segments(customers, CONFIG, SEED)[0].assign(customers)
    again = fit_segments(customers, CONFIG, SEED)[0].assign(customers)
    shuffled_model = fit_segments(customers.sample(frac=1.0, random_state=5), CONFIG, SEED)[0]

    pd.testing.assert_frame_equal(first, again)
    pd.testing.assert_frame_equal(first, shuffled_model.assign(customers))


def test_model_survives_joblib_and_scores_in_batches(tmp_path):
    customers = _customers(per_profile=20)
    model, _ = fit_segments(customers, CONFIG, SEED)

    joblib.dump(model, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")

    whole = model.assign(customers)
    pd.testing.assert_frame_equal(loaded.assign(customers), whole)
    pd.testing.assert_frame_equal(model.assign(customers, batch_size=7), whole)
    assert model.assign(customers.iloc[:0]).columns.tolist() == list(ASSIGNMENT_COLUMNS)


def test_distance_is_to_the_assigned_centre_in_scaled_space():
    customers = _customers(per_profile=20)
    model, _ = fit_segments(customers, CONFIG, SEED)
    assignments = model.assign(customers)

    cluster_of_segment = {segment_id: c for c, segment_id in enumerate(model.segment_ids)}
    centres = model.centres()[assignments["segment_id"].map(cluster_of_segment)]

    np.testing.assert_allclose(
        assignments["distance"], np.linalg.norm(model.scaled(customers) - centres, axis=1)
    )


def test_gaussian_mixture_gives_probabilities_and_chooses_k_by_bic():
    customers = _customers()
    config = dataclasses.replace(CONFIG, algorithm="gmm")

    model, report = fit_segments(customers, config, SEED)
    assignments = model.assign(customers)

    assert report.k == int(model.selection.loc[model.selection["bic"].idxmin(), "k"]) == 4
    assert assignments["probability"].between(0.5, 1.0).all()
    assert assignments.groupby(_profile_of(assignments))["segment_id"].nunique().eq(1).all()
    assert model.names[0] == "champions"


def test_large_training_sets_use_minibatch_kmeans():
    from sklearn.cluster import KMeans, MiniBatchKMeans

    config = dataclasses.replace(CONFIG, minibatch_above=100)

    assert isinstance(build_pipeline(config, 3, SEED, n_customers=101)[-1], MiniBatchKMeans)
    assert isinstance(build_pipeline(config, 3, SEED, n_customers=100)[-1], KMeans)
    model, report = fit_segments(_customers(), config, SEED)
    assert isinstance(model.pipeline[-1], MiniBatchKMeans) and report.k == 4


def test_retraining_on_the_next_night_keeps_ids_and_names():
    customers = _customers()
    champion, _ = fit_segments(customers, CONFIG, SEED)
    before = champion.assign(customers)

    # a different seed numbers the clusters differently: ids must come from matching, not from luck
    challenger, report = fit_segments(_next_night(customers), CONFIG, seed=99, previous=champion)
    after = challenger.assign(_next_night(customers))

    assert stability(before, after) >= 0.95
    assert challenger.names == champion.names
    assert set(report.matched) == {0, 1, 2, 3} and report.new == () and report.vanished == ()
    assert max(report.matched.values()) < 0.5


def test_a_new_cluster_gets_a_new_id_and_a_vanished_one_is_reported():
    three = {k: v for k, v in PROFILES.items() if k != "new"}
    champion, _ = fit_segments(_customers(profiles=three), dataclasses.replace(CONFIG, max_segments=3), SEED)
    assert champion.names == {0: "champions", 1: "at risk", 2: "hibernating"}

    # "new" customers arrive and the lapsed big spenders leave
    arriving = {k: v for k, v in PROFILES.items() if k != "lapsed_big"}
    challenger, report = fit_segments(
        _customers(profiles=arriving), dataclasses.replace(CONFIG, max_segments=3), SEED, previous=champion
    )
    assignments = challenger.assign(_customers(profiles=arriving))

    assert report.vanished == (1,) and report.new == (3,)
    assert challenger.next_segment_id == 4
    segment = assignments.groupby(_profile_of(assignments))["segment_id"].first().to_dict()
    assert segment == {"best": 0, "gone": 2, "new": 3}
    assert challenger.names[3] not in {"champions", "hibernating"}
    assert len(set(challenger.names.values())) == 3


def test_a_model_over_other_features_starts_a_fresh_numbering():
    customers = _customers()
    champion, _ = fit_segments(customers, CONFIG, SEED)
    other = dataclasses.replace(CONFIG, features=("recency_days", "frequency"), log_features=("frequency",))

    challenger, report = fit_segments(customers, other, SEED, previous=champion)

    assert min(challenger.segment_ids) == champion.next_segment_id
    assert report.vanished == (0, 1, 2, 3) and report.matched == {}


def test_match_centres_recovers_a_permutation_and_refuses_far_pairs():
    previous = np.array([[0.0, 0.0], [5.0, 5.0], [10.0, 0.0]])
    new = previous[[2, 0, 1]] + 0.1

    assert {c: row for c, (row, _) in match_centres(new, previous, 1.0).items()} == {0: 2, 1: 0, 2: 1}
    far = np.array([[0.0, 0.0], [50.0, 50.0]])
    assert {c: row for c, (row, _) in match_centres(far, previous, 1.0).items()} == {0: 0}


def test_fewer_customers_than_the_minimum_fit_fewer_segments_with_a_note():
    customers = _customers(per_profile=1).iloc[:3]
    config = dataclasses.replace(CONFIG, min_segments=4)

    model, report = fit_segments(customers, config, SEED)

    assert report.k == 2 and "fewer than the configured minimum 4" in report.note
    assert sorted(model.assign(customers)["segment_id"].unique()) == [0, 1]


def test_nulls_are_imputed_and_extra_columns_ignored():
    customers = _customers().assign(
        avg_days_between_orders=lambda f: np.where(f["frequency"] > 1, 700 / f["frequency"], np.nan),
        product_variety=7,
    )
    config = dataclasses.replace(
        CONFIG,
        features=("recency_days", "frequency", "monetary", "avg_days_between_orders"),
        log_features=("frequency", "monetary", "avg_days_between_orders"),
    )

    model, report = fit_segments(customers, config, SEED)
    assignments = model.assign(customers)

    assert len(assignments) == len(customers) and assignments["distance"].notna().all()
    gaps = customers["avg_days_between_orders"]
    imputer = model.pipeline.named_steps["impute"]
    position = list(model.pipeline.named_steps["prepare"].get_feature_names_out()).index(
        "avg_days_between_orders"
    )
    assert imputer.statistics_[position] == pytest.approx(np.log1p(gaps.dropna()).median())
    # the one-order customers (null gap) still land apart: new and gone differ in recency
    one_order = assignments[gaps.isna().to_numpy()]
    assert one_order.groupby(_profile_of(one_order))["segment_id"].nunique().eq(1).all()
    assert one_order.groupby(_profile_of(one_order))["segment_id"].first().nunique() == 2


def test_bad_input_is_refused():
    customers = _customers(per_profile=2)
    with pytest.raises(ValueError, match="monetary"):
        fit_segments(customers.drop(columns="monetary"), CONFIG, SEED)
    with pytest.raises(ValueError, match="more than one row"):
        fit_segments(pd.concat([customers, customers.iloc[:1]]), CONFIG, SEED)
    with pytest.raises(ValueError, match="no customers"):
        fit_segments(customers.iloc[:0], CONFIG, SEED)
    with pytest.raises(ValueError, match="null for every customer"):
        fit_segments(customers.assign(avg_basket_value=np.nan), CONFIG, SEED)


def test_k_selection_records_every_candidate():
    k, scores = select_k(_customers(), CONFIG, SEED)

    assert k == 4
    assert scores.columns.tolist() == ["k", "silhouette", "bic", "inertia", "chosen"]
    assert scores["silhouette"].between(-1, 1).all() and scores["inertia"].is_monotonic_decreasing


def test_names_are_unique_for_many_segments_and_skip_taken_ones():
    k = 12
    profile = pd.DataFrame({"recency_days": np.arange(k) * 10.0, "value_score": np.arange(k, 0, -1) * 100.0})

    names = name_segments(profile)
    assert len(set(names)) == k and names[0] == "champions"
    assert sum(name.startswith("segment ") for name in names) == 2  # beyond the ten known names

    # positions, not ranks: a middle segment almost as recent as the best is named as recent (not "at risk")
    three = pd.DataFrame({"recency_days": [35.0, 53.0, 252.0], "value_score": [44_000.0, 1_090.0, 470.0]})
    assert name_segments(three) == ("champions", "potential", "hibernating")

    two = pd.DataFrame({"recency_days": [2.0, 200.0], "value_score": [900.0, 10.0]})
    assert name_segments(two) == ("champions", "hibernating")
    assert name_segments(two, taken={"champions"}, only=[0])[0] != "champions"


@pytest.mark.parametrize(
    ("challenger", "champion", "stable", "promote", "words"),
    [
        (0.10, None, None, True, "promoted as the first model"),  # nothing scores otherwise
        (0.50, None, None, True, "no champion yet"),
        (0.15, 0.10, 0.99, False, "below min_silhouette"),
        (0.60, 0.50, 0.70, False, "below min_stability"),
        (0.60, 0.50, 0.97, True, "beats"),
        (0.50, 0.50, 0.99, False, "does not beat"),  # a tie keeps the champion
    ],
)
def test_promotion_gate(challenger, champion, stable, promote, words):
    decided, reason = promotion_gate(challenger, champion, stable, SegmentationConfig(enabled=True))

    assert decided is promote and words in reason


def test_profiles_compare_each_segment_with_the_population():
    features = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "monetary": [100.0, 300.0, 50.0, 50.0],
            "frequency": [1, 3, 1, 1],
        }
    )
    assignments = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "segment_id": [0, 0, 1, 1],
                                "segment_name": ["big", "big", "small", "small"]})  # fmt: skip

    profiles = profile_segments(features, assignments, ("monetary", "frequency")).set_index(
        ["segment_id", "feature"]
    )

    big = profiles.loc[(0, "monetary")]
    assert big["customers"] == 2 and big["share_of_customers"] == 0.5
    assert big["revenue"] == 400.0 and big["share_of_revenue"] == 0.8
    assert big["mean"] == 200.0 and big["median"] == 200.0 and big["population_mean"] == 125.0
    assert big["mean_vs_population"] == 1.6
    assert profiles.loc[(1, "frequency"), "population_median"] == 1.0


def test_transitions_count_movers_and_newcomers():
    previous = pd.DataFrame(
        {"customer_id": ["a", "b", "c"], "segment_id": [0, 0, 1], "segment_name": ["x", "x", "y"]}
    )
    current = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "segment_id": [0, 1, 1, 1],
            "segment_name": ["x", "y", "y", "y"],
        }
    )

    moved = segment_transitions(previous, current)

    rows = [
        tuple(r)
        for r in moved[["from_segment_id", "to_segment_id", "customers", "share_of_from"]].itertuples(
            index=False
        )
    ]
    assert rows[0][0] is pd.NA and rows[0][1:] == (1, 1, 1.0)  # d is new
    assert rows[1:] == [(0, 0, 1, 0.5), (0, 1, 1, 0.5), (1, 1, 1, 1.0)]
    assert segment_transitions(None, current)["from_segment_id"].isna().all()
