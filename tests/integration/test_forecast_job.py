"""The forecast job against a real DuckDB warehouse and registry, with real model fits.

Given a daily sales mart of three series, nights are run for consecutive business dates with the dataset config's
forecasting section swapped per test (weekly retraining on Sundays, a deliberately weak candidate set, ...). Then:
two nights leave two versions; a rerun reproduces every prediction and registry table exactly; a weak challenger
is not promoted; a rollback makes the next night score with the previous champion; past forecasts are scored
against the actuals as they land, beside the seasonal naive (the dbt view `forecast_accuracy`); a closed day
is forecast as zero and no bound of the revenue target is below zero. A weekly dataset whose weeks end on Friday is
forecast in Friday weeks only on the nights that close one (nothing due, and nothing written, on the others), and
scored by dbt against its Saturday-to-Friday sales; an hourly dataset forecasts its next 48 hours, coherently, with
MSTL on 24 and 168 hours.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from daybreak.core.settings import Settings
from daybreak.datasets import load_dataset_config, parse_candidates
from daybreak.datasets.calendar import BusinessCalendar
from daybreak.nights import references
from daybreak.warehouse import registry
from daybreak.warehouse.connection import connect, table_checksums

pytestmark = pytest.mark.integration

FIRST_DAY = dt.date(2024, 1, 1)
SATURDAY, SUNDAY = dt.date(2024, 3, 30), dt.date(2024, 3, 31)
MONDAY, TUESDAY = dt.date(2024, 4, 1), dt.date(2024, 4, 2)
SERIES = ("location=France", "location=Germany", "total")
TABLES = (
    "predictions.forecasts",
    "predictions.forecast_components",
    "predictions.backtest_metrics",
    "predictions.forecast_selection",
    "predictions.forecast_reconciliation",
    "registry.model_versions",
    "registry.model_events",
)


@pytest.fixture()
def settings(tmp_path) -> Settings:
    return _warehouse(tmp_path, FIRST_DAY)


def _warehouse(tmp_path, first_day: dt.date) -> Settings:
    """A warehouse with the three series' daily marts from `first_day` to TUESDAY, and the calendar."""
    settings = Settings(home=tmp_path / "home", dataset="synthetic")
    rng = np.random.default_rng(5)
    days = pd.date_range(first_day, TUESDAY, freq="D")
    t = np.arange(len(days))
    frames = []
    for i, series_id in enumerate(SERIES):
        revenue = 200 + 40 * i + 60 * np.sin(2 * np.pi * t / 7) + 0.5 * t + rng.normal(0, 6, len(days))
        frames.append(pd.DataFrame({"series_id": series_id, "sales_date": days.date, "revenue": revenue}))
    daily = pd.concat(frames, ignore_index=True).assign(units=lambda f: (f["revenue"] / 10).round())
    calendar = BusinessCalendar.from_config(load_dataset_config("synthetic")).frame(
        first_day, TUESDAY + dt.timedelta(days=90)
    )
    with connect(settings.warehouse_path) as connection:
        connection.execute("create schema marts")
        connection.register("_daily", daily)
        connection.register("_calendar", calendar)
        connection.execute(
            "create table marts.fct_daily_sales as select series_id, null::varchar as location, "
            "null::varchar as product_id, sales_date::date as sales_date, units::double as units, "
            "revenue::double as revenue, 1::bigint as lines, 1::bigint as orders from _daily"
        )
        connection.execute(
            "create table marts.features_series_daily as select series_id, sales_date, units, revenue "
            "from marts.fct_daily_sales"
        )
        connection.execute("create table marts.dim_calendar as select * from _calendar")
    return settings


def _build_prediction_views(settings: Settings, night: dt.date) -> None:
    """dbt builds the views over the predictions (as the nightly transform does), the marts being in place."""
    from jobs.transform import dbt_vars, invoke_dbt

    selection = ["stg_predictions__forecasts", "forecasts_latest", "forecast_accuracy"]
    variables = json.dumps(dbt_vars(load_dataset_config("synthetic")))
    invoke_dbt(settings, ["run", "--select", *selection, "--vars", variables], night)


