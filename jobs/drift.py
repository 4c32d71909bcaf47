"""Check the sales lines of the last days for drift against the weeks before them.

The current window is the `drift.current_days` days ending on the business date, the reference window the
`drift.reference_days` days just before it (both from the dataset config), both read from `marts.fct_sales_lines`.
Each window is sampled to at most SAMPLE_ROWS lines, deterministically: the lines with the smallest
md5(seed, line_id), so a rerun compares exactly the same rows. The Evidently report is written to
`reports/<dataset>/drift/<date>.html` (atomically) and its summary to one row of `monitoring.drift_summary`.

At the start of history a window can be empty; then the row says so (no columns compared, no drift, no report)
and the night goes on.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import TYPE_CHECKING, Any

from daybreak.datasets import load_dataset_config
from daybreak.settings import Settings, get_settings
from daybreak.warehouse import connect, read_frame, replace_partition

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

TABLE = "monitoring.drift_summary"
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


def run(business_date: dt.date, run_id: str, settings: Settings | None = None) -> dict:
    """Compare the current window with the reference window and record the summary for `business_date`.

    Returns:
        a summary: the windows, lines in each (and how many were sampled), the drift numbers, the report path;
        `empty_window` names the empty window(s) when there was nothing to compare.
    """
    from daybreak.models.drift import drift_summary

    settings = settings or get_settings()
    config = load_dataset_config(settings.dataset)
    bounds = windows(business_date, config.drift_reference_days, config.drift_current_days)
    reference, reference_rows = _read_window(settings, bounds["reference_start"], bounds["reference_end"])
    current, current_rows = _read_window(settings, bounds["current_start"], bounds["current_end"])

    summary, snapshot = drift_summary(
        reference, current, timestamp=dt.datetime.combine(business_date, dt.time())
    )
    report_path = settings.reports_dir / "drift" / f"{business_date.isoformat()}.html"
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
        report_path.unlink(missing_ok=True)  # a report from an earlier run of this date no longer holds
        report = None
    else:
        report_path.parent.mkdir(parents=True, exist_ok=True)
        staging = report_path.with_name(f".{report_path.name}.{os.getpid()}.tmp")
        staging.write_text(snapshot.get_html_str(as_iframe=False), encoding="utf-8")
        os.replace(staging, report_path)
        report = str(report_path)

    frame = summary_table(bounds, summary, business_date, report_path=report, run_id=run_id)
    with connect(settings.warehouse_path) as connection:
        written = replace_partition(
            connection, TABLE, frame, key_column="as_of_date", key_value=business_date
        )
    log.info(
        "drift %s: %s of %s columns drifted (%s lines vs %s)",
        business_date,
        summary["n_drifted_columns"],
        summary["n_columns"],
        current_rows,
        reference_rows,
    )
    return {**result, "report_path": report, "rows_written": written}


def _read_window(settings: Settings, start: dt.date, end: dt.date) -> tuple[pd.DataFrame, int]:
    frame = read_frame(settings.warehouse_path, WINDOW_SQL, [start, end, SAMPLE_SEED, SAMPLE_ROWS])
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


def summary_table(
    bounds: dict[str, dt.date],
    summary: dict[str, Any],
    business_date: dt.date,
    *,
    report_path: str | None,
    run_id: str,
) -> pd.DataFrame:
    """One `monitoring.drift_summary` row with the contract's column types (share is null when nothing compared)."""
    import pandas as pd
    import pyarrow as pa

    date, text = pd.ArrowDtype(pa.date32()), pd.ArrowDtype(pa.string())
    share = summary["share_drifted"]
    return pd.DataFrame(
        {
            "as_of_date": pd.Series([business_date], dtype=date),
            **{name: pd.Series([bounds[name]], dtype=date) for name in bounds},
            "n_columns": pd.Series([summary["n_columns"]], dtype="int32"),
            "n_drifted_columns": pd.Series([summary["n_drifted_columns"]], dtype="int32"),
            "share_drifted": pd.Series([float("nan") if share is None else share], dtype="float64"),
            "dataset_drift": pd.Series([summary["dataset_drift"]], dtype="bool"),
            "report_path": pd.Series([report_path], dtype=text),
            "run_id": pd.Series([run_id], dtype=text),
        }
    )
