"""Many series at once: the global fits first, then every series' `run_series`, in a loop, in worker processes,
or wherever the caller's `map_series` sends them (Spark's executors)."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable

from daybreak.core.worker_pool import worker_pool
from daybreak.models.forecasting import registry
from daybreak.models.forecasting.panel import with_panel_forecasts
from daybreak.models.forecasting.series import run_series
from daybreak.models.forecasting.tasks import SeriesResult, SeriesTask

SEQUENTIAL_MAX_SERIES = 4
"""Up to this many series run in a loop: starting worker processes costs more than it saves."""


def run_all(
    tasks: list[SeriesTask],
    *,
    max_workers: int | None = None,
    map_series: Callable[[list[SeriesTask]], list[SeriesResult]] | None = None,
) -> list[SeriesResult]:
    """`run_series` over many series, in worker processes when there are more than a handful.

    The global candidates are fitted first, across all series (`panel.with_panel_forecasts`); then each series is
    independent, so the results do not depend on how the work is split; they come back in the tasks' order.

    Args:
        max_workers: worker processes, for the global fits and (without `map_series`) the series.
        map_series: runs `run_series` over the tasks elsewhere and returns the results in the tasks' order (the
            Spark engine's executors, `daybreak.nights.spark_models.map_series`); None: here, in worker processes.
    """
    if not tasks:
        return []
    tasks = with_panel_forecasts(tasks, max_workers=max_workers)
    if map_series is not None:
        return map_series(tasks)
    workers = min(max_workers or os.cpu_count() or 1, len(tasks))
    if len(tasks) <= SEQUENTIAL_MAX_SERIES or workers < 2:
        return [run_series(task) for task in tasks]
    _warm_up()  # forked workers inherit the imports instead of each paying
    with worker_pool(workers, initializer=_warm_up) as pool:
        return list(pool.map(run_series, tasks, chunksize=1))


def _warm_up() -> None:
    """Import the families' heavy libraries (`Family.preload`) once per process rather than per series.

    Importing cmdstanpy here also makes forked workers share the parent's temporary folder for Stan's files,
    which the parent removes when it exits; workers end without running exit handlers and would leave theirs.
    """
    for family in registry.FAMILIES.values():
        for module in family.preload:
            importlib.import_module(
                module
            )  # by name: the registry's families say what is worth loading early
