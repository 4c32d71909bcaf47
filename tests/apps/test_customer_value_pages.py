"""Customer value on the dashboards (issue 29): the Segments page's queries (value by segment, the night compared
with, the valuable customers slipping away), Model health's calibration check, and both pages on a dataset whose
customer value is off (no table), not scored yet (no rows), scored once, or retrained on its latest night."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.apps.conftest import CUSTOMERS, SEGMENT_NIGHTS, VALUE_VERSIONS, value_of

APP = str(Path(__file__).resolve().parents[2] / "apps" / "streamlit" / "app.py")
LATEST = SEGMENT_NIGHTS[-1]
# the charts the pages draw on the full fixture: customer value adds one to Segments and two to Model health
SEGMENTS_CHARTS, HEALTH_CHARTS = 5, 7
VALUE_TABLES = ("predictions.customer_value", "predictions.customer_value_calibration")


def changed_home(full_home: Path, folder: Path, *statements: str) -> Path:
    """A copy of the full fixture's data home with `statements` run on its serving file."""
    home = folder / "home"
    shutil.copytree(full_home, home)
    with duckdb.connect(str(home / "serving" / "synthetic.duckdb")) as connection:
        for statement in statements:
            connection.execute(statement)
    return home


@pytest.fixture
def full(app_data, monkeypatch, full_home):
    monkeypatch.setenv("DAYBREAK_HOME", str(full_home))
    monkeypatch.setenv("DAYBREAK_DATASET", "synthetic")
    return app_data


def use(app_data, monkeypatch, home: Path):
    monkeypatch.setenv("DAYBREAK_HOME", str(home))
    monkeypatch.setenv("DAYBREAK_DATASET", "synthetic")
    return app_data


def fixture_values(night: int) -> pd.DataFrame:
    """The fixture's customer value on the `night`-th segment night, as `value_of` made it."""
    rows = [(customer, *value_of(index, night)) for index, customer in enumerate(CUSTOMERS)]
    return pd.DataFrame(rows, columns=["customer_id", "probability", "revenue"])


def test_value_by_segment_adds_up_the_latest_night_by_that_nights_segments(full):
    frame = full.segments.value_by_segment()
    latest = fixture_values(len(SEGMENT_NIGHTS) - 1)

    assert frame["as_of_date"].unique().tolist() == [LATEST]
    assert frame["segment_name"].tolist() == ["Loyal big spenders", "Occasional buyers", "Lapsed"]
    assert frame["customers"].sum() == len(CUSTOMERS)
    assert frame["expected_revenue"].sum() == pytest.approx(latest["revenue"].sum())
    weighted = (frame["mean_probability_active"] * frame["customers"]).sum() / frame["customers"].sum()
    assert weighted == pytest.approx(latest["probability"].mean())
    assert frame["horizon_days"].tolist() == [90, 90, 90]


def test_customers_the_segmentation_did_not_score_are_counted_as_not_segmented(
    app_data, monkeypatch, full_home, tmp_path
):
    home = changed_home(
        full_home,
        tmp_path,
        f"delete from predictions.customer_segments where customer_id = 'C0001' and as_of_date = '{LATEST}'",
    )
    frame = use(app_data, monkeypatch, home).segments.value_by_segment()

    assert frame["segment_name"].iloc[-1] == "Not segmented"
    assert frame["customers"].iloc[-1] == 1
    assert frame["customers"].sum() == len(CUSTOMERS)


def test_the_latest_night_is_compared_with_the_first_night_of_the_version_that_scored_it(full):
    baseline = full.segments.value_baseline()

    assert baseline == full.segments.Baseline(LATEST, "v2", SEGMENT_NIGHTS[1], since_retrain=True)


def test_a_version_trained_on_the_latest_night_is_compared_with_the_previous_versions_last_night(
    app_data, monkeypatch, full_home, tmp_path
):
    home = changed_home(
        full_home,
        tmp_path,
        f"update predictions.customer_value set model_version = 'v3' where as_of_date = '{LATEST}'",
    )
    baseline = use(app_data, monkeypatch, home).segments.value_baseline()

    assert baseline == app_data.segments.Baseline(LATEST, "v3", SEGMENT_NIGHTS[1], since_retrain=False)


