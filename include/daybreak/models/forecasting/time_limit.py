"""A per-series time limit on fits: a model that runs over is abandoned for the next best, never fails the night."""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import time


class TimeLimitExceeded(Exception):  # noqa: N818 - reads as what happened
    """A fit ran past the per-series time limit."""


@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Abandon the block after `seconds`.

    In a worker process the block is interrupted with SIGALRM. In the main process signals are left alone
    (Airflow's task runner uses them), so the block runs to the end and is abandoned afterwards when it ran
    over: the result is the same fallback, only later.
    """
    if not seconds:
        yield
        return
    started = time.perf_counter()
    use_alarm = multiprocessing.parent_process() is not None and hasattr(signal, "setitimer")
    if use_alarm:

        def _expired(signum, frame):
            raise TimeLimitExceeded(f"exceeded the time limit of {seconds:g} s")

        previous = signal.signal(signal.SIGALRM, _expired)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    if time.perf_counter() - started > seconds:
        raise TimeLimitExceeded(f"exceeded the time limit of {seconds:g} s")
