"""Derived columns' expressions and templates: arithmetic over columns only, never Python."""

from __future__ import annotations

import pandas as pd
import pytest

from daybreak.datasets.expressions import fill_template, parse_expression, template_columns


@pytest.mark.parametrize(
    ("text", "rows", "expected"),
    [
        ("amount / units", {"amount": [10.0, 3.0], "units": [4.0, 0.0]}, [2.5, float("inf")]),
        ("(gross - `tax paid`) * 2 + 1", {"gross": [5.0], "tax paid": [1.0]}, [9.0]),
        ("-price ** 2 // 3 % 5", {"price": [4.0]}, [-6.0 % 5]),
    ],
)
def test_expressions_are_arithmetic_over_columns(text, rows, expected):
    expression = parse_expression(text)
    values = {name: pd.Series(v) for name, v in rows.items()}
    assert expression.columns == tuple(rows)
    assert expression.evaluate(values).tolist() == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os').system('id')", "not Call"),
        ("amount.real", "not Attribute"),
        ("amount[0]", "not Subscript"),
        ("amount if units else 1", "not IfExp"),
        ("amount > 1", "not Compare"),
        ("'text'", "only numbers and column names"),
        ("amount @ units", "operator MatMult is not allowed"),
        ("amount /", "is not an arithmetic expression"),
        ("lambda: 1", "not Lambda"),
    ],
)
def test_anything_but_arithmetic_is_refused(text, message):
    with pytest.raises(ValueError, match=message):
        parse_expression(text)


def test_templates_join_columns_and_text():
    values = {"a": pd.Series(["x", "y"]), "b": pd.Series(["1", ""])}
    assert fill_template("{a}-{b}/", values).tolist() == ["x-1/", "y-/"]
    assert fill_template("order {a}", values).tolist() == ["order x", "order y"]


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{a!r}", "a placeholder is a bare {column}"),
        ("{a:>5}", "a placeholder is a bare {column}"),
        ("{a[0]}", "a placeholder is a bare {column}"),
        ("{}", "a placeholder is a bare {column}"),
        ("no columns", "names no column"),
        ("{a", "is not a template"),
    ],
)
def test_templates_name_columns_only(template, message):
    with pytest.raises(ValueError, match=message):
        template_columns(template)
