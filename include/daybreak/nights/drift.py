"""Drift of the recent sales lines against the weeks before them: the windows, the sample, the summary row.

The current window is the `drift.current_days` days ending on the business date, the reference window the
`drift.reference_days` days just before it (both from the dataset config), both read from `marts.fct_sales_lines`.
Each window is sampled to at most SAMPLE_ROWS lines, deterministically: the lines with the smallest
md5(seed, line_id), so a rerun compares exactly the same rows. The comparison itself (Evidently) is pure and
lives in `daybreak.models.drift`; `jobs.drift` writes the report and the row.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd

from daybreak.models.drift import drift_summary
from daybreak.warehouse.connection import read_frame
from daybreak.warehouse.schemas.monitoring import DRIFT_SUMMARY as TABLE

SAMPLE_ROWS = 20_000
SAMPLE_SEED = "daybreak-drift"
DRIFT_COLUMNS = ("quantity", "unit_price", "revenue", "location", "has_customer")
WINDOW_SQL = """
with window_lines as (
    select
        line_id,
        quantity,
        unit_price,
        revenue,
        location,
        customer_id is not null as has_customer,
        count(*) over () as window_rows
    from marts.fct_sales_lines
    where business_date between ? and ?
),

sampled as (
    select * from window_lines
    order by md5(concat(?, line_id)), line_id
    limit ?
)

select quantity, unit_price, revenue, location, has_customer, window_rows
from sampled
order by line_id
"""


def windows(business_date: dt.date, reference_days: int, current_days: int) -> dict[str, dt.date]:
    """The reference and current windows (inclusive dates): current ends on the business date, reference before."""
    current_start = business_date - dt.timedelta(days=current_days - 1)
    reference_end = current_start - dt.timedelta(days=1)
    return {
        "reference_start": reference_end - dt.timedelta(days=reference_days - 1),
        "reference_end": reference_end,
        "current_start": current_start,
        "current_end": business_date,
    }


def compare(
    warehouse_path: Path, business_date: dt.date, reference_days: int, current_days: int
) -> tuple[dict[str, Any], Any]:
    """Compare night D's current window with its reference window.

    Returns:
        the night's summary (windows, lines in each and sampled, the drift numbers; `empty_window` and a note
        when a window is empty) and the Evidently snapshot (None when there was nothing to compare).
    """
    bounds = windows(business_date, reference_days, current_days)
    reference, reference_rows = read_window(
        warehouse_path, bounds["reference_start"], bounds["reference_end"]
    )
    current, current_rows = read_window(warehouse_path, bounds["current_start"], bounds["current_end"])
    # an aggregated export's rows carry no unit price, and perhaps no units: a column neither window has is not
    # a column of this dataset, and has nothing to compare
    carried = [c for c in reference.columns if reference[c].notna().any() or current[c].notna().any()]
    if len(reference) and len(current):
        reference, current = reference[carried], current[carried]
    summary, snapshot = drift_summary(
        reference, current, timestamp=dt.datetime.combine(business_date, dt.time())
    )
    result: dict[str, Any] = {
        "as_of_date": business_date.isoformat(),
        **{name: day.isoformat() for name, day in bounds.items()},
        "reference_rows": reference_rows,
        "current_rows": current_rows,
        "reference_sampled": len(reference),
        "current_sampled": len(current),
        **summary,
    }
    if snapshot is None:
        empty = [
            name for name, rows in (("reference", reference_rows), ("current", current_rows)) if not rows
        ]
        result["empty_window"] = " and ".join(empty)
        result["note"] = f"no sales lines in the {result['empty_window']} window: nothing to compare"
    return result, snapshot


def read_window(warehouse_path: Path, start: dt.date, end: dt.date) -> tuple[pd.DataFrame, int]:
    """The window's sampled sales lines (the drift columns) and how many lines it has in all."""
    frame = read_frame(warehouse_path, WINDOW_SQL, [start, end, SAMPLE_SEED, SAMPLE_ROWS])
    rows = int(frame["window_rows"].iloc[0]) if len(frame) else 0
    frame = frame.loc[:, list(DRIFT_COLUMNS)].astype(
        {
            "quantity": "float64",
            "unit_price": "float64",
            "revenue": "float64",
            "location": "object",
            "has_customer": "bool",
        }
    )
    return frame, rows


def summary_row(result: dict[str, Any], *, report_path: str | None, run_id: str) -> pd.DataFrame:
    """The night's one `monitoring.drift_summary` row (share is null when nothing was compared)."""
    row = {column: result.get(column) for column in TABLE.column_names}
    return TABLE.conform(pd.DataFrame([{**row, "report_path": report_path, "run_id": run_id}]))