@pytest.fixture()
def forecasting(monkeypatch):
    """Swap the synthetic dataset's forecasting section: `forecasting(candidates=[...], ...)`."""
    base = load_dataset_config("synthetic")

    def use(candidates=("seasonal_naive", "auto_ets"), **changes):
        section = dataclasses.replace(
            base.forecasting, candidates=parse_candidates(list(candidates)), ensemble_top=0, **changes
        )
        config = dataclasses.replace(base, forecasting=section)
        monkeypatch.setattr("jobs.forecast.load_dataset_config", lambda name: config)
        return config

    return use


def _night(day: dt.date, settings: Settings, run_id: str | None = None, **kwargs) -> dict:
    from jobs import forecast

    return forecast.run(day, run_id or f"run-{day}", settings, **kwargs)


def _rows(settings: Settings, sql: str, params=()) -> pd.DataFrame:
    with connect(settings.warehouse_path, read_only=True) as connection:
        return connection.execute(sql, list(params)).df()


def _checksums(settings: Settings) -> dict:
    with connect(settings.warehouse_path, read_only=True) as connection:
        sums = table_checksums(connection)
    return {table: sums[table] for table in TABLES if table in sums}


def test_two_nights_two_versions_and_a_rerun_reproduces_every_table(settings, forecasting):
    forecasting()
    first = _night(SUNDAY, settings)  # a Sunday: retraining night (and no champion yet)
    second = _night(MONDAY, settings)  # champion refit

    assert first["retrained"] == 3 and first["promoted"] == 3
    assert second["retrained"] == 0 and second["promoted"] == 0
    versions = _rows(
        settings,
        "select as_of_date, count(distinct series_id) as series, count(*) as n, min(target_date) as first, "
        "min(model_version) as version from predictions.forecasts group by 1 order by 1",
    )
    assert versions["as_of_date"].dt.date.tolist() == [SUNDAY, MONDAY]
    assert versions["n"].tolist() == [3 * 28, 3 * 28]
    assert versions["first"].dt.date.tolist() == [
        SUNDAY + dt.timedelta(days=1),
        MONDAY + dt.timedelta(days=1),
    ]
    # Monday scored with the champion trained on Sunday
    assert versions["version"].tolist() == [SUNDAY.isoformat(), SUNDAY.isoformat()]
    _build_prediction_views(settings, MONDAY)
    latest = _rows(settings, "select distinct as_of_date from predictions.forecasts_latest")
    assert latest["as_of_date"].dt.date.tolist() == [MONDAY]

    backtests = _rows(settings, "select * from predictions.backtest_metrics")
    assert set(backtests["as_of_date"].dt.date) == {SUNDAY}
    assert set(backtests["series_id"]) == set(SERIES)
    assert {"seasonal_naive", "auto_ets"} <= set(backtests["candidate"])
    assert backtests[["mase", "smape", "rmse", "bias", "coverage_80", "coverage_95"]].notna().all().all()
    assert backtests.groupby("series_id")["selected"].sum().eq(3).all(), (
        "one winner per series, on every fold"
    )

    # the forecast made on Sunday for Monday is scored on Monday, beside the seasonal naive
    accuracy = _rows(
        settings,
        "select * from predictions.forecast_accuracy where scored_on = ? order by series_id",
        [MONDAY],
    )
    assert set(accuracy["scored_on"].dt.date) == {MONDAY}
    assert accuracy["as_of_date"].dt.date.tolist() == [SUNDAY] * 3
    assert accuracy["horizon_step"].tolist() == [1, 1, 1]
    actual = _rows(
        settings,
        "select series_id, revenue from marts.fct_daily_sales where sales_date = ? order by 1",
        [MONDAY],
    )
    np.testing.assert_allclose(accuracy["actual"], actual["revenue"])
    week_before = _rows(
        settings,
        "select series_id, revenue from marts.fct_daily_sales where sales_date = ? order by 1",
        [MONDAY - dt.timedelta(days=7)],
    )
    np.testing.assert_allclose(accuracy["naive_yhat"], week_before["revenue"])
    np.testing.assert_allclose(accuracy["abs_error"], (accuracy["yhat"] - accuracy["actual"]).abs())

    # rerunning either night under another run id changes nothing but the run ids
    before = _checksums(settings)
    _night(SUNDAY, settings, run_id="rerun-a")
    _night(MONDAY, settings, run_id="rerun-b")
    assert _checksums(settings) == before