def test_one_night_scored_has_nothing_to_compare_with(app_data, monkeypatch, full_home, tmp_path):
    home = changed_home(
        full_home, tmp_path, f"delete from predictions.customer_value where as_of_date < '{LATEST}'"
    )
    assert use(app_data, monkeypatch, home).segments.value_baseline() is None


def test_the_valuable_customers_whose_probability_fell_most_come_first(full):
    baseline = full.segments.value_baseline()
    slipping = full.segments.slipping_customers(baseline, top_share=0.5, limit=5)

    then, now = fixture_values(1), fixture_values(2)
    expected = then.merge(now, on="customer_id", suffixes=("_then", "_now"))
    expected["fall"] = expected["probability_then"] - expected["probability_now"]
    valuable = expected["revenue_then"].rank(ascending=False, method="max") / len(expected) <= 0.5
    expected = expected[valuable & (expected["fall"] > 0)].sort_values(
        ["fall", "revenue_then", "customer_id"], ascending=[False, False, True]
    )
    assert slipping["customer_id"].tolist() == expected["customer_id"].head(5).tolist()
    assert slipping["probability_then"].tolist() == expected["probability_then"].head(5).tolist()
    assert slipping["revenue_now"].tolist() == expected["revenue_now"].head(5).tolist()
    assert (slipping["fall"] > 0).all() and slipping["fall"].is_monotonic_decreasing
    assert slipping["segment_name"].notna().all()


def test_a_fall_smaller_than_the_least_listed_is_no_customer_slipping_away(full):
    baseline = full.segments.value_baseline()
    everyone = full.segments.slipping_customers(baseline, top_share=1.0, min_fall=1e-12, limit=100)
    large = full.segments.slipping_customers(baseline, top_share=1.0, min_fall=0.065, limit=100)

    assert len(everyone) == len(CUSTOMERS) // 5  # every fifth customer's probability fell
    assert set(large["customer_id"]) == set(everyone.loc[everyone["fall"] >= 0.065, "customer_id"])
    assert 0 < len(large) < len(everyone)


def test_segments_says_when_no_valuable_customers_probability_fell_enough(monkeypatch, full_home, tmp_path):
    home = changed_home(
        full_home,
        tmp_path,
        "update predictions.customer_value l set probability_active = e.probability_active - 0.005 "
        f"from predictions.customer_value e where l.as_of_date = '{LATEST}' "
        f"and e.as_of_date = '{SEGMENT_NIGHTS[1]}' and e.customer_id = l.customer_id",
    )
    app = run_page(monkeypatch, home, "segments.py")

    assert not app.exception
    assert (
        "No valuable customer's probability of being active fell by 1% or more between those nights."
        in captions(app)
    )
    assert len(app.dataframe) == 1


def test_the_calibration_shown_is_the_version_trained_last(full):
    frame = full.model_health.customer_value_calibration()
    version, night = VALUE_VERSIONS[SEGMENT_NIGHTS[1]], SEGMENT_NIGHTS[1]

    assert frame[["as_of_date", "model_version", "status"]].drop_duplicates().values.tolist() == [
        [night, version, "champion"]
    ]
    assert frame["calibration_purchases"].tolist() == list(range(7))
    assert frame["predicted_purchases"].iloc[0] == pytest.approx(0.3)


def test_without_the_tables_the_queries_return_nothing_rather_than_fail(
    data_home_without_value, app_data, monkeypatch
):
    data = use(app_data, monkeypatch, data_home_without_value)

    assert data.segments.value_by_segment().empty
    assert data.segments.value_baseline() is None
    assert data.model_health.customer_value_calibration().empty
    assert list(data.model_health.customer_value_calibration().columns) == [
        "as_of_date",
        "model_version",
        "status",
        "calibration_purchases",
        "customers",
        "predicted_purchases",
        "actual_purchases",
    ]


