"""Derived columns: arithmetic over an export's numeric columns, and text templates over its text columns.

A dataset config may compute a canonical column the export lacks (`derived:`): `unit_price` from `amount` and
`units` by an arithmetic expression, an `order_id` from a customer and a date by a template. The expression is the
user's text, so it is never handed to Python's `eval`: it is parsed with `ast` and only numbers, column names,
parentheses and `+ - * / // % **` are accepted; anything else (calls, attributes, subscripts, comparisons) is
refused when the config is loaded. A column whose name is no Python identifier is written in backticks
(`` `unit price` ``), as pandas' `DataFrame.eval` does.
"""

from __future__ import annotations

import ast
import operator
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

_BINARY: dict[type, Callable] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type, Callable] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_BACKTICKED = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Expression:
    """A parsed arithmetic expression: its text, the export columns it reads, and its syntax tree."""

    text: str
    columns: tuple[str, ...]
    tree: ast.expr
    names: Mapping[str, str]  # placeholder identifier -> export column

    def evaluate(self, values: Mapping[str, pd.Series]) -> pd.Series:
        """The expression over `values` (export column -> float64 series); inf or NaN where it has no value."""
        with np.errstate(all="ignore"):
            result = _evaluate(self.tree, {key: values[column] for key, column in self.names.items()})
        if not isinstance(result, pd.Series):  # a constant expression
            index = next(iter(values.values())).index if values else pd.RangeIndex(0)
            result = pd.Series(float(result), index=index)
        return result.astype("float64")


def parse_expression(text: str) -> Expression:
    """Parse `text` as arithmetic over column names.

    Raises:
        ValueError: not arithmetic over columns and numbers (the message names what is not allowed).
    """
    names: dict[str, str] = {}

    def placeholder(match: re.Match) -> str:
        key = f"__column_{len(names)}"
        names[key] = match.group(1)
        return key

    source = _BACKTICKED.sub(placeholder, text)
    try:
        tree = ast.parse(source.strip(), mode="eval").body
    except SyntaxError as error:
        raise ValueError(f"{text!r} is not an arithmetic expression ({error.msg})") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.setdefault(node.id, node.id)
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                raise ValueError(f"{text!r}: only numbers and column names, not {node.value!r}")
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                raise ValueError(f"{text!r}: operator {type(node.op).__name__} is not allowed")
        elif isinstance(node, ast.UnaryOp):
            if type(node.op) not in _UNARY:
                raise ValueError(f"{text!r}: operator {type(node.op).__name__} is not allowed")
        elif not isinstance(node, ast.operator | ast.unaryop | ast.Load):
            raise ValueError(
                f"{text!r}: only + - * / // % ** over column names and numbers are allowed, "
                f"not {type(node).__name__}"
            )
    columns = tuple(dict.fromkeys(names[n.id] for n in ast.walk(tree) if isinstance(n, ast.Name)))
    return Expression(text, columns, tree, {k: v for k, v in names.items() if v in columns})


def _evaluate(node: ast.expr, values: Mapping[str, pd.Series]):
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, values))
    left, right = _evaluate(node.left, values), _evaluate(node.right, values)  # type: ignore[attr-defined]
    return _BINARY[type(node.op)](left, right)  # type: ignore[attr-defined]


def template_columns(template: str) -> tuple[str, ...]:
    """The export columns a text template (`{customer}-{date}`) reads.

    Raises:
        ValueError: a placeholder with a conversion, format spec, attribute or index (only `{column}` is
            allowed), an empty one, or unbalanced braces.
    """
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as error:
        raise ValueError(f"{template!r} is not a template ({error})") from None
    columns = []
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        if not field or spec or conversion or any(c in field for c in ".[]"):
            raise ValueError(f"{template!r}: a placeholder is a bare {{column}}, got {{{field}}}")
        columns.append(field)
    if not columns:
        raise ValueError(f"{template!r} names no column (write columns as {{column}})")
    return tuple(dict.fromkeys(columns))


def fill_template(template: str, values: Mapping[str, pd.Series]) -> pd.Series:
    """The template filled row by row from the export's text columns."""
    result = None
    for literal, field, _, _ in string.Formatter().parse(template):
        piece = values[field] if field is not None else None
        result = _concat(_concat(result, literal), piece)
    return result


def _concat(left, right):
    if right is None or (isinstance(right, str) and not right):
        return left
    if left is None:
        return right if isinstance(right, pd.Series) else right
    return left + right
