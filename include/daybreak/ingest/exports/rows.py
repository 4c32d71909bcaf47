"""What reading an export gives back, whatever its format: its rows as text, the rows set aside, the error.

Every reader (`delimited`, `json_lines`, `parquet`) returns an `Export` whose every value is a string, a missing
one `''`, so the ingest checks one kind of input whatever the format arrived as; `as_text` is that rule for a
value that arrived typed (JSON, Parquet).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

MALFORMED_ROW = "malformed_row"


class ExportReadError(ValueError):
    """The file cannot be read at all in the given format (not just some of its rows)."""


@dataclass(frozen=True)
class MalformedRow:
    """A row that could not be split into the header's fields.

    Attributes:
        source_row: 1-based data row, in the same numbering as the good rows (`Export.rows.index`).
        line_number: 1-based physical line in the file where the row starts (the CSV header is line 1).
        raw_text: the row's text as it arrived.
        rule: why it was set aside (`malformed_row`).
    """

    source_row: int
    line_number: int
    raw_text: str
    rule: str = MALFORMED_ROW


@dataclass(frozen=True)
class Export:
    """One export file read as text.

    Attributes:
        rows: the well-formed rows, every value a `str`; the index is the 1-based data row.
        malformed: rows set aside, numbered in the same sequence as `rows`.
        encoding: the text encoding used (`None` for Parquet).
        delimiter: the CSV delimiter found (`None` for other formats).
        table: the same rows as the Arrow table Arrow's CSV reader parsed (`None` from the other readers), so
            the ingest can work on the text in Arrow without converting every value from Python again.
        preamble_lines: lines before the header that were not read (see `read_export`).
    """

    rows: pd.DataFrame
    malformed: list[MalformedRow] = field(default_factory=list)
    encoding: str | None = None
    delimiter: str | None = None
    table: Any = None
    preamble_lines: int = 0

    @property
    def rows_in(self) -> int:
        return len(self.rows) + len(self.malformed)


def as_text(value) -> str:
    """A value as the text a CSV export would carry: null -> '', numbers and timestamps as Python prints them
    (`3.5`, `2024-03-05 09:15:00`), booleans as `true`/`false`, nested values as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)
