"""drift_summary on small made-up sales-line windows (real Evidently report)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from daybreak.models.drift import drift_summary, empty_summary


def _lines(n: int, seed: int, price_shift: float = 0.0, quantity_shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    quantity = rng.integers(1, 6, n).astype(float) + quantity_shift
    unit_price = rng.gamma(2.0, 3.0, n) + price_shift
    return pd.DataFrame(
        {
            "quantity": quantity,
            "unit_price": unit_price,
            "revenue": quantity * unit_price,
            "location": rng.choice(["Germany", "France", "Spain"], n),
            "has_customer": rng.random(n) < 0.8,
        }
    )


def test_same_distribution_does_not_drift():
    summary, snapshot = drift_summary(
        _lines(2000, seed=1), _lines(500, seed=2), timestamp=dt.datetime(2024, 3, 1)
    )

    assert summary == {
        "n_columns": 5,
        "n_drifted_columns": 0,
        "share_drifted": 0.0,
        "dataset_drift": False,
        "drifted_columns": "",
    }
    assert snapshot is not None


def test_shifted_prices_and_quantities_drift():
    reference = _lines(2000, seed=1)
    current = _lines(500, seed=2, price_shift=10.0, quantity_shift=3.0)

    summary, snapshot = drift_summary(reference, current, timestamp=dt.datetime(2024, 3, 1))

    assert summary["n_columns"] == 5
    assert (
        summary["n_drifted_columns"] == 3
    )  # quantity, unit_price and revenue; location and has_customer hold
    assert summary["share_drifted"] == pytest.approx(0.6)
    assert summary["drifted_columns"] == "quantity, revenue, unit_price", "it says which columns drifted"
    assert summary["dataset_drift"] is True
    html = snapshot.get_html_str(as_iframe=False)
    assert "<html" in html.lower() and len(html) > 1000


def test_flags_are_compared_as_categories_and_the_result_is_repeatable():
    reference = _lines(1000, seed=1)
    current = _lines(1000, seed=3).assign(has_customer=False)  # customers vanished from the export

    first, _ = drift_summary(reference, current, timestamp=dt.datetime(2024, 3, 1))
    again, _ = drift_summary(reference, current, timestamp=dt.datetime(2024, 3, 1))

    assert first == again
    assert first["n_drifted_columns"] == 1 and first["dataset_drift"] is False
    assert first["drifted_columns"] == "has_customer"


@pytest.mark.parametrize("empty", ["reference", "current"])
def test_an_empty_window_gives_the_empty_summary_and_no_report(empty):
    windows = {"reference": _lines(100, seed=1), "current": _lines(100, seed=2)}
    windows[empty] = windows[empty].iloc[:0]

    summary, snapshot = drift_summary(windows["reference"], windows["current"])

    assert (
        summary
        == empty_summary()
        == {
            "n_columns": 0,
            "n_drifted_columns": 0,
            "share_drifted": None,
            "dataset_drift": False,
            "drifted_columns": None,
        }
    )
    assert snapshot is None


def test_windows_with_different_columns_are_refused():
    with pytest.raises(ValueError, match="differ"):
        drift_summary(_lines(10, seed=1), _lines(10, seed=2).drop(columns="location"))


def test_a_flat_column_with_floating_point_noise_is_compared_as_the_constant_it_is():
    """A flat forecast after reconciliation's matrix product: 1.0 and 1.0000000000000002. numpy's histogram, under
    Evidently, refuses such a column ("Too many bins for data range"); the night must not fail on it."""
    from daybreak.models.drift import feature_drift, render

    noisy = pd.DataFrame({"forecast_level": [1.0, np.nextafter(1.0, 2.0)] * 10, "forecast_width": 2.5})
    found, snapshot = feature_drift(
        noisy,
        noisy.iloc[::-1],
        numeric_threshold=0.5,
        categorical_threshold=0.1,
        timestamp=dt.datetime(2024, 3, 1),
    )

    assert snapshot is not None
    render(snapshot)  # the report, rendered on demand, takes the column too
    assert set(found["feature"]) == {"forecast_level", "forecast_width"}
    assert not found["drifted"].any()
