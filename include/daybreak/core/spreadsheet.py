"""CSV files people open in a spreadsheet: text that a spreadsheet would run as a formula is escaped.

A series id or product name comes from the source system and may be anything, `=cmd|' /C calc'!A0` included.
Excel, LibreOffice and Google Sheets evaluate a cell whose text starts with `=`, `+`, `-` or `@` (and some a tab or
carriage return before one), so a CSV written for people prefixes such text cells with `'`, which the spreadsheet
shows as text (the OWASP "CSV injection" rule). Only text cells are touched: a numeric column's negative numbers
stay numbers, and a text cell that is a plain number (`-12.5`) is left as it is, since a spreadsheet reads it as
that number and runs nothing. Machine formats (Parquet, the warehouse) keep the values unchanged.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def escape_cell(value: object) -> object:
    """`'` + the text when a spreadsheet would read it as a formula; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells (and column names) cannot run as spreadsheet formulas."""
    escaped = frame.rename(columns=escape_cell)
    for column in escaped.columns:
        values = escaped[column]
        text = pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)
        if text or isinstance(values.dtype, pd.CategoricalDtype):
            escaped[column] = values.astype(object).map(escape_cell, na_action="ignore")
    return escaped


def to_csv(frame: pd.DataFrame, path: Path | None = None) -> str | None:
    """Write `frame` without its index as a CSV for people, formulas escaped; returns the text when `path` is None."""
    return escape_formulas(frame).to_csv(path, index=False)
