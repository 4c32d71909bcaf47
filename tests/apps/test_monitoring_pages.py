"""The monitoring pages in a reader's words: profile features and drift features named, not spelled as columns;
the drift chart says which columns drifted; the MASE scores explained so that 1.1 to 1.2 does not read as failure."""

from __future__ import annotations

import json

import pyarrow as pa

from tests.apps.test_pages import charts, run_page, texts


def frame(arrow_bytes: bytes):
    return pa.ipc.open_stream(arrow_bytes).read_pandas()


def chart_with(app, text: str):
    return next(chart for chart in charts(app) if text in chart.proto.spec)


def dataset(chart, name: str):
    return frame(next(d.data.data for d in chart.proto.datasets if d.name == name))


def test_the_profile_heat_map_names_each_feature_in_words_and_its_legend_reads_plainly(
    monkeypatch, full_home
):
    app = run_page(monkeypatch, full_home, "segments.py")

    chart = chart_with(app, "mean_vs_population")
    assert set(frame(chart.proto.data.data)["feature"]) == {"Days since last purchase", "Orders"}
    spec = json.loads(chart.proto.spec)
    assert spec["encoding"]["color"]["legend"]["format"] == ".1~f"
    assert spec["encoding"]["y"]["axis"]["labelLimit"] == 0, "feature names are never cut off"


def test_the_drift_chart_names_the_columns_that_drifted(monkeypatch, full_home):
    app = run_page(monkeypatch, full_home, "model_health.py")

    chart = chart_with(app, "Share of columns drifted")
    assert set(dataset(chart, "drifted")["column"]) == {"Quantity per line", "Unit price"}
    nights = dataset(chart, "nights")
    assert {"none", "Quantity per line", "Quantity per line, Unit price"} == set(nights["columns_text"])
    assert "Columns drifted" in chart.proto.spec
    assert "the red marks below it name them" in texts(app)


def test_drift_features_are_named_in_words_and_their_legend_fits(monkeypatch, full_home):
    app = run_page(monkeypatch, full_home, "model_health.py")

    chart = chart_with(app, "Distance / threshold")
    features = set(frame(chart.proto.data.data)["feature"])
    assert "Forecast inputs · All locations · Feature 9" in features
    legend = json.loads(chart.proto.spec)["layer"][0]["encoding"]["color"]["legend"]
    assert legend["labelLimit"] == 0 and legend["orient"] == "bottom"


def test_backtest_scores_are_explained_in_a_planners_words(monkeypatch, full_home):
    app = run_page(monkeypatch, full_home, "model_health.py")

    caption = texts(app)
    assert "below 1 beats the seasonal naive" not in caption
    assert "scores above 1 are usual and do not mean the models fail" in caption
    assert "a bar shorter than it beats copying last season" in caption
