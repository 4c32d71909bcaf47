"""Numbers read from an export's text, each distinct text parsed once.

An export repeats its values (prices, quantities, order numbers, customers), so the per-value Python work of
parsing numbers and matching patterns is done once per distinct value (`per_distinct`) and spread back over the
rows: it was most of the cost of checking a large history. `parse_numbers` tells text that is a number that is not
finite (`nan`, `inf`, `1e400`) from text that is no number at all, so each gets its own quarantine rule.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd


def _distinct(text: pd.Series) -> tuple[np.ndarray, pd.Series] | None:
    """Each value's code (-1 where missing) and the distinct present values, when `text` repeats itself enough to
    be worth it; else None."""
    codes, uniques = pd.factorize(text)
    if len(uniques) == 0 or len(uniques) * 2 > len(text):
        return None
    return codes, pd.Series(uniques, dtype=text.dtype)


def _spread(
    once: pd.Series, codes: np.ndarray, text: pd.Series, transform: Callable[[pd.Series], pd.Series]
) -> pd.Series:
    """The per-distinct results `once` back on every row of `text`; a missing value is transformed as it is
    (pandas' factorize folds None and NaN into one, a transform may not)."""
    values = once.to_numpy()[codes]
    missing = codes < 0
    if missing.any():
        values[missing] = transform(text[missing]).to_numpy()
    return pd.Series(values, index=text.index, dtype=once.dtype)


def per_distinct(text: pd.Series, transform: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """`transform(text)` for an element-wise `transform`, computed once per distinct value.

    An export repeats its values (prices, quantities, order numbers, customers), and the per-value Python work of
    regular expressions and number parsing was most of the cost of checking a large history."""
    found = _distinct(text)
    if found is None:
        return transform(text)
    codes, uniques = found
    return _spread(transform(uniques), codes, text, transform)


def parse_numbers(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers from text: (values as float64, whether the text is a number at all).

    `nan`, `inf`, `Infinity` and overflowing numbers such as `1e400` are numbers (that are not finite), so they are
    told apart from text that is no number ("two", ""). Each distinct text is parsed once (`per_distinct`).
    """
    found = _distinct(text)
    if found is None:
        return _parse_numbers(text)
    codes, uniques = found
    values, is_number = _parse_numbers(uniques)
    return (
        _spread(values, codes, text, lambda t: _parse_numbers(t)[0]).astype("float64"),
        _spread(is_number, codes, text, lambda t: _parse_numbers(t)[1]).astype(bool),
    )


def parse_numbers_with(text: pd.Series, decimal_separator: str) -> tuple[pd.Series, pd.Series]:
    """`parse_numbers` of an export whose decimal separator is `decimal_separator` (`landing.decimal_separator`).

    With `,` (`3,5`) a value holding a `.` is no number: such exports group thousands with the dot (`1.234,5`),
    and reading it as a decimal point would load a thousandth of the value without a word."""
    if decimal_separator == ".":
        return parse_numbers(text)
    grouped = text.str.contains(".", regex=False).fillna(False).astype(bool)
    values, is_number = parse_numbers(text.str.replace(decimal_separator, ".", regex=False))
    return values.mask(grouped), is_number & ~grouped


def _parse_numbers(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    values = pd.to_numeric(text, errors="coerce").astype("float64")
    is_number = values.notna()
    retry = ~is_number & text.ne("")

    def is_float(value: str) -> bool:
        try:
            float(value)
        except ValueError:
            return False
        return True

    is_number.loc[retry] = text[retry].map(is_float).astype(bool)
    again = retry & is_number
    values.loc[again] = text[again].map(float).astype("float64")
    return values, is_number
