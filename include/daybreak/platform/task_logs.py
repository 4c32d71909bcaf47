"""What a nightly task says in its Airflow log: its business date first, what it did as a few readable lines last.

Airflow shows a run by its logical date and its run id, both the day after the business day for a scheduled
night (`daybreak.platform.schedule`), and logged a task's return value as one dict repr cut off at the right,
with absolute paths. `night_step` wraps each task of the nightly DAG: its first log line names the business date
the task processes, its last lines are the job's summary, one `key: value` line each, paths relative to the data
home, empty entries left out, no line wider than the log view (`task_failures.WIDTH`). It also fails the task at
once on an error no retry can fix (`task_failures.fails_at_once`).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from daybreak.core.settings import unchecked_settings
from daybreak.platform.task_failures import WIDTH, fails_at_once

log = logging.getLogger(__name__)

Task = TypeVar("Task", bound=Callable)


def business_date_line(task_id: str, business_date: dt.date) -> str:
    """The first line of a task's log: the business date, which Airflow's own columns do not show."""
    return (
        f"{task_id}: business date {business_date} (the day this night processes; Airflow's logical date and run "
        "id may read the day after)"
    )


def _text(value: Any, home: str) -> str:
    text = " ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
    return text.replace(home, "") if home else text


def _items(values: list[str], width: int) -> str:
    """As many items as fit in `width` characters, then how many more there are."""
    for shown in range(len(values), 0, -1):
        more = f" (+{len(values) - shown} more)" if shown < len(values) else ""
        text = ", ".join(values[:shown]) + more
        if len(text) <= width:
            return text
    more = f" (+{len(values) - 1} more)" if len(values) > 1 else ""
    return values[0][: max(width - len(more) - 3, 0)] + "..." + more


def summary_lines(task_id: str, summary: Any, home: Path | None = None) -> list[str]:
    """A job's summary (`run`'s return value) as a few readable lines.

    Args:
        summary: a dict of counts, lists and mappings (anything else is shown on one line).
        home: the data home; paths under it are shown relative to it.
    """
    prefix = f"{home.as_posix().rstrip('/')}/" if home else ""
    if not isinstance(summary, dict):
        lines = [f"{task_id} done: {_text(summary, prefix)}"]
    else:
        lines = [f"{task_id} done:"]
        for key, value in summary.items():
            label = f"  {str(key).replace('_', ' ')}: "
            if value is None or value == "" or (isinstance(value, list | tuple | dict | set) and not value):
                continue
            if isinstance(value, dict):
                shown = _items(
                    [f"{_text(k, prefix)} {_text(v, prefix)}" for k, v in value.items()], WIDTH - len(label)
                )
            elif isinstance(value, list | tuple | set):
                shown = _items([_text(v, prefix) for v in value], WIDTH - len(label))
            else:
                shown = _text(value, prefix)
            lines.append(label + shown)
    return [line if len(line) <= WIDTH else line[: WIDTH - 3] + "..." for line in lines]


def night_step(function: Task) -> Task:
    """Wrap a nightly task's function (under `@task`): log its business date first and its summary last, and fail
    at once on a permanent error. Keeps the function's name and signature, from which Airflow takes the task id
    and the context arguments it passes."""
    body = fails_at_once(function)

    @functools.wraps(function)
    def task_body(*args, **kwargs):
        interval_start = kwargs.get("data_interval_start")
        if interval_start is not None:
            log.info("%s", business_date_line(function.__name__, interval_start.date()))
        result = body(*args, **kwargs)
        if isinstance(result, dict):
            for line in summary_lines(function.__name__, result, unchecked_settings().home.resolve()):
                log.info("%s", line)
        return result

    return task_body  # type: ignore[return-value]