def test_a_normal_night_scores_the_prophet_champions_from_their_stored_fits(
    settings, forecasting, monkeypatch
):
    from cmdstanpy import CmdStanModel

    forecasting(candidates=["seasonal_naive", {"model": "prophet"}])
    _night(SUNDAY, settings)
    query = "select * exclude (run_id) from predictions.forecasts where as_of_date = ? order by all"
    sunday = _rows(settings, query, [SUNDAY])
    prophet = set(sunday.loc[sunday["model"] == "prophet", "series_id"])
    assert prophet  # the synthetic series' weekly pattern and trend: Prophet wins some

    def no_stan(*args, **kwargs):
        raise AssertionError("a normal night fitted Prophet")

    monkeypatch.setattr(CmdStanModel, "optimize", no_stan)
    _night(MONDAY, settings)
    monday = _rows(settings, query, [MONDAY])
    _night(MONDAY, settings, run_id="rerun")

    selection = _rows(settings, "select * from predictions.forecast_selection where as_of_date = ?", [MONDAY])
    assert selection["fallback_reason"].isna().all()  # a refit would have failed and fallen back
    assert set(monday.loc[monday["model"] == "prophet", "series_id"]) == prophet
    pd.testing.assert_frame_equal(_rows(settings, query, [MONDAY]), monday)


def test_the_global_candidate_competes_in_the_night_and_serves_as_champion(tmp_path, forecasting):
    # given eight months of history: the global model needs 147 days at the oldest of the 3 folds
    settings = _warehouse(tmp_path, dt.date(2023, 8, 1))
    forecasting(candidates=["seasonal_naive", {"model": "global_lgbm", "learning_rate": 0.1}])

    # when a retraining night and a normal night run
    sunday = _night(SUNDAY, settings)
    monday = _night(MONDAY, settings)

    # then the global model is backtested on every series' folds and, where it wins, serves the next night
    backtests = _rows(settings, "select * from predictions.backtest_metrics where model = 'global_lgbm'")
    assert set(backtests["series_id"]) == set(SERIES)
    assert backtests.groupby("series_id")["fold"].nunique().eq(3).all()
    naive = _rows(settings, "select * from predictions.backtest_metrics where model = 'seasonal_naive'")
    assert sorted(backtests["cutoff"].unique()) == sorted(naive["cutoff"].unique()), "the same folds"
    assert sunday["models"].get("global_lgbm(learning_rate=0.1)", 0) >= 1, sunday["models"]
    assert sunday["fallbacks"] == 0
    assert monday["models"] == sunday["models"] and monday["fallbacks"] == 0
    forecasts = _rows(
        settings,
        "select * from predictions.forecasts where as_of_date = ? and model = 'global_lgbm'",
        [MONDAY],
    )
    assert (forecasts["yhat_lower_95"] <= forecasts["yhat_lower_80"]).all()
    assert (forecasts["yhat_upper_80"] <= forecasts["yhat_upper_95"]).all()


def test_a_weak_challenger_is_not_promoted(settings, forecasting):
    forecasting(candidates=["auto_ets"])
    _night(SATURDAY, settings)  # first night: auto_ets (or the baseline, if it did better) becomes champion
    champion = _rows(settings, "select model_name from registry.model_versions where status = 'champion'")
    assert set(champion["model_name"]) == {"auto_ets"}, "the weekly pattern is learnt, not repeated"

    # a retraining night whose only candidate is the seasonal naive: a deliberately weak challenger
    forecasting(candidates=["seasonal_naive"])
    summary = _night(SUNDAY, settings)

    assert summary["retrained"] == 3 and summary["promoted"] == 0 and summary["rejected"] == 3
    selection = _rows(settings, "select * from predictions.forecast_selection where as_of_date = ?", [SUNDAY])
    assert (selection["challenger"] == "seasonal_naive").all()
    assert (selection["champion_score"] < selection["challenger_score"]).all()
    assert selection["decision_reason"].str.contains("does not beat").all()
    forecasts = _rows(
        settings,
        "select distinct model, model_version from predictions.forecasts where as_of_date = ?",
        [SUNDAY],
    )
    assert forecasts.values.tolist() == [["auto_ets", SATURDAY.isoformat()]]
    events = _rows(
        settings,
        "select action, count(*) as n from registry.model_events where version = ? group by 1",
        [SUNDAY.isoformat()],
    )
    assert dict(events.values.tolist()) == {"register": 3, "reject": 3}


