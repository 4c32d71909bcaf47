"""The charts' Vega-Lite specs (`apps/streamlit/charts.py`), checked without a browser."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from tests.apps.conftest import app_module

EXPRESSION_KEYS = {"calculate", "filter", "expr", "labelExpr", "test", "signal"}


def expressions(node) -> list[str]:
    """Every Vega expression text in a spec: the values of the keys Vega parses as expressions."""
    if isinstance(node, dict):
        found = [value for key, value in node.items() if key in EXPRESSION_KEYS and isinstance(value, str)]
        return found + [text for value in node.values() for text in expressions(value)]
    if isinstance(node, list):
        return [text for value in node for text in expressions(value)]
    return []


def overridden_rows() -> pd.DataFrame:
    periods = pd.date_range("2024-07-01", periods=5, freq="D")
    return pd.DataFrame(
        {
            "period": periods,
            "frequency": "daily",
            "yhat": [10.0, 11.0, 100.0, 12.0, 13.0],
            "yhat_statistical": [10.0, 11.0, 12.0, 12.0, 13.0],
            "override_id": [None, None, "ov-1", None, None],
            **{bound: 5.0 for bound in ("yhat_lower_80", "yhat_lower_95")},
            **{bound: 20.0 for bound in ("yhat_upper_80", "yhat_upper_95")},
        }
    )


def test_no_label_text_is_ever_put_into_a_vega_expression(monkeypatch):
    """A layer's name is text shown in the legend; pasted into an expression, its quote ended the string."""
    charts, grain = app_module("charts"), app_module("grain")
    monkeypatch.setattr(charts, "STATISTICAL", """The model's "own" forecast""")
    history = pd.Series([9.0, 10.0], index=pd.date_range("2024-06-29", periods=2, freq="D"))

    spec = charts.forecast_chart(history, overridden_rows(), dt.date(2024, 6, 30), "revenue", grain.Grain())

    labels = (charts.ACTUAL, charts.FORECAST, charts.BAND_80, charts.BAND_95, charts.STATISTICAL)
    assert not [text for text in expressions(spec) for label in labels if label in text]
    legend = next(layer for layer in spec["layer"] if "color" in layer.get("encoding", {}))
    assert legend["encoding"]["color"]["scale"]["domain"][-1] == """The model's "own" forecast"""
