"""When the nightly DAG runs: the business days the dataset's exports cover, one run per day.

Daybreak's unit of work is a business day's export in `landing/<dataset>/<YYYY-MM-DD>/`. The nightly DAG's
schedule is bounded by what has landed: its `start_date` is the first landed day and its `end_date` two days past
the last one (`dag_end`), re-read each time Airflow parses the DAG. A production source that keeps landing exports
keeps moving the end forward, so its nightly runs go on (a run whose export is late fails at `ingest` at once, and
alerts); a source whose data ended in the past (the demo's synthetic shop ends on 2024-12-31) gets no run when the
DAG is unpaused, instead of a run for today that can only fail. The cadence is daily because exports are: a closed day's run ingests
its empty (or missing) export and scores nothing new. A run for a day outside the landed range (a manual trigger,
`airflow dags test` for such a date) fails at its first task, saying so. Before anything has landed the DAG has
no dates: a run then fails the same way ("no export has landed yet").

Airflow creates a run whose logical date lies after the DAG's `end_date` with no task at all, and such a run ends
`success` having done nothing. A manual run or `airflow dags test` for business day D has logical date D+1, so the
DAG's `end_date` is the last landed day plus two days: the run for the day after the data still reaches `ingest` and
fails there with the message, while a catch-up-free schedule whose data ended in the past still starts nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from pathlib import Path

from daybreak.core.failures import PermanentError
from daybreak.core.settings import Settings, unchecked_settings

log = logging.getLogger(__name__)


def landed_days(landing_dir: Path) -> list[dt.date]:
    """Business days with a landing folder, in order."""
    if not landing_dir.is_dir():
        return []
    days = []
    for folder in landing_dir.iterdir():
        try:
            days.append(dt.date.fromisoformat(folder.name))
        except ValueError:
            continue
    return sorted(days)


class OutsideDataError(PermanentError, ValueError):
    """A run was asked for a business day the dataset's exports do not cover."""

    remedy = (
        "run nights only for business days whose export has landed (backfill within the landed range), or land "
        "the day's export first; then clear the task"
    )


class PreviousNightFailed(PermanentError, RuntimeError):
    """The night before this one failed: this night would build on a state that night never wrote."""

    remedy = "clear the failed night so that it reruns (or mark it successful), then clear this task"


def previous_night_finished(previous) -> bool:
    """May tonight start? Given the DAG run before it by logical date (Airflow's `get_previous_dagrun`: a
    scheduled run, a backfill's, or a manual one), or None when there is none.

    A night builds on the one before: its marts, the registry's champions as of D - 1, the forecasts its health
    scores. Airflow limits concurrent runs per kind only (a backfill's runs apart from scheduled and manual ones), so
    a scheduled night may be queued while a backfill still works through the days before it; every task takes the
    one writer slot, but a slot does not order nights. So the first task waits until the run before has finished.

    Raises:
        PreviousNightFailed: the run before failed: rerun (clear) it, or mark it successful, first.
    """
    if previous is None or previous.state == "success":
        return True
    if previous.state == "failed":
        raise PreviousNightFailed(
            f"the run before this one ({previous.run_id}, data interval from {previous.data_interval_start}) "
            "failed; clear it so it reruns, or mark it successful, before this night can start"
        )
    return False


@dataclasses.dataclass(frozen=True)
class Bounds:
    """The first and last business day with a landed export."""

    first: dt.date
    last: dt.date

    def check(self, business_date: dt.date) -> None:
        """Raise `OutsideDataError` unless `business_date` lies within the landed days."""
        if not self.first <= business_date <= self.last:
            raise OutsideDataError(
                f"business date {business_date} is outside the dataset's data: exports have landed for "
                f"{self.first}..{self.last}. A run processes the day its data interval starts on (a manual run "
                f"at time T processes the day before T); backfill dates within that range."
            )


def landed_bounds(settings: Settings) -> Bounds | None:
    """The landed range of the settings' dataset, or None before any export has landed."""
    days = landed_days(settings.landing_dir)
    return Bounds(days[0], days[-1]) if days else None


def dag_bounds() -> Bounds | None:
    """`landed_bounds` for the DAG file at parse time, from the unchecked settings (the tasks check the dataset
    and the engine when they run); logs `schedule_note` in the dag-processor's log."""
    bounds = landed_bounds(unchecked_settings())
    log.info("%s", schedule_note(bounds))
    return bounds


def dag_end(bounds: Bounds) -> dt.date:
    """The DAG's `end_date` for these bounds (see the module's docstring for the two days)."""
    return bounds.last + dt.timedelta(days=2)


def schedule_note(bounds: Bounds | None) -> str:
    """One line for an operator who unpaused the DAG and sees no run: which nights the schedule runs and why no
    later one starts. The DAG's doc, the dag-processor's log and `daybreak status` say it."""
    if bounds is None:
        return (
            "No export has landed yet, so the schedule has no dates and unpausing starts no run: land exports "
            "(or run `daybreak simulate`) first."
        )
    return (
        f"Exports have landed for {bounds.first}..{bounds.last}: the schedule runs those business days and ends "
        f"on {dag_end(bounds)}, two days after the last export, so no later run is scheduled (by design: a night "
        "needs its export). Backfill landed days to run them; a newly landed export moves the end."
    )


def status(settings: Settings) -> dict:
    """`daybreak status`: what the schedule covers for the settings' dataset, and why no later run is scheduled."""
    bounds = landed_bounds(settings)
    return {
        "dataset": settings.dataset_name,
        "landing": str(settings.landing_dir),
        "landed": f"{bounds.first}..{bounds.last}" if bounds else None,
        "days_landed": len(landed_days(settings.landing_dir)),
        "schedule_ends": dag_end(bounds).isoformat() if bounds else None,
        "note": schedule_note(bounds),
    }


def check_business_date(business_date: dt.date, settings: Settings) -> None:
    """Fail clearly when a run is for a day outside the landed data (none landed: every day is outside)."""
    bounds = landed_bounds(settings)
    if bounds is None:
        raise OutsideDataError(
            f"business date {business_date}: no export has landed yet in {settings.landing_dir}"
        )
    bounds.check(business_date)