def test_rollback_restores_the_previous_champions_scoring(settings, forecasting, act_as):
    from jobs.cli import main

    forecasting(candidates=["seasonal_naive"])
    _night(SATURDAY, settings)  # champion v1: the seasonal naive
    forecasting(candidates=["seasonal_naive", "auto_ets"])
    _night(SUNDAY, settings)  # retraining night: auto_ets beats it, v2 promoted
    sunday = _rows(
        settings,
        "select distinct model, model_version from predictions.forecasts where as_of_date = ?",
        [SUNDAY],
    )
    assert sunday.values.tolist() == [["auto_ets", SUNDAY.isoformat()]]

    # an engineer (an admin: the registry permission) rolls the total back, with an audit row naming them
    act_as("admin")
    assert (
        main(
            [
                "--home",
                str(settings.home),
                "--dataset",
                "synthetic",
                "models",
                "rollback",
                "--kind",
                "forecast",
                "--model-id",
                "total",
            ]
        )
        == 0
    )
    _night(MONDAY, settings)

    monday = _rows(
        settings,
        "select series_id, any_value(model) as model, any_value(model_version) as version from predictions.forecasts "
        "where as_of_date = ? group by 1 order by 1",
        [MONDAY],
    )
    assert monday.set_index("series_id").loc["total"].tolist() == ["seasonal_naive", SATURDAY.isoformat()]
    assert monday.set_index("series_id").loc["location=France"].tolist() == ["auto_ets", SUNDAY.isoformat()]
    with connect(settings.warehouse_path, read_only=True) as connection:
        events = registry.list_events(connection, "forecast", "total")
    last = events.iloc[-2:]
    assert last["action"].tolist() == ["rollback", "rollback"]
    assert last["logical_date"].dt.date.tolist() == [SUNDAY, SUNDAY], "recorded for the last night scored"
    assert last["actor"].iloc[0] == "ada"  # the acting user (DAYBREAK_USER), not the pipeline
    # Sunday itself still reproduces: a rerun reads the champions going into Sunday
    before = _rows(
        settings,
        "select * exclude (run_id) from predictions.forecasts where as_of_date = ? order by all",
        [SUNDAY],
    )
    _night(SUNDAY, settings, run_id="rerun")
    after = _rows(
        settings,
        "select * exclude (run_id) from predictions.forecasts where as_of_date = ? order by all",
        [SUNDAY],
    )
    pd.testing.assert_frame_equal(before, after)


def test_on_demand_retrain_and_components(settings, forecasting):
    forecasting(candidates=["seasonal_naive", {"model": "prophet"}], retrain="monthly")
    _night(SATURDAY, settings)
    monday = _night(MONDAY, settings)  # the 1st of April: monthly schedule retrains
    tuesday = _night(TUESDAY, settings, retrain=True)  # on demand

    assert monday["retrained"] == 3 and tuesday["retrained"] == 3
    components = _rows(
        settings, "select * from predictions.forecast_components where as_of_date = ?", [TUESDAY]
    )
    prophet_series = _rows(
        settings,
        "select distinct series_id from predictions.forecasts where as_of_date = ? and model = 'prophet'",
        [TUESDAY],
    )
    assert set(prophet_series["series_id"]) <= set(components["series_id"])
    if len(prophet_series):
        assert {"trend", "weekly"} <= set(components["component"])
        assert components.groupby(["series_id", "component"]).size().eq(28).all()
    # a rerun of the on-demand night without the flag still retrains: the registry shows tonight's version
    again = _night(TUESDAY, settings, run_id="rerun")
    assert again["retrained"] == 3


