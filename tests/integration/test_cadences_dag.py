"""Every cadence through the nightly DAG: a weekly dataset and an hourly one, each a YAML config of its own, their
history loaded and their nights run by real Airflow (`dag.test`), as a user runs them with `DAYBREAK_DATASET`.

Given the synthetic shop as a retailer whose weeks end on Friday, when the DAG runs Thursday 2024-03-28 and Friday
03-29, then Thursday forecasts nothing (its week has not closed) and Friday publishes 13 weeks ending on Fridays,
each location's and the total's, the total the sum of its locations; the Forecast explorer and the Overview
show the weeks beside the weekly actuals.

Given the UCI Online Retail file replayed up to 2011-03-31 and the dataset forecast hourly (48 hours ahead; the
seasonal naive on 24 hours, Prophet and MSTL on 24 and 168 hours compete), when the DAG runs Thursday 03-31, its
retrain night, then the forecasts are the next 48 hours and the selected models beat the seasonal
naive's backtest MASE by at least 15% on the mean of the series' ratios; the dashboards show the hours.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml
from streamlit.testing.v1 import AppTest

from daybreak.core.settings import PROJECT_ROOT, Settings, dataset_path
from tests.integration.conftest import run_night

pytestmark = [pytest.mark.integration, pytest.mark.long(minutes=2)]

FRIDAY = 4
THURSDAY = 3
APP = str(PROJECT_ROOT / "apps" / "streamlit" / "app.py")


@pytest.fixture
def cadence_home(tmp_path, airflow_db, monkeypatch):
    """`use(config_path)`: this test's data home, with DAYBREAK_DATASET pointing at the given YAML file."""
    home = tmp_path / "home"

    def use(config_path) -> Settings:
        monkeypatch.setenv("DAYBREAK_HOME", str(home))
        monkeypatch.setenv("DAYBREAK_DATASET", str(config_path))
        return Settings(home=home, dataset=str(config_path))

    return use


def _succeeded(dag_run, states) -> None:
    assert dag_run.state == "success", states
    assert states.pop("retrain") in ("skipped", "success"), states
    assert set(states.values()) == {"success"}, states


def _rows(settings: Settings, sql: str, parameters=()) -> pd.DataFrame:
    with duckdb.connect(str(settings.serving_path), read_only=True) as connection:
        return connection.execute(sql, list(parameters)).df()


def _open_page(page: str) -> AppTest:
    """The dashboards' page on the data home's serving file (the environment `cadence_home` set), as an admin."""
    app = AppTest.from_file(APP, default_timeout=120)
    app.run()
    if page != "overview.py":
        app.switch_page(f"app_pages/{page}").run()
    assert not app.exception, [error.value for error in app.exception]
    return app


def _texts(app: AppTest) -> str:
    return "\n".join(str(e.value) for kind in ("caption", "markdown", "info") for e in app.get(kind))


def _metric(app: AppTest, label: str) -> float:
    """A metric's amount as the page shows it (`48.2K`, `1.23M`, `950`)."""
    text = next(metric.value for metric in app.metric if metric.label == label)
    scale = {"K": 1e3, "M": 1e6, "B": 1e9}.get(text[-1], 1)
    return float(text.rstrip("KMB").replace(",", "")) * scale


def _assert_coherent(forecasts: pd.DataFrame, period: str) -> None:
    """The total's forecast equals the sum of its locations' at every step (a bound of a sum is not the sum of
    the bounds, so only the point forecast adds up)."""
    wide = forecasts.pivot(index=period, columns="series_id", values="yhat")
    locations = [column for column in wide.columns if column != "total"]
    np.testing.assert_allclose(wide["total"], wide[locations].sum(axis=1), atol=0.01)


