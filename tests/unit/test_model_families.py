"""A model family added from one file and one registry line competes in a forecast night like the shipped ones.

Given the toy family of `toy_family.py` registered by name (the registry line, here a monkeypatch) and a dataset
config whose candidates name it, when forecast nights run on a small warehouse (three flat, noisy daily series,
where a recent mean beats the seasonal naive's repeated noise), then it is backtested beside the baseline, wins,
is registered and promoted as champion with its concrete spec, and the next night scores from its stored fit
without fitting. Its parameters are checked like any family's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from daybreak.core.settings import Settings
from daybreak.datasets import load_dataset_config, parse_candidates
from daybreak.datasets.calendar import BusinessCalendar
from daybreak.models.forecasting import registry
from daybreak.models.forecasting.spec import CandidateError
from daybreak.warehouse.connection import connect
from jobs import forecast
from tests.unit.toy_family import RecentMean

SUNDAY, MONDAY = dt.date(2024, 3, 31), dt.date(2024, 4, 1)
SERIES = ("location=France", "location=Germany", "total")


@pytest.fixture
def toy(monkeypatch):
    """The toy family registered: what its one line in `registry.FAMILIES` does."""
    family = RecentMean()
    monkeypatch.setitem(registry.FAMILIES, family.name, family)
    return family


@pytest.fixture
def settings(tmp_path, toy, monkeypatch) -> Settings:
    """A warehouse with the three series' daily mart and the calendar, and the synthetic config competing the
    baseline against the toy family."""
    settings = Settings(home=tmp_path / "home", dataset="synthetic")
    base = load_dataset_config("synthetic")
    section = dataclasses.replace(
        base.forecasting,
        candidates=parse_candidates(["seasonal_naive", {"model": toy.name, "window": 28}]),
        ensemble_top=0,
    )
    monkeypatch.setattr(
        "jobs.forecast.load_dataset_config", lambda name: dataclasses.replace(base, forecasting=section)
    )
    rng = np.random.default_rng(3)
    days = pd.date_range("2024-01-01", MONDAY, freq="D")
    daily = pd.concat(
        [
            pd.DataFrame(
                {
                    "series_id": s,
                    "sales_date": days.date,
                    "revenue": 200 + 50 * i + rng.normal(0, 20, len(days)),
                }
            )
            for i, s in enumerate(SERIES)
        ],
        ignore_index=True,
    ).assign(units=lambda f: (f["revenue"] / 10).round())
    calendar = BusinessCalendar.from_config(base).frame(days[0].date(), MONDAY + dt.timedelta(days=90))
    with connect(settings.warehouse_path) as connection:
        connection.execute("create schema marts")
        connection.register("_daily", daily)
        connection.register("_calendar", calendar)
        connection.execute(
            "create table marts.features_series_daily as "
            "select series_id, sales_date::date as sales_date, units::double as units, revenue::double as revenue "
            "from _daily"
        )
        connection.execute("create table marts.dim_calendar as select * from _calendar")
    return settings


def _rows(settings: Settings, sql: str) -> pd.DataFrame:
    with connect(settings.warehouse_path, read_only=True) as connection:
        return connection.execute(sql).df()


def test_a_registered_family_competes_wins_and_scores_a_night_from_its_stored_fit(settings, toy):
    sunday = forecast.run(SUNDAY, "sunday", settings)

    backtests = _rows(settings, "select * from predictions.backtest_metrics")
    assert set(backtests["candidate"]) == {"seasonal_naive", "recent_mean(window=28)"}
    selection = _rows(settings, "select * from predictions.forecast_selection")
    assert (selection["challenger"] == "recent_mean(window=28)").all(), "the mean beats repeated noise"
    assert sunday["promoted"] == 3 and sunday["models"] == {"recent_mean(window=28)": 3}
    versions = _rows(
        settings, "select model_name, params from registry.model_versions where status = 'champion'"
    )
    assert (versions["model_name"] == toy.name).all() and len(versions) == 3

    def fits_nothing(*args, **kwargs):
        raise AssertionError("a normal night scores the stored fit")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(RecentMean, "fit", fits_nothing)
        monday = forecast.run(MONDAY, "monday", settings)

    assert monday["retrained"] == 0 and monday["fallbacks"] == 0
    forecasts = _rows(settings, "select as_of_date, series_id, model, yhat_base from predictions.forecasts")
    assert (forecasts["model"] == toy.name).all()
    level = forecasts.groupby(["as_of_date", "series_id"])["yhat_base"].agg(["min", "max"])
    assert (level["min"] == level["max"]).all(), "one level over the horizon"
    by_night = level["min"].unstack("as_of_date")
    np.testing.assert_allclose(by_night.iloc[:, 1], by_night.iloc[:, 0])  # Monday: Sunday's stored level


def test_its_parameters_are_checked_like_any_familys(toy):
    assert registry.spec(toy.name, window=7).label == "recent_mean(window=7)"
    with pytest.raises(CandidateError, match="does not take"):
        registry.spec(toy.name, season_length=7)
    with pytest.raises(CandidateError, match="at least 1"):
        registry.spec(toy.name, window=0)
    assert toy.name in str(pytest.raises(CandidateError, registry.spec, "lstm").value)
