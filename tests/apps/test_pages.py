"""Every page's logic through `streamlit.testing.v1.AppTest`: charts on a full serving file, and an empty state
(never a traceback) on a fresh install and on a file that lacks the page's tables."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "apps" / "streamlit" / "app.py")
# page script -> (title, charts drawn on the full fixture)
PAGES = {
    "overview.py": ("Overview", 2),
    "forecast.py": ("Forecast explorer", 4),
    "segments.py": ("Segments", 5),
    "model_health.py": ("Model health", 7),
    "review.py": ("Review forecasts", 1),
    "pipeline.py": ("Pipeline", 3),
}


def run_page(monkeypatch: pytest.MonkeyPatch, home: Path, page: str) -> AppTest:
    monkeypatch.setenv("DAYBREAK_HOME", str(home))
    monkeypatch.setenv("DAYBREAK_DATASET", "synthetic")
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    if page != "overview.py":
        app.switch_page(f"app_pages/{page}")
        app.run()
    return app


def charts(app: AppTest) -> list:
    return app.get("vega_lite_chart")


def texts(app: AppTest) -> str:
    parts = [
        element.value
        for kind in ("info", "success", "warning", "caption", "markdown")
        for element in app.get(kind)
    ]
    return "\n".join(str(part) for part in parts)


@pytest.mark.parametrize("page", PAGES)
def test_each_page_draws_its_charts_on_a_full_serving_file(monkeypatch, full_home, page):
    app = run_page(monkeypatch, full_home, page)

    title, expected_charts = PAGES[page]
    assert not app.exception, [e.value for e in app.exception]
    assert [t.value for t in app.title] == [title]
    assert len(charts(app)) >= expected_charts


@pytest.mark.parametrize("page", PAGES)
def test_each_page_explains_a_fresh_install(monkeypatch, empty_home, page):
    app = run_page(monkeypatch, empty_home, page)

    assert not app.exception
    assert "No nightly run has published data yet" in texts(app)
    assert "make demo" in texts(app)
    assert not charts(app)


@pytest.mark.parametrize("page", ["segments.py", "model_health.py", "pipeline.py", "review.py"])
def test_pages_whose_tables_are_not_published_say_which_and_when(monkeypatch, serving_home, page):
    app = run_page(monkeypatch, serving_home, page)

    assert not app.exception
    assert "The published data has no" in texts(app) or "No override has been recorded yet" in texts(app)
    assert not charts(app)


def test_overview_says_the_date_the_numbers_are_as_of_and_that_last_night_completed(monkeypatch, full_home):
    app = run_page(monkeypatch, full_home, "overview.py")

    banner = app.success[0].value
    assert "Numbers as of **Sun 30 Jun 2024**" in banner
    assert "Last night's run completed" in banner
    assert "1 replaced by a later delivery (390 row(s) replaced)" in banner
    labels = [metric.label for metric in app.metric]
    assert labels == [
        "Revenue, last 7 days",
        "Revenue, last 28 days",
        "Units, last 7 days",
        "Units, last 28 days",
    ]
    assert app.metric[0].proto.delta.endswith("vs last year")


def test_overview_shows_no_units_for_data_without_them(monkeypatch, full_home, tmp_path):
    """An aggregated export of revenue alone has null units on every day: no units card, rather than zeros."""
    import duckdb

    home = tmp_path / "home"
    shutil.copytree(full_home, home)
    with duckdb.connect(str(home / "serving" / "synthetic.duckdb")) as connection:
        connection.execute("update marts.fct_daily_sales set units = null")
    app = run_page(monkeypatch, home, "overview.py")

    assert not app.exception, [e.value for e in app.exception]
    assert [metric.label for metric in app.metric] == ["Revenue, last 7 days", "Revenue, last 28 days"]


def test_overview_compares_the_last_week_with_its_forecast(monkeypatch, full_home):
    app = run_page(monkeypatch, full_home, "overview.py")

    # the 16 Jun forecast covers 24-30 Jun, so the last 7 days have a forecast to compare with
    assert any("vs forecast" in caption.value for caption in app.caption)


def test_forecast_explorer_filters_series_by_key(monkeypatch, full_home):
    app = run_page(monkeypatch, full_home, "forecast.py")

    key_filter = app.selectbox(key="filter_location")
    assert key_filter.options == ["Any", "Germany"]
    key_filter.set_value("Germany").run()
    assert not app.exception
    series = next(box for box in app.selectbox if box.label == "Series")
    assert series.value == "location=Germany"
    assert series.options == ["Location Germany"]


def test_forecast_explorer_shows_accuracy_and_revisions_only_when_there_are_some(
    monkeypatch, components_home
):
    app = run_page(monkeypatch, components_home, "forecast.py")

    assert not app.exception
    assert "No forecast of this series has been scored yet" in texts(app)


def test_segments_transition_matrix_follows_the_chosen_dates(monkeypatch, full_home):
    app = run_page(monkeypatch, full_home, "segments.py")

    app.selectbox(key="from").set_value(dt.date(2024, 6, 2)).run()
    assert not app.exception
    assert app.selectbox(key="to").options[0] == "Sun 16 Jun 2024"


def test_model_health_embeds_the_chosen_nights_evidently_report(monkeypatch, full_home):
    app = run_page(monkeypatch, full_home, "model_health.py")

    assert app.selectbox(key="report_night").value == dt.date(2024, 6, 30)
    assert not app.get("iframe"), "the report (megabytes) loads only when asked for"
    app.toggle(key="show_report").set_value(True).run()
    assert not app.exception
    html = [element for element in app.get("iframe")]
    assert html, "the report is embedded"


def test_pipeline_drills_down_to_the_rows_of_a_rule(monkeypatch, full_home):
    app = run_page(monkeypatch, full_home, "pipeline.py")

    rule = app.selectbox(key="quarantine_rule")
    assert rule.options == ["negative_price", "unknown_product"]
    rule.set_value("unknown_product").run()
    assert not app.exception
    rows = app.dataframe[0].value
    assert len(rows) > 0 and set(rows.columns) >= {"business_date", "source_file", "source_row", "raw_values"}


def test_review_records_an_override_in_the_log_outside_the_warehouse(monkeypatch, full_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(full_home, home)
    warehouse_before = (home / "serving" / "synthetic.duckdb").read_bytes()
    app = run_page(monkeypatch, home, "review.py")
    assert "Acting as **ada (local)**" in texts(app)

    app.selectbox(key="override_series").set_value("location=Germany")
    app.date_input(key="override_dates").set_value((dt.date(2024, 7, 2), dt.date(2024, 7, 4)))
    app.radio(key="override_kind").set_value("value")
    app.number_input(key="override_amount").set_value(7000.0)
    app.text_input(key="override_reason").set_value("trade fair in Berlin")
    app.button[0].click().run()

    assert not app.exception
    assert "The next nightly run applies it" in app.success[0].value
    lines = [json.loads(line) for line in (home / "overrides" / "synthetic.jsonl").read_text().splitlines()]
    added = lines[-1]
    assert (added["series_id"], added["start_date"], added["end_date"]) == (
        "location=Germany",
        "2024-07-02",
        "2024-07-04",
    )
    assert (added["kind"], added["amount"], added["author"]) == ("value", 7000.0, "ada (local)")
    assert (home / "serving" / "synthetic.duckdb").read_bytes() == warehouse_before, (
        "never writes the warehouse"
    )
    # the log lists both: the fixture's applied override and the new pending one
    statuses = dict(zip(app.dataframe[0].value["override_id"], app.dataframe[0].value["status"], strict=True))
    assert statuses == {"ov-0123456789ab": "applied", added["override_id"]: "pending"}


def test_review_lists_an_override_as_revoked_as_soon_as_it_is_revoked(monkeypatch, full_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(full_home, home)
    app = run_page(monkeypatch, home, "review.py")
    assert app.dataframe[0].value["status"].tolist() == ["applied"]

    app.selectbox(key="revoke_id").set_value("ov-0123456789ab")
    app.text_input(key="revoke_reason").set_value("promotion cancelled")
    app.button[1].click().run()

    assert not app.exception
    assert "Revoked **ov-0123456789ab**" in app.success[0].value
    assert app.dataframe[0].value["status"].tolist() == ["revoked"]
    assert not [box for box in app.selectbox if box.key == "revoke_id"], "nothing is left to revoke"


def test_review_refuses_an_override_without_a_reason(monkeypatch, full_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(full_home, home)
    app = run_page(monkeypatch, home, "review.py")

    app.button[0].click().run()

    assert "needs a reason" in app.error[0].value
    assert len((home / "overrides" / "synthetic.jsonl").read_text().splitlines()) == 1


def test_with_oidc_configured_the_sidebar_offers_the_login_and_a_signed_in_user_gets_their_role(
    monkeypatch, full_home
):
    monkeypatch.setenv("DAYBREAK_HOME", str(full_home))
    monkeypatch.setenv("DAYBREAK_DATASET", "synthetic")
    app = AppTest.from_file(APP, default_timeout=60)
    app.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "test"}
    app.run()

    # before signing in: a viewer, whatever the local user's role, with the login in the sidebar
    assert not app.exception
    assert [button.label for button in app.sidebar.button] == ["Log in"]
    assert "Viewing as **not signed in**, role **viewer**" in texts(app)
    app.switch_page(
        "app_pages/review.py"
    ).run()  # by its URL: the page asks to sign in, never "Page not found"
    assert "**Sign in** (in the sidebar) to see reviewing and overriding forecasts" in texts(app)
    assert not app.main.button and not charts(app)
    app.switch_page("app_pages/segments.py").run()
    assert "**Sign in** (in the sidebar) to see one customer's history" in texts(app)

    # signed in as the planner the roles file lists: the Review page, recorded under the login's name
    app.user = {"email": "pat", "is_logged_in": True}
    app.run()  # the navigation is built for the user of the run before
    app.switch_page("app_pages/review.py").run()
    assert not app.exception
    assert [button.label for button in app.sidebar.button] == ["Log out"]
    assert "Viewing as **pat**, role **planner**" in texts(app)
    assert "Acting as" not in texts(app)
    assert charts(app)


def test_model_health_plots_the_features_nearest_their_drift_threshold(monkeypatch, full_home):
    app = run_page(monkeypatch, full_home, "model_health.py")

    assert not app.exception, [e.value for e in app.exception]
    drift = [chart for chart in charts(app) if "Distance / threshold" in chart.proto.spec]
    assert len(drift) == 1


def test_model_health_shows_forecast_value_added_per_planner(monkeypatch, full_home):
    app = run_page(monkeypatch, full_home, "model_health.py")

    assert app.radio(key="fva_by").value == "author"
    assert "summed over the scored days each override changed" in texts(app)
    assert any("value_added" in chart.proto.spec for chart in charts(app))
    app.radio(key="fva_by").set_value("reason").run()
    assert not app.exception


def test_the_explorer_shows_the_models_forecast_beside_the_overridden_one(monkeypatch, full_home):
    app = run_page(monkeypatch, full_home, "forecast.py")
    versions = next(box for box in app.selectbox if box.label == "Forecast made on")
    versions.set_value(dt.date(2024, 6, 16)).run()

    assert not app.exception
    assert "A planner's override sets 3 days" in texts(app)
    assert "Model's forecast (before override)" in charts(app)[0].proto.spec


def test_a_monthly_forecast_is_shown_beside_monthly_actuals(monkeypatch, tmp_path, serving_spec):
    import duckdb

    home = tmp_path / "monthly_home"
    path = serving_spec.build(home / "serving" / "synthetic.duckdb")
    months = pd.date_range("2024-07-01", periods=6, freq="MS")
    with duckdb.connect(str(path)) as connection:
        april_to_june = connection.execute(
            "select sum(revenue) from marts.fct_daily_sales where series_id = 'total' "
            "and sales_date between '2024-04-01' and '2024-06-30'"
        ).fetchone()[0]
        connection.execute("delete from predictions.forecasts")
        for series_id in serving_spec.series:
            for step, month in enumerate(months, start=1):
                connection.execute(
                    "insert into predictions.forecasts (as_of_date, series_id, target, target_date, horizon_step, "
                    "yhat, yhat_lower_80, yhat_upper_80, yhat_lower_95, yhat_upper_95, model, model_version, run_id, "
                    "frequency) values (?, ?, 'revenue', ?, ?, 1.5e6, 1.2e6, 1.8e6, 1e6, 2e6, 'auto_ets', "
                    "'2024-06-30', 'fixture', 'monthly')",
                    [serving_spec.last_actual, series_id, month.date(), step],
                )

    explorer = run_page(monkeypatch, home, "forecast.py")
    overview = run_page(monkeypatch, home, "overview.py")

    assert not explorer.exception and not overview.exception
    assert "monthly revenue · forecast made on Sun 30 Jun 2024 for the next 6 months" in texts(explorer)
    assert "| Jul 2024 | 1 |" in texts(explorer)
    recent = next(metric for metric in explorer.metric if metric.label == "Revenue, last 3 months")
    assert recent.value == f"{april_to_june / 1e6:.2f}M"
    assert "The business's monthly revenue" in texts(overview)


def _time_axes(spec) -> list[dict]:
    """Every x encoding of a temporal field in a Vega-Lite spec, at any depth (layers, facets)."""
    found = []
    if isinstance(spec, dict):
        x = spec.get("encoding", {}).get("x") if isinstance(spec.get("encoding"), dict) else None
        if isinstance(x, dict) and x.get("type") == "temporal":
            found.append(x)
        for value in spec.values():
            found += _time_axes(value)
    elif isinstance(spec, list):
        for value in spec:
            found += _time_axes(value)
    return found


@pytest.mark.parametrize("page", PAGES)
def test_every_time_axis_says_its_format_so_no_day_reads_12_pm(monkeypatch, full_home, page):
    """Vega-Lite's own labels for a temporal axis show noon ("12 PM") between days: every chart with a time axis
    names its format (once per chart: the layers of a chart share their axis)."""
    app = run_page(monkeypatch, full_home, page)

    for chart in charts(app):
        spec = json.loads(chart.proto.spec)
        axes = _time_axes(spec)
        assert not axes or any("format" in (axis.get("axis") or {}) for axis in axes), spec.get("title", axes)