@pytest.fixture(params=["disabled", "not_scored_yet"])
def data_home_without_value(request, full_home, tmp_path) -> Path:
    """The full fixture as a dataset with customer value off (the tables never written) or on but not scored yet
    (the tables there, no rows)."""
    verb = "drop table" if request.param == "disabled" else "delete from"
    return changed_home(full_home, tmp_path, *(f"{verb} {table}" for table in VALUE_TABLES))


def run_page(monkeypatch, home: Path, page: str) -> AppTest:
    monkeypatch.setenv("DAYBREAK_HOME", str(home))
    monkeypatch.setenv("DAYBREAK_DATASET", "synthetic")
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.switch_page(f"app_pages/{page}")
    app.run()
    return app


def captions(app: AppTest) -> str:
    return "\n".join(str(element.value) for element in app.caption)


def test_segments_shows_value_by_segment_and_the_customers_slipping_away(monkeypatch, full_home):
    app = run_page(monkeypatch, full_home, "segments.py")

    assert not app.exception, [e.value for e in app.exception]
    assert "Customer value" in [header.value for header in app.subheader]
    assert len(app.get("vega_lite_chart")) == SEGMENTS_CHARTS
    by_segment, slipping = (table.value for table in app.dataframe)
    assert by_segment["customers"].sum() == len(CUSTOMERS)
    assert slipping["customer_id"].tolist() == ["C0050", "C0010", "C0025"]  # the top fifth that fell
    text = captions(app)
    assert (
        f"Scored {LATEST:%a %d %b %Y}: what each segment's customers are expected to spend over the next 90 days"
        in text
    )
    assert "is the first night the current model (version v2) scored" in text


def test_segments_says_when_the_latest_night_was_scored_by_a_version_trained_that_night(
    monkeypatch, full_home, tmp_path
):
    home = changed_home(
        full_home,
        tmp_path,
        f"update predictions.customer_value set model_version = 'v3' where as_of_date = '{LATEST}'",
    )
    app = run_page(monkeypatch, home, "segments.py")

    assert not app.exception
    assert "is the last night of the version before it" in captions(app)


def test_segments_with_one_night_scored_shows_the_value_and_says_a_fall_needs_two(
    monkeypatch, full_home, tmp_path
):
    home = changed_home(
        full_home, tmp_path, f"delete from predictions.customer_value where as_of_date < '{LATEST}'"
    )
    app = run_page(monkeypatch, home, "segments.py")

    assert not app.exception
    assert "Customer value has been scored on one night only; a fall needs two." in captions(app)
    assert len(app.dataframe) == 1


def test_no_customer_value_reads_as_one_line_on_each_page_and_draws_no_empty_chart(
    monkeypatch, data_home_without_value
):
    segments = run_page(monkeypatch, data_home_without_value, "segments.py")

    assert not segments.exception, [e.value for e in segments.exception]
    assert "No customer value has been published for this dataset" in captions(segments)
    assert len(segments.get("vega_lite_chart")) == SEGMENTS_CHARTS - 1  # not the value's, nor an empty one
    assert not segments.dataframe

    health = run_page(monkeypatch, data_home_without_value, "model_health.py")
    assert not health.exception, [e.value for e in health.exception]
    assert "No customer-value model has been trained for this dataset" in captions(health)
    assert len(health.get("vega_lite_chart")) == HEALTH_CHARTS - 2  # neither calibration chart


def test_model_health_plots_the_calibration_of_the_version_trained_last(monkeypatch, full_home):
    app = run_page(monkeypatch, full_home, "model_health.py")

    assert not app.exception
    assert "Customer value: predicted against actual purchases" in [header.value for header in app.subheader]
    assert f"Version v2 (champion now), trained {SEGMENT_NIGHTS[1]:%a %d %b %Y}" in captions(app)
    assert "(the last group: 6 or more)" in captions(app)
    assert len(app.get("vega_lite_chart")) == HEALTH_CHARTS
