"""A planner's override end to end: recorded on the Review page, applied by the next forecast night beside the
model's value, audited in `planning.overrides`, scored by dbt's `forecast_value_added` once the actuals land, and
shown in the Forecast explorer and on Model health. Real forecast job, real dbt, the real app under AppTest."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from daybreak.datasets import load_dataset_config
from daybreak.warehouse.publish import publish
from tests.integration.test_forecast_job import MONDAY, SUNDAY, TUESDAY, _night, _rows, forecasting, settings

pytestmark = pytest.mark.integration

APP = str(Path(__file__).resolve().parents[2] / "apps" / "streamlit" / "app.py")
__all__ = [
    "forecasting",
    "settings",
]  # the forecast job's fixtures: three series to TUESDAY, a quick model set


def open_page(page: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120)
    app.run()
    app.switch_page(f"app_pages/{page}").run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def texts(app: AppTest) -> str:
    return "\n".join(str(e.value) for kind in ("info", "success", "caption") for e in app.get(kind))


def build_views(settings, night: dt.date) -> None:
    from jobs.transform import dbt_vars, invoke_dbt

    selection = [
        "stg_predictions__forecasts",
        "forecast_versions",
        "stg_planning__overrides",
        "forecasts_latest",
        "forecast_accuracy",
        "forecast_value_added",
    ]
    variables = json.dumps(dbt_vars(load_dataset_config("synthetic")))
    invoke_dbt(settings, ["run", "--select", *selection, "--vars", variables], night)


def test_an_override_from_the_review_page_is_applied_audited_shown_and_scored(
    settings, forecasting, monkeypatch, act_as
):
    forecasting()
    monkeypatch.setenv("DAYBREAK_HOME", str(settings.home))
    monkeypatch.setenv("DAYBREAK_DATASET", "synthetic")
    act_as("planner")  # pat
    _night(SUNDAY, settings)
    build_views(settings, SUNDAY)  # the views a night's dbt build leaves, which the dashboards read
    publish(settings.warehouse_path, settings.serving_path)

    # Given a planner who raises the total's forecast by 20% for the week from Tuesday on the Review page
    review = open_page("review.py")
    review.selectbox(key="override_series").set_value("total")
    review.date_input(key="override_dates").set_value((TUESDAY, TUESDAY + dt.timedelta(days=6)))
    review.radio(key="override_kind").set_value("percent")
    review.number_input(key="override_amount").set_value(20.0)
    review.text_input(key="override_reason").set_value("Easter promotion")
    review.button[0].click().run()
    assert "The next nightly run applies it" in review.success[0].value
    override_id = review.success[0].value.split("**")[1]

    # When the next night runs
    summary = _night(MONDAY, settings)

    # Then its forecasts hold the model's and the final value side by side for exactly those days
    assert summary["overridden_rows"] == 7
    rows = _rows(
        settings,
        "select target_date, yhat, yhat_statistical, override_id from predictions.forecasts "
        "where as_of_date = ? and series_id = 'total' order by target_date",
        [MONDAY],
    )
    overridden = rows[rows["override_id"].notna()]
    assert overridden["target_date"].dt.date.tolist() == [TUESDAY + dt.timedelta(days=i) for i in range(7)]
    assert set(overridden["override_id"]) == {override_id}
    assert (overridden["yhat"] - 1.2 * overridden["yhat_statistical"]).abs().max() < 1e-6
    untouched = rows[rows["override_id"].isna()]
    assert (untouched["yhat"] == untouched["yhat_statistical"]).all()
    others = _rows(
        settings,
        "select count(*) as n from predictions.forecasts where override_id is not null "
        "and series_id <> 'total'",
    )
    assert others.loc[0, "n"] == 0

    # and a rerun of the night the planner was looking at still gives the model's forecasts (as-of correct)
    _night(SUNDAY, settings)
    rerun = _rows(
        settings,
        "select count(*) as n from predictions.forecasts where as_of_date = ? and override_id is not null",
        [SUNDAY],
    )
    assert rerun.loc[0, "n"] == 0

    # and the audit says who changed what and why
    audit = _rows(settings, "select * from planning.overrides")
    assert audit[["override_id", "series_id", "author", "reason", "status"]].values.tolist() == [
        [override_id, "total", "pat (local)", "Easter promotion", "active"]
    ]

    # and once Tuesday's actuals are in, dbt scores the override against the model's own forecast
    build_views(settings, TUESDAY)
    added = _rows(settings, "select * from predictions.forecast_value_added")
    assert added["override_id"].tolist() == [override_id]
    assert added["scored_periods"].tolist() == [1]
    actual = _rows(
        settings,
        "select revenue from marts.fct_daily_sales where series_id = 'total' and sales_date = ?",
        [TUESDAY],
    ).loc[0, "revenue"]
    tuesday = overridden.iloc[0]
    assert added.loc[0, "final_abs_error"] == pytest.approx(abs(tuesday["yhat"] - actual))
    assert added.loc[0, "statistical_abs_error"] == pytest.approx(abs(tuesday["yhat_statistical"] - actual))
    assert added.loc[0, "author"] == "pat (local)"

    # and the published dashboards show it: the explorer beside the model's, Review as applied, Model health
    publish(settings.warehouse_path, settings.serving_path)
    explorer = open_page("forecast.py")
    assert "A planner's override sets 7 days" in texts(explorer)
    assert "Model's forecast (before override)" in explorer.get("vega_lite_chart")[0].proto.spec
    review = open_page("review.py")
    log = review.dataframe[0].value
    assert log.set_index("override_id").loc[override_id, "status"] == "applied"
    health = open_page("model_health.py")
    assert "No planner's override has been scored yet" not in texts(health)
    assert "summed over the scored days each override changed" in texts(health)