def test_a_weekly_dataset_runs_through_the_dag_and_forecasts_its_friday_weeks(tmp_path, cadence_home, act_as):
    from daybreak.ingest.simulation.synthetic import simulate_synthetic
    from jobs.pipeline import load_history

    raw = yaml.safe_load(dataset_path("synthetic").read_text(encoding="utf-8"))
    raw["name"] = "synthetic_weekly"
    raw["series"] |= {"frequency": "weekly", "week_ends_on": FRIDAY, "horizon": 13}
    raw["forecasting"] |= {
        "candidates": ["seasonal_naive", "auto_ets"],
        "ensemble_top": 0,
        "backtest": {"folds": 2, "horizon": 13, "step": 13},
    }
    config_path = tmp_path / "synthetic_weekly.yml"
    config_path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    settings = cadence_home(config_path)
    thursday, friday = dt.date(2024, 3, 28), dt.date(2024, 3, 29)
    simulate_synthetic(
        settings.landing_dir,
        start=dt.date(2021, 7, 3),
        end=friday,
        seed=7,
        customers=150,
        products=40,
        locations=3,
    )  # from a Saturday: whole weeks ending on Friday
    load_history(thursday - dt.timedelta(days=1), settings)

    for night in (thursday, friday):
        _succeeded(*run_night(night, retries=0))

    forecasts = _rows(
        settings,
        "select * from predictions.forecasts where as_of_date >= ? order by as_of_date, series_id, target_date",
        [thursday],
    )
    assert set(forecasts["as_of_date"].dt.date) == {friday}  # Thursday's week had not closed
    assert forecasts["frequency"].eq("weekly").all()
    assert forecasts["target_date"].dt.weekday.eq(FRIDAY).all()
    assert forecasts["series_id"].nunique() == 4  # three locations and the total
    for _, rows in forecasts.groupby("series_id"):
        assert rows["target_date"].tolist() == list(pd.date_range("2024-04-05", periods=13, freq="W-FRI"))
        assert rows["horizon_step"].tolist() == list(range(1, 14))
    _assert_coherent(forecasts, "target_date")
    selection = _rows(settings, "select * from predictions.forecast_selection where as_of_date = ?", [friday])
    # 143 weeks: two years (52-week seasons) to train on, then two folds of 13 weeks
    assert selection["fallback_reason"].isna().all(), selection["fallback_reason"].tolist()
    assert selection["retrained"].all() and selection["challenger_score"].notna().all()

    # the dashboards compare the weeks with weekly actuals: the last four Saturday-to-Friday weeks of sales
    act_as("admin")
    last_four_weeks = _rows(
        settings,
        "select sum(revenue) from marts.fct_daily_sales where series_id = 'total' and sales_date between ? and ?",
        [friday - dt.timedelta(days=27), friday],
    ).iloc[0, 0]
    explorer = _open_page("forecast.py")
    assert "weekly revenue · forecast made on Fri 29 Mar 2024 for the next 13 weeks" in _texts(explorer)
    assert "| Fri 05 Apr 2024 | 1 |" in _texts(explorer)  # the detail table's first week, by its last day
    assert _metric(explorer, "Revenue, last 4 weeks") == pytest.approx(last_four_weeks, rel=0.01)
    overview = _open_page("overview.py")
    assert "The business's weekly revenue" in _texts(overview) and len(overview.get("vega_lite_chart")) == 2


def test_an_hourly_dataset_runs_through_the_dag_and_beats_the_seasonal_naive(
    tmp_path, cadence_home, shared_data, act_as
):
    from bench.forecast_hourly import write_hourly_config
    from daybreak.datasets import load_dataset_config
    from daybreak.ingest.simulation.replay import replay_dataset
    from jobs.pipeline import load_history

    source = shared_data / "online_retail" / "online_retail.parquet"
    night = dt.date(2011, 3, 31)
    assert night.weekday() == THURSDAY
    config_path = write_hourly_config(tmp_path, source, retrain="weekly", retrain_weekday=THURSDAY)
    settings = cadence_home(config_path)
    replay_dataset(
        load_dataset_config(config_path),
        settings.landing_dir,
        source=str(source),
        start=dt.date(2010, 12, 1),
        end=night,
    )
    load_history(night - dt.timedelta(days=1), settings)

    _succeeded(*run_night(night, retries=0))

    forecasts = _rows(
        settings,
        "select * from predictions.forecasts where as_of_date = ? order by series_id, target_time",
        [night],
    )
    assert forecasts["frequency"].eq("hourly").all()
    assert forecasts["series_id"].nunique() == 6  # five countries and the total
    expected = pd.date_range("2011-04-01 00:00", periods=48, freq="h")
    for _, rows in forecasts.groupby("series_id"):
        assert rows["target_time"].tolist() == expected.tolist()
    # the total is the whole shop's, the five countries only part of it: no hierarchy to reconcile

    selection = _rows(
        settings,
        "select series_id, retrained, challenger_score, baseline_score from predictions.forecast_selection "
        "where as_of_date = ?",
        [night],
    )
    assert selection["retrained"].all() and len(selection) == 6
    ratio = (selection["challenger_score"] / selection["baseline_score"]).mean()
    assert ratio <= 0.85, selection

    # the dashboards show hours: the last 24 before the forecast are the night's day
    act_as("admin")
    last_day = _rows(
        settings,
        "select sum(revenue) from marts.features_series_hourly where series_id = 'total' and sales_date = ?",
        [night],
    ).iloc[0, 0]
    explorer = _open_page("forecast.py")
    assert "hourly revenue · forecast made on Thu 31 Mar 2011 for the next 48 hours" in _texts(explorer)
    assert "| Fri 01 Apr 2011 00:00 | 1 |" in _texts(explorer)
    assert _metric(explorer, "Revenue, last 24 hours") == pytest.approx(last_day, rel=0.01)
    overview = _open_page("overview.py")
    assert "The business's hourly revenue" in _texts(overview)
