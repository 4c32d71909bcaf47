"""Failure alerts name the task, the business date, the run and the error."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from daybreak.alerts import alert_message, on_task_failure


def test_alert_names_task_date_run_and_error():
    context = {
        "task_instance": SimpleNamespace(task_id="ingest", dag_id="daybreak_nightly"),
        "data_interval_start": dt.datetime(2024, 3, 5, tzinfo=dt.UTC),
        "run_id": "scheduled__2024-03-05",
        "exception": RuntimeError("no export for business date 2024-03-05"),
    }
    text = alert_message(context)["text"]
    assert "ingest" in text and "daybreak_nightly" in text and "2024-03-05" in text
    assert "scheduled__2024-03-05" in text and "no export" in text


def test_without_a_webhook_the_alert_is_logged(monkeypatch, caplog):
    monkeypatch.delenv("DAYBREAK_ALERT_WEBHOOK_URL", raising=False)
    on_task_failure({"run_id": "r", "exception": ValueError("boom")})
    assert "ALERT" in caplog.text and "boom" in caplog.text
