"""Errors that a retry cannot fix, and what to do about each.

A nightly task that fails is retried, because most failures pass (a lock held a moment too long, a worker that
died). A failure caused by the input fails the same way on every try: a date outside the landed data, a dataset
config that is refused, an environment variable with a value Daybreak cannot use, an export that is refused.
Retrying such an error only delays the alert by minutes. Each one therefore derives from `PermanentError`, whose
`remedy` says in one sentence what a person must change. This is the one place that decides which failures are
permanent; the nightly DAG's tasks fail them at once, with the message and the remedy
(`daybreak.platform.task_failures`).
"""

from __future__ import annotations


class PermanentError(Exception):
    """A failure that will happen again on every retry until a person changes the input it names.

    Subclasses mix this class into their own base (`class SettingsError(PermanentError, ValueError)`), so code that
    catches the builtin error still catches them, and set `remedy` to what to change.
    """

    remedy = "correct what the message names, then clear the task so that it runs again"
