"""Segmentation night by night: when a night retrains, and the shape of the rows it writes."""

from __future__ import annotations

import dataclasses
import datetime as dt

import duckdb
import pandas as pd

from daybreak.datasets import SegmentationConfig
from daybreak.models.segmentation.fitting import fit_segments
from daybreak.nights.segment import SEGMENTS, TRANSITIONS, retrain_reason, score_tables
from tests.unit.test_segmentation import CONFIG, SEED, _customers

SPEC = SegmentationConfig(enabled=True, retrain="weekly", retrain_weekday=6)
SUNDAY, MONDAY = dt.date(2024, 6, 30), dt.date(2024, 7, 1)


@dataclasses.dataclass
class _Champion:
    features: tuple[str, ...] = SPEC.features
    algorithm: str = "kmeans"


def test_retrain_reason():
    assert retrain_reason(SPEC, MONDAY, None) == "no champion yet"
    assert retrain_reason(SPEC, SUNDAY, _Champion()) == "scheduled (weekly retrain)"
    assert retrain_reason(SPEC, MONDAY, _Champion()) is None  # the champion scores
    assert "differ" in retrain_reason(SPEC, MONDAY, _Champion(features=("recency_days",)))
    assert "differ" in retrain_reason(SPEC, MONDAY, _Champion(algorithm="gmm"))
    assert retrain_reason(dataclasses.replace(SPEC, retrain="daily"), MONDAY, _Champion()) is not None


def test_rows_have_the_contract_types_and_nulls_not_nan():
    assignments = pd.DataFrame(
        {
            "customer_id": ["a"],
            "segment_id": [2],
            "segment_name": ["loyal"],
            "distance": [0.5],
            "probability": [float("nan")],
        }  # fmt: skip
    )

    rows = SEGMENTS.conform(assignments.assign(as_of_date=SUNDAY, model_version="2024-06-30", run_id="r"))
    empty = SEGMENTS.empty()

    assert [str(t) for t in rows.dtypes] == [str(t) for t in empty.dtypes]
    assert str(rows["segment_id"].dtype) == "int32[pyarrow]" and rows["probability"].isna().all()
    assert rows.iloc[0]["as_of_date"] == SUNDAY and len(empty) == 0

    moved = pd.DataFrame(
        {"from_segment_id": pd.array([None, 1], dtype="Int64"), "from_segment_name": [None, "x"],
         "to_segment_id": [1, 1], "to_segment_name": ["x", "x"], "customers": [3, 4], "share_of_from": [1.0, 1.0]}
    )  # fmt: skip
    lineage = {"as_of_date": SUNDAY, "previous_as_of_date": None, "model_version": "v", "run_id": "r"}
    table = TRANSITIONS.conform(moved.assign(**lineage))
    assert table["from_segment_id"].isna().tolist() == [True, False]
    assert table["previous_as_of_date"].isna().all()


def test_scoring_runs_where_the_engine_says():
    customers = _customers(per_profile=10)
    model, _ = fit_segments(customers, CONFIG, SEED)
    calls = []

    def elsewhere(model, features, batch_size):
        calls.append((len(features), batch_size))
        return model.assign(features, batch_size)

    with duckdb.connect() as connection:
        here, sizes = score_tables(connection, customers, model, CONFIG, SUNDAY, "v", "r")
        there, same = score_tables(connection, customers, model, CONFIG, SUNDAY, "v", "r", assign=elsewhere)

    assert calls == [(len(customers), CONFIG.score_batch_size)]
    assert sizes == same and here.keys() == there.keys()
    for table in here:
        pd.testing.assert_frame_equal(here[table], there[table])