def test_closed_days_are_zero_and_no_bound_is_below_zero(settings, forecasting):
    config = forecasting(candidates=["seasonal_naive", "auto_ets"])
    christmas_closed = dataclasses.replace(config.calendar, closed_annual=("04-10",), closed_weekdays=(5,))
    closed = dataclasses.replace(config, calendar=christmas_closed)
    frame = BusinessCalendar.from_config(closed).frame(FIRST_DAY, TUESDAY + dt.timedelta(days=90))
    with connect(settings.warehouse_path) as connection:
        connection.register("_calendar", frame)
        connection.execute("create or replace table marts.dim_calendar as select * from _calendar")

    _night(SUNDAY, settings)

    forecasts = _rows(settings, "select * from predictions.forecasts where as_of_date = ?", [SUNDAY])
    days = forecasts["target_date"].dt.date
    shut = (forecasts["target_date"].dt.weekday == 5) | (days == dt.date(2024, 4, 10))
    bands = ["yhat", "yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95"]
    assert shut.sum() == 3 * 5
    assert (forecasts.loc[shut, bands] == 0).all().all()
    assert (forecasts.loc[~shut, "yhat"] > 0).all()
    assert (forecasts[bands] >= 0).all().all()


def _parent_gaps(settings: Settings, night: dt.date, column: str) -> pd.Series:
    """Per target date, the total's `column` minus the sum of its locations' (the hierarchy's one parent)."""
    forecasts = _rows(settings, "select * from predictions.forecasts where as_of_date = ?", [night])
    wide = forecasts.pivot(index="target_date", columns="series_id", values=column)
    return wide["total"] - wide["location=France"] - wide["location=Germany"]


def test_every_night_publishes_coherent_forecasts_and_records_the_method(settings, forecasting):
    """The fixture's total is its own series (about 280 a day against locations summing to about 440), so the
    base forecasts are far from coherent; what is published must add up, on the retraining night, on the next
    night (reusing its method), and after a planner overrides one location."""
    from daybreak.models.hierarchy import METHODS
    from daybreak.nights import overrides

    forecasting()
    _night(SUNDAY, settings)  # retraining night: the method is chosen on the backtest
    overrides.add(
        settings,
        series_id="location=France",
        start_date=MONDAY + dt.timedelta(days=1),
        end_date=MONDAY + dt.timedelta(days=3),
        kind="value",
        amount=500.0,
        reason="a promotion",
        author="planner",
        now=dt.datetime(2024, 4, 1, 9),
        as_of_date=SUNDAY,
    )
    _night(MONDAY, settings)  # champions refit: the method in force is reused; the override applies

    for night in (SUNDAY, MONDAY):
        assert _parent_gaps(settings, night, "yhat").abs().max() < 0.01
        assert _parent_gaps(settings, night, "yhat_statistical").abs().max() < 0.01
    base_gap = _parent_gaps(settings, SUNDAY, "yhat_base").abs()
    assert base_gap.min() > 50, "the base forecasts were incoherent; reconciliation made them add up"

    choices = _rows(settings, "select * from predictions.forecast_reconciliation order by as_of_date, method")
    sunday = choices[choices["as_of_date"].dt.date == SUNDAY]
    assert set(sunday["method"]) == {*METHODS, "base"}
    assert sunday["score"].notna().all() and (sunday["folds"] == 3).all() and (sunday["series"] == 3).all()
    winner = sunday.loc[sunday["chosen"]]
    assert len(winner) == 1 and winner["method"].iloc[0] != "base"
    assert winner["score"].iloc[0] == sunday.loc[sunday["method"] != "base", "score"].min()
    monday = choices[choices["as_of_date"].dt.date == MONDAY]
    assert monday[["method", "score", "chosen"]].values.tolist() == [
        [winner["method"].iloc[0], winner["score"].iloc[0], True]
    ]
    assert monday["chosen_on"].dt.date.tolist() == [SUNDAY]

    forecasts = _rows(settings, "select * from predictions.forecasts where as_of_date = ?", [MONDAY])
    overridden = forecasts[forecasts["override_id"].notna()]
    assert set(overridden["series_id"]) == {"location=France"} and (overridden["yhat"] == 500).all()
    total = forecasts[forecasts["series_id"] == "total"].set_index("target_date")
    moved = total.loc[overridden["target_date"]]
    assert (moved["yhat"] != moved["yhat_statistical"]).all(), "the total follows its overridden location"
    bands = ["yhat_lower_95", "yhat_lower_80", "yhat", "yhat_upper_80", "yhat_upper_95"]
    assert (forecasts[bands].diff(axis=1).iloc[:, 1:] >= -1e-9).all().all(), "bounds still nest"
    if winner["method"].iloc[0] != "top_down_forecast_proportions":  # a coherent Gaussian's intervals
        widths = forecasts.assign(width=forecasts["yhat_upper_95"] - forecasts["yhat_lower_95"])
        width = widths.pivot(index="target_date", columns="series_id", values="width")
        assert (width["total"] <= width["location=France"] + width["location=Germany"] + 1e-6).all()


