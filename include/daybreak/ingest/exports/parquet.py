"""Parquet exports read into rows, every value as the text a CSV export would carry.

A Parquet file has types of its own; turning its values into text (`as_text`) lets the ingest check and map it
exactly as it checks a CSV export, so one set of rules holds whatever format a shop sends.
"""

from __future__ import annotations

import re

import pandas as pd
import pyarrow.parquet as pq

from daybreak.ingest.exports.rows import Export, ExportReadError, as_text

PANDAS_INDEX_COLUMN = re.compile(r"__index_level_\d+__")


def read_parquet(handle, path_or_url: str) -> Export:
    """The rows of an open Parquet file (pandas' index columns left out); `ExportReadError` when it is not one."""
    try:
        table = pq.read_table(handle)
    except Exception as error:  # pyarrow raises several types for a corrupt or non-Parquet file
        raise ExportReadError(f"{path_or_url}: not a readable Parquet file ({error})") from error
    names = [n for n in table.column_names if not PANDAS_INDEX_COLUMN.fullmatch(n)]
    index = pd.RangeIndex(1, table.num_rows + 1)
    frame = pd.DataFrame(
        {name: [as_text(v) for v in table.column(name).to_pylist()] for name in names},
        index=index,
        dtype=object,
    )
    return Export(frame, [], None, None)
