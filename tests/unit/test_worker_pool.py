"""Worker pools fork from their caller whatever the process's default start method (daybreak.core.worker_pool)."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from daybreak.core.worker_pool import worker_pool

STATE = {"set_by": "import"}


def _seen(_: int) -> tuple[str, int]:
    return STATE["set_by"], os.getppid()


@pytest.fixture
def forkserver_default():
    """The process default an Airflow task inherits from the scheduler (and Python 3.14's)."""
    before = multiprocessing.get_start_method(allow_none=True)
    multiprocessing.set_start_method("forkserver", force=True)
    yield
    multiprocessing.set_start_method(before, force=True)


def test_workers_start_from_this_process_with_its_state(forkserver_default, monkeypatch):
    monkeypatch.setitem(STATE, "set_by", "the caller")

    with worker_pool(2) as pool:
        seen = list(pool.map(_seen, range(4)))

    assert seen == [("the caller", os.getpid())] * 4
