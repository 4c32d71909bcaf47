"""Failure alerts name the task, the business date, the run and the error."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from daybreak.platform.alerts import alert_message, on_task_failure


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


def test_every_configured_channel_gets_the_alert(monkeypatch):
    import http.server
    import json
    import threading

    from daybreak.platform import alerts

    received, sent = [], []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            self.address = (host, port)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send_message(self, email):
            sent.append((self.address, email["To"], email.get_content()))

    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.handle_request, daemon=True).start()
    monkeypatch.setattr(alerts.smtplib, "SMTP", FakeSMTP)
    env = {
        "DAYBREAK_ALERT_EMAIL": "ops@example.com, oncall@example.com",
        "DAYBREAK_SMTP_HOST": "mail.internal",
        "DAYBREAK_ALERT_WEBHOOK_URL": f"http://127.0.0.1:{server.server_port}/hook",
    }
    assert alerts.send({"text": "night late"}, env) == ["log", "email", "webhook"]
    server.server_close()
    assert received == [{"text": "night late"}]
    assert sent == [(("mail.internal", 25), "ops@example.com, oncall@example.com", "night late\n")]


def test_an_unreachable_channel_is_logged_and_the_alert_still_logged(caplog):
    from daybreak.platform.alerts import send

    reached = send({"text": "boom"}, {"DAYBREAK_ALERT_WEBHOOK_URL": "http://127.0.0.1:9/none"})
    assert reached == ["log"]
    assert "ALERT boom" in caplog.text and "could not deliver" in caplog.text


def test_the_deadline_counts_from_when_the_night_was_queued(monkeypatch):
    import asyncio
    import concurrent.futures

    from daybreak.platform import alerts

    monkeypatch.setenv("DAYBREAK_NIGHT_DEADLINE_HOURS", "5")
    deadline = alerts.night_deadline()
    assert deadline.interval == dt.timedelta(hours=5)
    assert type(deadline.reference).__name__ == "DagRunQueuedAtDeadline"
    messages = []
    monkeypatch.setattr(alerts, "send", messages.append)
    context = {
        "dag_run": {
            "run_id": "backfill__2024-12-30",
            "dag_id": "daybreak_nightly",
            "logical_date": "2024-12-30",
        }
    }
    # A fresh loop in its own thread: an earlier test (the browser's) may leave this thread's loop marked running.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, alerts.on_deadline_missed(context=context, hours=5)).result()
    assert "backfill__2024-12-30" in messages[0]["text"] and "5 h" in messages[0]["text"]


def test_without_a_configured_deadline_there_is_no_deadline_alert(monkeypatch):
    from daybreak.platform import alerts

    monkeypatch.delenv("DAYBREAK_NIGHT_DEADLINE_HOURS", raising=False)
    assert alerts.night_deadline() is None
