"""Failure alerts for unattended nightly runs.

Airflow calls `on_task_failure` when a task has failed for the last time (after its retries). The alert always goes
to the task log at ERROR level; when `DAYBREAK_ALERT_WEBHOOK_URL` is set it is also POSTed there as JSON (a Slack or
Teams incoming webhook, or any HTTP endpoint), so a failed night is noticed before the dashboards are opened.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from typing import Any

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


def on_task_failure(context: dict[str, Any]) -> None:
    message = alert_message(context)
    log.error("ALERT %s", message["text"])
    url = os.environ.get("DAYBREAK_ALERT_WEBHOOK_URL")
    if not url:
        return
    request = urllib.request.Request(
        url, data=json.dumps(message).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - the operator configures the URL
            pass
    except OSError as error:  # an unreachable webhook must not hide the original failure
        log.error("could not deliver the alert to the webhook: %s", error)


def send(text: str) -> bool:
    """Send a monitoring event (drift, degradation) through the same path as failures: the log at WARNING, and
    the webhook when `DAYBREAK_ALERT_WEBHOOK_URL` is set. Returns whether the webhook took it (False without one)."""
    log.warning("ALERT %s", text)
    url = os.environ.get("DAYBREAK_ALERT_WEBHOOK_URL")
    if not url:
        return False
    request = urllib.request.Request(
        url,
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - the operator configures the URL
            return True
    except OSError as error:  # an unreachable webhook must not fail the night that found the drift
        log.error("could not deliver the alert to the webhook: %s", error)
        return False
