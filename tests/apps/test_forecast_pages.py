"""What a planner reads around the forecasts: the forecast CSV, the tables' escaping, the overrides a total holds,
closed days, axes and the currency, on the Overview and the Forecast explorer."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.apps.conftest import LOCATION_OVERRIDE, app_module

APP = str(Path(__file__).resolve().parents[2] / "apps" / "streamlit" / "app.py")


def run_page(monkeypatch: pytest.MonkeyPatch, home: Path, page: str) -> AppTest:
    monkeypatch.setenv("DAYBREAK_HOME", str(home))
    monkeypatch.setenv("DAYBREAK_DATASET", "synthetic")
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    if page != "overview.py":
        app.switch_page(f"app_pages/{page}").run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def texts(app: AppTest) -> str:
    kinds = ("info", "success", "warning", "caption", "markdown")
    return "\n".join(str(element.value) for kind in kinds for element in app.get(kind))


def test_the_forecast_csv_says_which_series_and_night_then_date_forecast_and_bounds_rounded(
    app_data, monkeypatch, override_home
):
    monkeypatch.setenv("DAYBREAK_HOME", str(override_home))
    sections, grain = app_module("forecast_sections"), app_module("grain")
    series_id, night = LOCATION_OVERRIDE["series_id"], dt.date(2024, 6, 30)
    rows = app_data.series.forecast(series_id, night)

    text = sections.forecast_csv(rows, series_id, night, grain.Grain.of(rows))

    table = list(csv.DictReader(io.StringIO(text)))
    assert list(table[0])[:10] == [
        "series_id",
        "as_of_date",
        "target_date",
        "horizon_step",
        "yhat",
        "yhat_lower_80",
        "yhat_upper_80",
        "yhat_lower_95",
        "yhat_upper_95",
        "yhat_statistical",
    ]
    assert list(table[0])[10:12] == ["override_id", "target"]
    assert (table[0]["series_id"], table[0]["as_of_date"], table[0]["target_date"]) == (
        series_id,
        "2024-06-30",
        "2024-07-01",
    )
    values = [row[column] for row in table for column in sections.VALUE_COLUMNS]
    assert all(len(value.partition(".")[2]) <= 2 for value in values), "revenue in cents"
    overridden = [row for row in table if row["override_id"]]
    assert [row["target_date"] for row in overridden] == ["2024-07-02", "2024-07-03", "2024-07-04"]
    assert {row["yhat"] for row in overridden} == {"100.0"}


def test_every_table_escapes_text_a_spreadsheet_would_run_and_the_review_log_reads_in_words(
    monkeypatch, override_home
):
    app = run_page(monkeypatch, override_home, "review.py")

    log = app.dataframe[0].value.set_index("override_id")
    assert log.loc[LOCATION_OVERRIDE["override_id"], "reason"] == "'" + LOCATION_OVERRIDE["reason"]
    assert log["change"].tolist() == ["up 8%", "100 a day"]


def test_the_app_shows_a_table_only_through_the_helper_that_escapes_it():
    app_dir = Path(APP).parent
    direct = [
        path.relative_to(app_dir)
        for path in app_dir.rglob("*.py")
        if path.name != "charts.py"
        and any(call in path.read_text() for call in ("st.dataframe(", "st.table("))
    ]
    assert not direct, f"show tables with charts.table, which escapes formulas: {direct}"


def test_the_total_says_which_locations_and_days_planners_overrode(monkeypatch, override_home):
    """The night re-sums the total from its overridden location: the total moved, though no override names it."""
    overview = run_page(monkeypatch, override_home, "overview.py")
    explorer = run_page(monkeypatch, override_home, "forecast.py")

    for app in (overview, explorer):
        note = next(info.value for info in app.info if "overrides of 1 part" in info.value)
        assert """**Location Dunn's "Corner"** (2–4 Jul)""" in note
    chart = explorer.get("vega_lite_chart")[0].proto.spec
    assert "Model's forecast (before override)" in chart, "the model's total is drawn beside the final one"


def test_a_forecast_no_override_moved_says_nothing_of_overrides(monkeypatch, full_home):
    explorer = run_page(monkeypatch, full_home, "forecast.py")  # the total on 30 Jun: nothing overridden

    assert "override" not in texts(explorer)
    assert "Model's forecast (before override)" not in explorer.get("vega_lite_chart")[0].proto.spec
