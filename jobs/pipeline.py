"""The nightly sequence and the bulk history load, without Airflow.

`run_night` is what the DAG does, step for step, for a terminal or a test. `load_history` is the initial load: it
ingests every landed day up to a date through the same ingest job, builds the marts once with a full refresh, and
scores that date, instead of replaying hundreds of nightly runs.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable

from daybreak.core.settings import Settings, get_settings
from daybreak.platform import schedule

log = logging.getLogger(__name__)

STEPS = ("ingest", "privacy", "transform", "drift", "forecast", "segment", "customer_value", "publish")
"""privacy (erasures, retention) runs before the marts are built; drift (the monitoring) runs before the models:
its retrain decisions are theirs to act on."""


def step_function(name: str) -> Callable[..., dict]:
    """The `run` function of job `name`, imported only when needed (heavy libraries load lazily)."""
    import importlib

    return importlib.import_module(f"jobs.{name}").run


def landed_days(settings: Settings) -> list[dt.date]:
    """Business days with a landing folder, in order (`daybreak.platform.schedule.landed_days`)."""
    return schedule.landed_days(settings.landing_dir)


def run_night(
    business_date: dt.date, run_id: str | None = None, settings: Settings | None = None
) -> dict[str, dict]:
    """Run every step of the nightly pipeline for one business date, in order; returns each step's summary."""
    settings = settings or get_settings()
    run_id = run_id or f"cli__{business_date.isoformat()}"
    log.info("%s", schedule.schedule_note(schedule.landed_bounds(settings)))
    results = {}
    for name in STEPS:
        started = time.perf_counter()
        results[name] = step_function(name)(business_date, run_id, settings)
        results[name]["seconds"] = round(time.perf_counter() - started, 2)
        log.info("%s %s done in %.1f s", name, business_date, results[name]["seconds"])
    return results


def load_history(
    until: dt.date, settings: Settings | None = None, run_id: str | None = None
) -> dict[str, dict]:
    """Initial load: ingest every landed day up to `until`, apply the privacy step as of `until`, full-refresh
    the marts, score `until`, publish.

    Raises:
        DatasetConfigError: the dataset's config is refused (checked before anything else).
        OutsideDataError: nothing has landed up to `until`.
    """
    settings = settings or get_settings()
    run_id = run_id or f"history__{until.isoformat()}"
    # here, not at the top: the command line imports this module for STEPS, and the schema costs seconds to import
    from daybreak.datasets import load_dataset_config

    load_dataset_config(settings.dataset)  # a broken config (a `name:` other than its file's) says so first
    days = [day for day in landed_days(settings) if day <= until]
    if not days:
        raise schedule.OutsideDataError(
            f"nothing landed in {settings.landing_dir} up to {until}; land exports there or run `daybreak simulate`"
        )
    from jobs import ingest, privacy, transform

    timings: dict[str, dict] = {}
    started = time.perf_counter()
    rows = sum(summary["rows_loaded"] for summary in ingest.run_days(days, run_id, settings))
    timings["ingest"] = {
        "days": len(days),
        "rows_loaded": rows,
        "seconds": round(time.perf_counter() - started, 2),
    }
    started = time.perf_counter()
    timings["privacy"] = privacy.run(until, run_id, settings)
    timings["privacy"]["seconds"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    timings["transform"] = transform.run(until, run_id, settings, full_refresh=True)
    timings["transform"]["seconds"] = round(time.perf_counter() - started, 2)
    for name in STEPS[STEPS.index("transform") + 1 :]:
        started = time.perf_counter()
        timings[name] = step_function(name)(until, run_id, settings)
        timings[name]["seconds"] = round(time.perf_counter() - started, 2)
    return timings
