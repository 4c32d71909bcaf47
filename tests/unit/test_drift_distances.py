"""The nightly drift rows computed directly (scipy) equal the values of Evidently's report on the same inputs.

Before, each check ran an Evidently DataDriftPreset report and read its ValueDrift values into the rows; now the
rows come from `daybreak.models.drift_distances` and the report is rendered only when asked for. Each case here
builds the report the old way (`render`, a real Evidently run) and compares its values with the rows, to the 9
decimals the rows keep: numbers and categories, shifted and stable, a constant reference, missing and infinite
values, few and many distinct values, and series padded with nulls as the forecast inputs are.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from daybreak.models.drift import feature_drift, render

RNG = np.random.default_rng(7)
CASES = {
    "numbers, one shifted": (
        pd.DataFrame({"a": RNG.normal(10, 2, 400), "b": RNG.gamma(2.0, 3.0, 400)}),
        pd.DataFrame({"a": RNG.normal(13, 2, 90), "b": RNG.gamma(2.0, 3.0, 90)}),
    ),
    "categories and a flag": (
        pd.DataFrame({"shop": RNG.choice(["x", "y", "z"], 300), "flag": RNG.choice([True, False], 300)}),
        pd.DataFrame({"shop": RNG.choice(["x", "y", "w"], 50), "flag": RNG.choice([True, False], 50)}),
    ),
    "a constant reference, missing and infinite values": (
        pd.DataFrame({"flat": [5.0] * 30, "gaps": [1.0, np.nan, 3.0, np.inf, 2.0, 4.0] * 5}),
        pd.DataFrame({"flat": [5.0, 6.0, 5.0] * 4, "gaps": [np.nan, 2.0, -np.inf, 8.0] * 3}),
    ),
    "few distinct numbers": (
        pd.DataFrame({"units": RNG.integers(0, 4, 200).astype(float)}),
        pd.DataFrame({"units": RNG.integers(1, 5, 40).astype(float)}),
    ),
    "series padded with nulls (one column a series)": (
        pd.DataFrame(
            {
                "s1:revenue": RNG.poisson(40, 56).astype(float),
                "s2:revenue": [np.nan] * 28 + list(RNG.poisson(9, 28).astype(float)),
            }
        ),  # noqa: E501
        pd.DataFrame(
            {"s1:revenue": RNG.poisson(55, 14).astype(float), "s2:revenue": RNG.poisson(9, 14).astype(float)}
        ),  # noqa: E501
    ),
    "the segment mix": (
        pd.DataFrame(
            {"segment_name": RNG.choice(["loyal", "new", "lapsed", "big"], 1000, p=[0.4, 0.3, 0.2, 0.1])}
        ),
        pd.DataFrame(
            {"segment_name": RNG.choice(["loyal", "new", "lapsed", "big"], 1100, p=[0.3, 0.3, 0.3, 0.1])}
        ),
    ),
}


def report_values(snapshot) -> dict[str, tuple[str, float, float]]:
    """The report's ValueDrift values, as the nightly rows were read from it before: column -> test, value,
    threshold."""
    values = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config["type"].endswith(":ValueDrift"):
            values[config["column"]] = (config["method"], float(metric["value"]), float(config["threshold"]))
    return values


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_rows_equal_the_evidently_reports_values_on_the_same_inputs(case):
    reference, current = CASES[case]
    rows, inputs = feature_drift(reference, current, numeric_threshold=0.5, categorical_threshold=0.1)
    report = report_values(render(inputs))

    assert sorted(report) == sorted(rows["feature"])
    for row in rows.itertuples(index=False):
        test, value, threshold = report[row.feature]
        assert (row.test, row.threshold) == (test, threshold), row.feature
        assert row.statistic == round(value, 9), f"{row.feature}: {row.statistic} != {value}"
        assert row.drifted == (round(value, 9) >= threshold), row.feature
