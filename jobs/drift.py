"""Check the sales lines of the last days for drift against the weeks before them (`daybreak.drifting`).

The Evidently report is written to `reports/<dataset>/drift/<date>.html` (atomically) and its summary to one row
of `monitoring.drift_summary`. At the start of history a window can be empty; then the row says so (no columns
compared, no drift, no report) and the night goes on.
"""

from __future__ import annotations

import datetime as dt
import logging

from daybreak.datasets import load_dataset_config
from daybreak.drifting import TABLE, compare, summary_row
from daybreak.files import write_text_atomic
from daybreak.settings import Settings, get_settings
from daybreak.warehouse import connect, replace_partition

log = logging.getLogger(__name__)


def run(business_date: dt.date, run_id: str, settings: Settings | None = None) -> dict:
    """Compare the current window with the reference window and record the summary for `business_date`.

    Returns:
        a summary: the windows, lines in each (and how many were sampled), the drift numbers, the report path;
        `empty_window` names the empty window(s) when there was nothing to compare.
    """
    settings = settings or get_settings()
    config = load_dataset_config(settings.dataset)
    result, snapshot = compare(
        settings.warehouse_path, business_date, config.drift_reference_days, config.drift_current_days
    )
    report_path = settings.reports_dir / "drift" / f"{business_date.isoformat()}.html"
    if snapshot is None:
        report_path.unlink(missing_ok=True)  # a report from an earlier run of this date no longer holds
        report = None
    else:
        report = str(write_text_atomic(report_path, snapshot.get_html_str(as_iframe=False)))
    frame = summary_row(result, report_path=report, run_id=run_id)
    with connect(settings.warehouse_path) as connection:
        written = replace_partition(
            connection, TABLE, frame, key_column="as_of_date", key_value=business_date
        )
    log.info(
        "drift %s: %s of %s columns drifted (%s lines vs %s)",
        business_date,
        result["n_drifted_columns"],
        result["n_columns"],
        result["current_rows"],
        result["reference_rows"],
    )
    return {**result, "report_path": report, "rows_written": written}
