"""Alerts for unattended nightly runs, through one configurable path: `send`.

Two things raise an alert: a task that has failed for the last time (after its retries: Airflow calls
`on_task_failure`), and, when `DAYBREAK_NIGHT_DEADLINE_HOURS` is set (docker-compose.yml sets 6), a night that has
not finished that many hours after it was queued (Airflow 3's DeadlineAlert, checked by the scheduler and delivered
by the triggerer: `on_deadline_missed`). The deadline counts from when the run was queued, not from its logical
date, so a backfill of last year's nights does not alert for being a year late. It is opt-in because Airflow
3.3.2's `dag.test()` / `airflow dags test` cannot store a DAG's DeadlineAlert (it writes the serialized alert where
a UUID is expected and the run fails before any task), and the demo and the tests use those.

Every alert goes to the log at ERROR level. It is also emailed when `DAYBREAK_ALERT_EMAIL` is set (comma-separated
addresses, through the SMTP server at `DAYBREAK_SMTP_HOST`:`DAYBREAK_SMTP_PORT`), and
POSTed as JSON `{"text": ...}` when `DAYBREAK_ALERT_WEBHOOK_URL` is set (a Slack or Teams incoming webhook, or any
HTTP endpoint). A channel that cannot be reached is logged and never hides the alert itself.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import smtplib
import urllib.request
from email.message import EmailMessage
from typing import Any

from daybreak.core.environment import read

log = logging.getLogger(__name__)


def alert_message(context: dict[str, Any]) -> dict[str, str]:
    """The alert's content, from an Airflow task context (pure, so it is tested without Airflow)."""
    task_instance = context.get("task_instance") or context.get("ti")
    interval_start = context.get("data_interval_start")
    return {
        "text": (
            f"Daybreak: task {getattr(task_instance, 'task_id', '?')} of {getattr(task_instance, 'dag_id', '?')} "
            f"failed for business date {interval_start.date() if interval_start else '?'} "
            f"(run {context.get('run_id', '?')}): {context.get('exception')}"
        )
    }


def deadline_message(context: dict[str, Any] | None, hours: float) -> dict[str, str]:
    """The missed-deadline alert's content from the (simple) context the triggerer passes."""
    dag_run = (context or {}).get("dag_run") or {}
    run = dag_run if isinstance(dag_run, dict) else vars(dag_run)
    return {
        "text": (
            f"Daybreak: night {run.get('run_id', '?')} of {run.get('dag_id', 'daybreak_nightly')} "
            f"(logical date {run.get('logical_date', '?')}) has not finished {hours:g} h after it was queued"
        )
    }


def send(message: dict[str, str], env: dict[str, str] | None = None) -> list[str]:
    """Deliver an alert on every configured channel; the channels it reached (the log always). The channels are
    read from `env`, by default the process's environment."""
    log.error("ALERT %s", message["text"])
    reached = ["log"]
    if addresses := [a.strip() for a in (read("DAYBREAK_ALERT_EMAIL", env) or "").split(",") if a.strip()]:
        email = EmailMessage()
        email["Subject"] = message["text"][:120]
        email["From"] = read("DAYBREAK_ALERT_FROM", env)
        email["To"] = ", ".join(addresses)
        email.set_content(message["text"])
        host, port = read("DAYBREAK_SMTP_HOST", env), int(read("DAYBREAK_SMTP_PORT", env))
        try:
            with smtplib.SMTP(host, port, timeout=10) as smtp:
                smtp.send_message(email)
            reached.append("email")
        except OSError as error:
            log.error("could not email the alert through %s:%s: %s", host, port, error)
    if url := read("DAYBREAK_ALERT_WEBHOOK_URL", env):
        request = urllib.request.Request(
            url,
            data=json.dumps(message).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - the operator configures the URL
                reached.append("webhook")
        except OSError as error:
            log.error("could not deliver the alert to the webhook: %s", error)
    return reached


def on_task_failure(context: dict[str, Any]) -> None:
    send(alert_message(context))


def deadline_hours(env: dict[str, str] | None = None) -> float | None:
    """The configured deadline of a night in hours, or None for no deadline alert."""
    value = read("DAYBREAK_NIGHT_DEADLINE_HOURS", env)
    return float(value) if value else None


async def on_deadline_missed(context: dict[str, Any] | None = None, hours: float = 0.0) -> None:
    """The DeadlineAlert's callback (runs in the triggerer, so the blocking delivery goes to a thread)."""
    await asyncio.to_thread(send, deadline_message(context, hours))


def night_deadline():
    """The nightly DAG's DeadlineAlert: finished within `deadline_hours()` of being queued; None when unset."""
    hours = deadline_hours()
    if hours is None:
        return None
    from airflow.sdk import AsyncCallback, DeadlineAlert, DeadlineReference

    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=dt.timedelta(hours=hours),
        callback=AsyncCallback(on_deadline_missed, kwargs={"hours": hours}),
        name="daybreak_night_deadline",
    )
