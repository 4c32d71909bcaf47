"""A nightly task's log starts with its business date and ends with what it did as a few readable lines; a failure
no retry can fix ends the log with what to do."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from daybreak.platform.schedule import Bounds
from daybreak.platform.task_failures import WIDTH, ExplainedFailure, say_what_to_do
from daybreak.platform.task_logs import night_step, summary_lines


def test_a_summary_reads_as_a_few_lines_with_paths_relative_to_the_data_home(tmp_path):
    summary = {
        "business_date": "2024-12-23",
        "rows_loaded": 1234,
        "new_files": [f"2024-12-23/sales_{i}.csv" for i in range(8)],
        "duplicates": {},
        "late_days": [],
        "serving": f"{tmp_path}/serving/synthetic.duckdb",
        "unexpected_columns": {"sales.csv": ["promo_code", "note" * 40]},
    }
    lines = summary_lines("ingest", summary, tmp_path)
    assert lines[:4] == [
        "ingest done:",
        "  business date: 2024-12-23",
        "  rows loaded: 1234",
        "  new files: 2024-12-23/sales_0.csv, 2024-12-23/sales_1.csv, 2024-12-23/sales_2.csv (+5 more)",
    ]
    assert "  serving: serving/synthetic.duckdb" in lines, "no absolute path"
    assert not any("duplicates" in line or "late days" in line for line in lines), "empty entries left out"
    assert all(len(line) <= WIDTH for line in lines), "nothing cut off at the right"
    assert not any("{" in line or "[" in line for line in lines), "no dict or list repr"
    assert lines[-1].startswith("  unexpected columns: sales.csv promo_code notenote")


def test_a_nightly_task_logs_its_business_date_first_and_its_summary_last(caplog, monkeypatch, tmp_path):
    monkeypatch.setenv("DAYBREAK_HOME", str(tmp_path))

    @night_step
    def privacy(data_interval_start=None, run_id=None):
        return {"erasures": 0, "landed_files_removed": 2}

    caplog.set_level(logging.INFO)
    assert privacy(data_interval_start=dt.datetime(2024, 12, 23), run_id="backfill__x") == {
        "erasures": 0,
        "landed_files_removed": 2,
    }
    said = [record.getMessage() for record in caplog.records]
    assert said[0].startswith("privacy: business date 2024-12-23 (the day this night processes")
    assert said[-3:] == ["privacy done:", "  erasures: 0", "  landed files removed: 2"]
    assert privacy.__name__ == "privacy"


def test_the_failure_callback_repeats_what_to_do_as_the_logs_last_lines(caplog):
    @night_step
    def ingest(data_interval_start=None):
        Bounds(dt.date(2024, 1, 1), dt.date(2024, 12, 31)).check(data_interval_start.date())

    with pytest.raises(ExplainedFailure) as failure:
        ingest(data_interval_start=dt.datetime(2025, 1, 5))
    caplog.clear()
    say_what_to_do({"exception": failure.value})
    lines = str(failure.value).splitlines()
    assert [record.getMessage() for record in caplog.records] == lines
    assert lines[-1].endswith("then clear the task.")
    caplog.clear()
    say_what_to_do({"exception": RuntimeError("a retried error")})  # its trace says it all: nothing repeated
    assert caplog.records == []
