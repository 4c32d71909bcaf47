"""The nightly schedule follows the landed exports, and a run outside them fails saying so."""

from __future__ import annotations

import datetime as dt

import pytest

from daybreak.core.settings import Settings
from daybreak.platform.schedule import (
    Bounds,
    OutsideDataError,
    check_business_date,
    landed_bounds,
    landed_days,
)


def land(settings: Settings, *days: str) -> None:
    for day in days:
        (settings.landing_dir / day).mkdir(parents=True)


def test_landed_days_ignore_other_folders(tmp_path):
    settings = Settings(home=tmp_path)
    land(settings, "2024-03-02", "2024-03-01", "notes")
    assert landed_days(settings.landing_dir) == [dt.date(2024, 3, 1), dt.date(2024, 3, 2)]
    assert landed_bounds(settings) == Bounds(dt.date(2024, 3, 1), dt.date(2024, 3, 2))


def test_nothing_landed_means_no_bounds_and_every_day_is_outside(tmp_path):
    settings = Settings(home=tmp_path)
    assert landed_bounds(settings) is None
    with pytest.raises(OutsideDataError, match="no export has landed yet"):
        check_business_date(dt.date(2024, 3, 1), settings)


@pytest.mark.parametrize("day", ["2024-02-29", "2026-11-28"])
def test_a_day_outside_the_landed_range_fails_with_the_range(tmp_path, day):
    settings = Settings(home=tmp_path)
    land(settings, "2024-03-01", "2024-03-31")
    with pytest.raises(
        OutsideDataError, match=r"outside the dataset's data: exports have landed for 2024-03-01"
    ):
        check_business_date(dt.date.fromisoformat(day), settings)
    check_business_date(dt.date(2024, 3, 31), settings)


def test_a_night_starts_once_the_run_before_it_has_succeeded_and_never_after_a_failed_one():
    from types import SimpleNamespace

    from daybreak.platform.schedule import PreviousNightFailed, previous_night_finished

    def run(state: str) -> SimpleNamespace:
        return SimpleNamespace(state=state, run_id="backfill__2024-02-28", data_interval_start="2024-02-28")

    assert previous_night_finished(None)  # the first night Airflow knows of
    assert previous_night_finished(run("success"))
    assert not previous_night_finished(run("running"))
    assert not previous_night_finished(run("queued"))
    with pytest.raises(PreviousNightFailed, match="backfill__2024-02-28.*clear it"):
        previous_night_finished(run("failed"))
