"""Errors a retry cannot fix fail an Airflow task at once, explained in a few short lines; others still retry."""

from __future__ import annotations

import datetime as dt
import inspect

import pytest
from airflow.sdk.exceptions import AirflowFailException

from daybreak.core.failures import PermanentError
from daybreak.core.settings import DatasetConfigError, SettingsError
from daybreak.ingest.canonical import IngestError, MissingExportError, RefusedExportError
from daybreak.platform.schedule import Bounds, OutsideDataError, PreviousNightFailed
from daybreak.platform.task_failures import WIDTH, explain, fails_at_once


def test_the_errors_no_retry_can_fix_are_permanent_and_keep_their_builtin_base():
    for error, base in [
        (SettingsError, ValueError),
        (DatasetConfigError, ValueError),
        (OutsideDataError, ValueError),
        (RefusedExportError, IngestError),
        (MissingExportError, IngestError),
        (PreviousNightFailed, RuntimeError),
    ]:
        assert issubclass(error, PermanentError) and issubclass(error, base), error
        assert error.remedy != PermanentError.remedy, f"{error.__name__} says what to do about it"
    # an export that has not landed yet may land before the next try: a plain IngestError still retries
    assert not issubclass(IngestError, PermanentError)


def test_a_permanent_error_fails_the_task_at_once_with_what_happened_and_what_to_do(caplog):
    @fails_at_once
    def ingest(data_interval_start=None, run_id=None):
        Bounds(dt.date(2024, 1, 1), dt.date(2024, 12, 31)).check(data_interval_start.date())

    with pytest.raises(AirflowFailException) as failure:
        ingest(data_interval_start=dt.datetime(2025, 1, 5), run_id="manual__2025-01-06")
    lines = str(failure.value).splitlines()
    assert lines[0].startswith("OutsideDataError: a retry cannot fix this")
    assert "business date 2025-01-05 is outside" in lines[1]
    assert "2024-01-01..2024-12-31" in "".join(lines)
    assert any(line.startswith("What to do: run nights only for business days") for line in lines)
    assert all(len(line) <= WIDTH for line in lines), "no line is cut off in Airflow's log view"
    assert 3 <= len(lines) <= 8, "a few lines"
    # no chained library traceback above it: the message is the whole story
    assert failure.value.__suppress_context__ and failure.value.__cause__ is None
    # and the log's last lines are the same lines, one record each
    assert [r.getMessage() for r in caplog.records[-len(lines) :]] == lines


def test_other_errors_pass_through_untouched_so_they_are_retried():
    missing = IngestError("no export for business date 2024-12-25: expected file(s) matching ...")

    @fails_at_once
    def ingest():
        raise missing

    with pytest.raises(IngestError) as raised:
        ingest()
    assert raised.value is missing


def test_the_wrapper_keeps_the_name_and_signature_airflow_reads():
    def retrain_decision(data_interval_start=None):
        return ["forecast"]

    wrapped = fails_at_once(retrain_decision)
    assert wrapped.__name__ == "retrain_decision"
    assert list(inspect.signature(wrapped).parameters) == ["data_interval_start"]
    assert wrapped(data_interval_start=None) == ["forecast"]


def test_explain_wraps_a_long_message():
    error = SettingsError("DAYBREAK_ENGINE='duck' is not one of duckdb, spark " + "x" * 150)
    lines = explain(error).splitlines()
    assert lines[0] == "SettingsError: a retry cannot fix this, so the task fails now without retrying."
    assert lines[1].startswith("  DAYBREAK_ENGINE='duck'")
    assert lines[-1].endswith("then clear the task.")