FRIDAY = 4


@pytest.fixture()
def weekly_on_fridays(monkeypatch):
    """The synthetic dataset as a retailer whose weeks end on Friday: weekly series, 13 weeks ahead."""
    base = load_dataset_config("synthetic")
    series = dataclasses.replace(base.series, frequency="weekly", week_ends_on=FRIDAY, horizon=13)
    section = dataclasses.replace(
        base.forecasting, candidates=parse_candidates(["seasonal_naive", "auto_ets"]), ensemble_top=0
    )
    config = dataclasses.replace(base, series=series, forecasting=section)
    monkeypatch.setattr("jobs.forecast.load_dataset_config", lambda name: config)
    return config


def test_a_weekly_dataset_forecasts_its_friday_weeks_only_on_the_night_that_closes_one(
    tmp_path, weekly_on_fridays
):
    from jobs.transform import dbt_vars, invoke_dbt

    settings = _warehouse(tmp_path, dt.date(2022, 7, 2))  # from a Saturday: whole W-FRI weeks
    previous_friday, thursday, friday = dt.date(2024, 3, 22), dt.date(2024, 3, 28), dt.date(2024, 3, 29)

    first = _night(previous_friday, settings)
    not_due = _night(thursday, settings)
    second = _night(friday, settings)
    written = _checksums(settings)
    rerun = _night(friday, settings, run_id="rerun")
    saturday = _night(SATURDAY, settings)

    assert first["due"] and first["retrained"] == 3 and first["frequency"] == "weekly"
    assert not_due == {
        "as_of_date": "2024-03-28",
        "due": False,
        "frequency": "weekly",
        "period_closes_on": "2024-03-29",
        "rows_written": 0,
        "series": 0,
    }
    assert not saturday["due"] and saturday["period_closes_on"] == "2024-04-05"
    assert second["rows_written"] == rerun["rows_written"] == 3 * 13
    forecasts = _rows(
        settings, "select * from predictions.forecasts order by as_of_date, series_id, target_date"
    )
    assert sorted(set(forecasts["as_of_date"].dt.date)) == [previous_friday, friday]
    assert forecasts["frequency"].eq("weekly").all()
    assert forecasts["target_date"].dt.weekday.eq(FRIDAY).all()
    tonight = forecasts[forecasts["as_of_date"].dt.date == friday]
    assert (
        tonight.groupby("series_id")["target_date"]
        .agg(["min", "max"])
        .eq([pd.Timestamp("2024-04-05"), pd.Timestamp("2024-06-28")])
        .all(axis=None)
    )
    assert tonight["horizon_step"].tolist() == list(range(1, 14)) * 3
    versions = _rows(settings, "select distinct version from registry.model_versions order by 1")
    # each week holds a Sunday, the schedule's retrain weekday: the night closing it retrains; the others register
    # nothing
    assert second["retrained"] == 3
    assert versions["version"].tolist() == [previous_friday.isoformat(), friday.isoformat()]
    assert _checksums(settings) == written  # the rerun reproduces the night (run ids aside)
    with connect(settings.warehouse_path, read_only=True) as connection:
        _, reference = references.load(
            connection, "forecast", dict.fromkeys(SERIES, previous_friday.isoformat())
        )
    # monitoring compares each night's days with the reference: it holds the days, not the weeks
    assert pd.to_datetime(reference["sales_date"]).dt.weekday.nunique() == 7
    again = _rows(settings, "select * from predictions.forecasts order by as_of_date, series_id, target_date")
    pd.testing.assert_frame_equal(again.drop(columns="run_id"), forecasts.drop(columns="run_id"))

    # dbt scores the week ending Friday 29 March against the Saturday-to-Friday sales, as the job summed them
    variables = json.dumps(dbt_vars(weekly_on_fridays))
    invoke_dbt(
        settings,
        [
            "run",
            "--select",
            "stg_predictions__forecasts",
            "forecasts_latest",
            "forecast_accuracy",
            "--vars",
            variables,
        ],
        friday,
    )
    scored = _rows(settings, "select * from predictions.forecast_accuracy order by series_id")
    actual = _rows(
        settings,
        "select series_id, sum(revenue) as actual from marts.fct_daily_sales "
        "where sales_date between ? and ? group by 1 order by 1",
        [dt.date(2024, 3, 23), friday],
    )
    assert scored["target_date"].dt.date.eq(friday).all() and scored["scored_on"].dt.date.eq(friday).all()
    np.testing.assert_allclose(scored["actual"], actual["actual"])
    latest = _rows(settings, "select distinct as_of_date, frequency from predictions.forecasts_latest")
    assert latest.to_dict("records") == [{"as_of_date": pd.Timestamp(friday), "frequency": "weekly"}]


