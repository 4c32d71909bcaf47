"""The nightly DAG's tasks fail at once on an error a retry cannot fix, and say what to do in a few short lines.

Every task of the nightly DAG retries (twice, two then four minutes apart), because most failures pass. An error
the library marks permanent (`daybreak.core.failures.PermanentError`: a date outside the landed data, a refused
dataset config, a settings value Daybreak cannot use, a refused export, a failed night before this one) would fail
the same way on every try, so `fails_at_once` turns it into Airflow's `AirflowFailException`, which ends the task
without retries. Its message replaces the library's stack trace (which says nothing a person can act on) with a
few lines no wider than a log viewer: what failed, the error's own message, and its remedy. Any other error is
re-raised untouched and retried as before.

Airflow logs the failure's stack trace after the task's own lines, then runs the failure callbacks:
`say_what_to_do`, the DAG's last failure callback, repeats the few lines there, so they are the log's last lines.
"""

from __future__ import annotations

import functools
import logging
import textwrap
from collections.abc import Callable
from typing import TypeVar

from airflow.sdk.exceptions import AirflowFailException

from daybreak.core.failures import PermanentError

log = logging.getLogger(__name__)

WIDTH = 100  # characters per line: Airflow's log view does not wrap, so a longer line is cut off at the right
Task = TypeVar("Task", bound=Callable)


class ExplainedFailure(AirflowFailException):
    """A permanent error turned into a task failure without retries; its message is `explain`'s lines."""


def explain(error: PermanentError) -> str:
    """What happened and what to do, as a few lines of at most `WIDTH` characters."""
    lines = [f"{type(error).__name__}: a retry cannot fix this, so the task fails now without retrying."]
    lines += textwrap.wrap(
        str(error), WIDTH, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False
    )
    lines += textwrap.wrap(
        f"What to do: {error.remedy}.", WIDTH, subsequent_indent="  ", break_on_hyphens=False
    )
    return "\n".join(lines)


def fails_at_once(function: Task) -> Task:
    """Wrap a task's function so that a `PermanentError` fails the task at once, explained (`explain`).

    Put it under Airflow's decorator (`@task` then `@fails_at_once`): it keeps the function's name and signature,
    from which Airflow takes the task id and the context arguments to pass.
    """

    @functools.wraps(function)
    def task_body(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except PermanentError as error:
            message = explain(error)
            for line in message.splitlines():  # one record per line: each reads whole in the log view
                log.error("%s", line)
            raise ExplainedFailure(message) from None

    return task_body  # type: ignore[return-value]


def say_what_to_do(context: dict) -> None:
    """A failure callback: repeat an explained failure's lines at the end of the task's log, below the trace."""
    error = context.get("exception")
    if isinstance(error, ExplainedFailure):
        for line in str(error).splitlines():
            log.error("%s", line)
