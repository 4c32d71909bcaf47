"""The REST client: a backfill refused because SQLite was locked is asked for again; runs are listed page by page."""

from __future__ import annotations

import datetime as dt
import io
import urllib.error

import pytest

from daybreak.platform import airflow_api
from daybreak.platform.airflow_api import AirflowApi, AirflowApiError

DAY = dt.date(2024, 12, 25)


def _answers(monkeypatch, *answers):
    calls = []

    def request(self, method, path, body=None, *, auth=True):
        calls.append((method, path))
        answer = answers[len(calls) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(AirflowApi, "request", request)
    monkeypatch.setattr(airflow_api.time, "sleep", lambda seconds: None)
    return calls


def test_a_backfill_refused_while_sqlite_was_locked_is_asked_for_again(monkeypatch):
    locked = AirflowApiError('POST /api/v2/backfills: HTTP 503 {"detail":"Database is locked."}')
    calls = _answers(monkeypatch, locked, locked, {"id": 7})
    assert AirflowApi("http://airflow").backfill("daybreak_nightly", DAY, DAY) == {"id": 7}
    assert calls == [("POST", "/api/v2/backfills")] * 3


def test_any_other_refusal_is_raised_at_once(monkeypatch):
    conflict = AirflowApiError("POST /api/v2/backfills: HTTP 409 already a running backfill")
    calls = _answers(monkeypatch, conflict, {"id": 7})
    with pytest.raises(AirflowApiError, match="HTTP 409"):
        AirflowApi("http://airflow").backfill("daybreak_nightly", DAY, DAY)
    assert len(calls) == 1


def test_every_run_of_a_year_long_backfill_is_listed_page_by_page(monkeypatch):
    runs = [{"dag_run_id": f"backfill__{day}"} for day in range(365)]
    pages = [
        {"dag_runs": runs[offset : offset + airflow_api.PAGE], "total_entries": len(runs)}
        for offset in range(0, len(runs), airflow_api.PAGE)
    ]
    calls = _answers(monkeypatch, *pages)
    assert AirflowApi("http://airflow").dag_runs("daybreak_nightly") == runs
    assert [path.split("offset=")[1].split("&")[0] for _, path in calls] == ["0", "100", "200", "300"]


def test_a_read_the_busy_api_server_did_not_answer_in_time_is_asked_again(monkeypatch):
    calls = []

    def urlopen(request, timeout):
        calls.append(request.get_method())
        if len(calls) < 3:
            raise TimeoutError("timed out")
        return io.BytesIO(b'{"completed_at": null}')

    monkeypatch.setattr(airflow_api.urllib.request, "urlopen", urlopen)
    monkeypatch.setattr(airflow_api.time, "sleep", lambda seconds: None)
    assert AirflowApi("http://airflow").request("GET", "/api/v2/backfills/1") == {"completed_at": None}
    assert calls == ["GET"] * 3


def test_a_write_that_timed_out_is_not_sent_again(monkeypatch):
    calls = []

    def urlopen(request, timeout):
        calls.append(request.get_method())
        raise urllib.error.URLError(TimeoutError("timed out"))

    monkeypatch.setattr(airflow_api.urllib.request, "urlopen", urlopen)
    with pytest.raises(AirflowApiError, match="no answer"):
        AirflowApi("http://airflow").request("POST", "/api/v2/backfills", {})
    assert calls == ["POST"]


def test_the_runs_daybreak_backfills_are_noted_with_their_business_date(monkeypatch):
    """A backfill of 23-24 Dec: Airflow's run ids read the day after (run_after); the note says the business day."""

    def run(day, note=None):
        return {
            "dag_run_id": f"backfill__{day + dt.timedelta(days=1)}T00:00:00+00:00",
            "data_interval_start": f"{day}T00:00:00Z",
            "note": note,
        }

    first, last = dt.date(2024, 12, 23), dt.date(2024, 12, 24)
    runs = [run(first - dt.timedelta(days=1)), run(first), run(last, note="Business date 2024-12-24")]
    sent = []

    def request(self, method, path, body=None, *, auth=True):
        sent.append((method, path, body))
        return {"dag_runs": runs, "total_entries": len(runs)} if method == "GET" else {}

    monkeypatch.setattr(AirflowApi, "request", request)
    assert AirflowApi("http://airflow").note_business_dates("daybreak_nightly", first, last) == 1
    assert sent[1:] == [
        (
            "PATCH",
            "/api/v2/dags/daybreak_nightly/dagRuns/backfill__2024-12-24T00%3A00%3A00%2B00%3A00?update_mask=note",
            {"note": "Business date 2024-12-23"},
        )
    ]
