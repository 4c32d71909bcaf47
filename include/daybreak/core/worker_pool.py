"""Worker processes forked from the one that needs them, whatever start method it was given."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
from collections.abc import Callable


def worker_pool(
    max_workers: int, initializer: Callable[[], object] | None = None
) -> concurrent.futures.ProcessPoolExecutor:
    """A process pool whose workers are forked from this process, so they start with its imports done and its
    state (the forecast's warmed-up families, ingest's prepared arguments) rather than importing the caller's
    `__main__` again.

    The start method is asked for explicitly because the process default is not this code's to rely on: an
    Airflow task runs in a process whose default is the scheduler's `forkserver` (`daybreak.platform.task_imports`),
    whose server would start the workers by running the task's `__main__` (Airflow's command line) again, and
    Python 3.14 makes `forkserver` the default everywhere. Where fork does not exist (Windows), the platform's
    default is used.
    """
    context = (
        multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
    )
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=max_workers, mp_context=context, initializer=initializer
    )