@pytest.fixture()
def hourly(monkeypatch, tmp_path):
    """The synthetic dataset forecast hourly, 48 hours ahead, on five weeks of an hourly mart with a daily and a
    weekly cycle (the total the sum of its two locations)."""
    base = load_dataset_config("synthetic")
    series = dataclasses.replace(base.series, frequency="hourly", horizon=48)
    section = dataclasses.replace(
        base.forecasting, candidates=parse_candidates(["seasonal_naive", "mstl"]), ensemble_top=0
    )
    config = dataclasses.replace(base, series=series, forecasting=section)
    monkeypatch.setattr("jobs.forecast.load_dataset_config", lambda name: config)

    settings = Settings(home=tmp_path / "home", dataset="synthetic")
    rng = np.random.default_rng(7)
    hours = pd.date_range("2024-02-25", "2024-04-02 23:00", freq="h")
    t = np.arange(len(hours))
    locations = {}
    for i, location in enumerate(("France", "Germany")):
        daily = 20 * np.sin(2 * np.pi * (t - 6) / 24).clip(0)
        weekly = 1 + 0.3 * (hours.weekday >= 5)
        locations[f"location={location}"] = (10 + 5 * i + daily) * weekly + rng.normal(0, 1, len(t))
    locations["total"] = sum(locations.values())
    mart = pd.concat(
        pd.DataFrame(
            {"series_id": s, "sales_hour": hours, "sales_date": hours.date, "revenue": y, "units": y / 10}
        )
        for s, y in locations.items()
    )
    calendar = BusinessCalendar.from_config(base).frame(dt.date(2024, 2, 25), TUESDAY + dt.timedelta(days=90))
    with connect(settings.warehouse_path) as connection:
        connection.execute("create schema marts")
        connection.register("_hourly", mart)
        connection.register("_calendar", calendar)
        connection.execute(
            "create table marts.features_series_hourly as select series_id, sales_date::date as sales_date, "
            "sales_hour::timestamp as sales_hour, units::double as units, revenue::double as revenue from _hourly"
        )
        connection.execute("create table marts.dim_calendar as select * from _calendar")
    return settings


def test_an_hourly_dataset_forecasts_the_next_hours_coherently_every_night(hourly):
    first = _night(SUNDAY, hourly)
    written = _checksums(hourly)
    rerun = _night(SUNDAY, hourly, run_id="rerun")

    assert (
        first["due"]
        and first["frequency"] == "hourly"
        and first["rows_written"] == rerun["rows_written"] == 3 * 48
    )
    assert _checksums(hourly) == written
    forecasts = _rows(hourly, "select * from predictions.forecasts order by series_id, target_time")
    assert forecasts["frequency"].eq("hourly").all()
    expected = pd.date_range("2024-04-01 00:00", periods=48, freq="h")
    for _, rows in forecasts.groupby("series_id"):
        assert rows["target_time"].tolist() == expected.tolist()
        assert rows["target_date"].tolist() == expected.normalize().tolist()
        assert rows["horizon_step"].tolist() == list(range(1, 49))
    wide = forecasts.pivot(index="target_time", columns="series_id", values="yhat")
    np.testing.assert_allclose(wide["total"], wide["location=France"] + wide["location=Germany"], atol=0.01)
    components = _rows(hourly, "select * from predictions.forecast_components")
    assert components.empty or components["target_time"].notna().all()
    # MSTL with the hourly periods 24 and 168 competes, and wins on series with both cycles
    selection = _rows(hourly, "select * from predictions.forecast_selection order by series_id")
    assert selection["scoring_model"].eq("mstl(season_lengths=[24,168])").all()
    assert (selection["challenger_score"] < selection["baseline_score"]).all()
