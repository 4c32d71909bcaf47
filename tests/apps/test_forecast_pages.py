"""What a planner reads around the forecasts: the forecast CSV, the tables' escaping, the overrides a total holds,
closed days, axes and the currency, on the Overview and the Forecast explorer."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from daybreak.core.settings import CONFIG_DIR
from tests.apps.conftest import LOCATION_OVERRIDE, app_module

APP = str(Path(__file__).resolve().parents[2] / "apps" / "streamlit" / "app.py")


def run_page(monkeypatch: pytest.MonkeyPatch, home: Path, page: str, dataset: str = "synthetic") -> AppTest:
    monkeypatch.setenv("DAYBREAK_HOME", str(home))
    monkeypatch.setenv("DAYBREAK_DATASET", dataset)
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


def specs(app: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in app.get("vega_lite_chart")]


def encodings(node, channel: str) -> list[dict]:
    """Every encoding of `channel` in a spec, at any depth (layers, facets)."""
    if isinstance(node, list):
        return [found for item in node for found in encodings(item, channel)]
    if not isinstance(node, dict):
        return []
    own = (
        [node["encoding"][channel]]
        if isinstance(node.get("encoding"), dict) and channel in node["encoding"]
        else []
    )
    return own + [
        found for key, value in node.items() if key != "encoding" for found in encodings(value, channel)
    ]


def test_the_overviews_comparison_with_the_forecast_sits_in_its_card_and_says_what_it_compares(
    monkeypatch, full_home
):
    app = run_page(monkeypatch, full_home, "overview.py")

    card = app.columns[0].children[0]
    assert card.proto.flex_container.border, "a bordered card"
    kinds = [type(child).__name__ for child in card.children.values()]
    assert kinds == ["Metric", "Caption"], kinds
    caption = card.children[1].value
    assert (
        caption.startswith("Actual ")
        and "vs forecast:" in caption
        and "was forecast for these days" in caption
    )


def test_time_axes_tick_whole_days_horizons_whole_steps_and_no_label_is_cut_off(monkeypatch, full_home):
    pages = {
        page: run_page(monkeypatch, full_home, page) for page in ("overview.py", "forecast.py", "review.py")
    }

    for page, app in pages.items():
        for spec in specs(app):
            assert spec["config"]["axis"]["labelLimit"] == 0 and spec["config"]["legend"]["labelLimit"] == 0
            times = [x for x in encodings(spec, "x") if x.get("type") == "temporal" and "axis" in x]
            assert all("%H" not in x["axis"]["format"] for x in times), (page, times)
            assert all(x["axis"]["tickCount"]["interval"] in ("day", "week", "month") for x in times), page
    explorer = specs(pages["forecast.py"])
    horizon = [x for spec in explorer for x in encodings(spec, "x") if x.get("field") == "horizon_step"]
    assert horizon and all(x["axis"]["tickMinStep"] == 1 and x["axis"]["format"] == "d" for x in horizon)
    revisions = next(spec for spec in explorer if "Forecast made on" in json.dumps(spec))
    assert encodings(revisions, "x")[0]["axis"]["tickCount"]["interval"] == "day", "two nights, 14 days apart"


def test_a_closed_day_says_closed_beside_its_forecast_of_zero(monkeypatch, full_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(full_home, home)
    with duckdb.connect(str(home / "serving" / "synthetic.duckdb")) as connection:
        connection.execute(
            "create table marts.dim_calendar as select date_day::date as date_day, "
            "date_day::date = date '2024-07-04' as is_closed, null::varchar as holiday_name "
            "from range(date '2024-06-01', date '2024-08-01', interval 1 day) as days(date_day)"
        )
        connection.execute(
            "update predictions.forecasts set yhat = 0, yhat_lower_80 = 0, yhat_upper_80 = 0, "
            "yhat_lower_95 = 0, yhat_upper_95 = 0 where target_date = date '2024-07-04'"
        )

    app = run_page(monkeypatch, home, "forecast.py")

    table = next(md.value for md in app.markdown if "| Thu 04 Jul 2024 |" in md.value)
    row = next(line for line in table.splitlines() if "Thu 04 Jul 2024" in line)
    assert "| 0 · closed |" in row
    assert "| Wed 03 Jul 2024 | 3 | 0 · closed" not in table
    chart_data = b"".join(dataset.data.data for dataset in app.get("vega_lite_chart")[0].proto.datasets)
    assert "0 · closed".encode() in chart_data, "the chart's tooltip too"


def test_a_long_model_name_is_written_out_below_its_family(monkeypatch, full_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(full_home, home)
    with duckdb.connect(str(home / "serving" / "synthetic.duckdb")) as connection:
        connection.execute(
            "update predictions.forecasts set model = 'prophet(seasonality_mode=additive,transform=none)'"
        )

    app = run_page(monkeypatch, home, "forecast.py")

    model = next(metric for metric in app.metric if metric.label == "Model")
    assert model.value == "prophet"
    versions = next(box for box in app.selectbox if box.label == "Forecast made on")
    assert versions.options[0] == "Sun 30 Jun 2024 · prophet"
    assert "seasonality_mode=additive, transform=none · prophet-1.1.6@2024-06-30" in texts(app)


def test_money_names_the_datasets_currency(monkeypatch, full_home, tmp_path):
    """`currency:` in the dataset config; the config is found by its path, its data by its name (`synthetic`)."""
    config = tmp_path / "configs" / "synthetic.yml"
    config.parent.mkdir()
    config.write_text("currency: EUR\n" + (CONFIG_DIR / "synthetic.yml").read_text())
    app_module("dataset_settings")._currency.clear()

    overview = run_page(monkeypatch, full_home, "overview.py", dataset=str(config))
    explorer = run_page(monkeypatch, full_home, "forecast.py", dataset=str(config))

    assert [metric.label for metric in overview.metric][:2] == [
        "Revenue (EUR), last 7 days",
        "Revenue (EUR), last 28 days",
    ]
    assert [metric.label for metric in overview.metric][2] == "Units, last 7 days", "units are no money"
    assert "Revenue (EUR) per day" in overview.get("vega_lite_chart")[0].proto.spec
    assert "Revenue (EUR), last 7 days minus the 7 before" in overview.get("vega_lite_chart")[1].proto.spec
    labels = [metric.label for metric in explorer.metric]
    assert labels[:2] == ["Revenue (EUR), last 7 days", "Forecast (EUR), next 28 days"]
    assert "| Forecast revenue (EUR) |" in texts(explorer)


def test_without_a_currency_money_is_plain_numbers(monkeypatch, full_home):
    app_module("dataset_settings")._currency.clear()
    overview = run_page(monkeypatch, full_home, "overview.py")

    assert overview.metric[0].label == "Revenue, last 7 days"
    assert "(EUR)" not in texts(overview)
