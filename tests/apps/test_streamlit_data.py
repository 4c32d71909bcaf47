"""The app's data module against a small serving file, without a browser or a Streamlit server."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from daybreak.warehouse import tables

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"


@pytest.fixture
def data(app_data, daybreak_env):
    return app_data


def test_serving_file_is_the_settings_serving_path(data, daybreak_env: Path):
    version = data.serving.serving_version()

    assert version is not None
    assert Path(version.path) == daybreak_env / "serving" / "synthetic.duckdb"


def test_a_missing_serving_file_is_reported_not_raised_as_a_duckdb_error(app_data, monkeypatch, empty_home):
    monkeypatch.setenv("DAYBREAK_HOME", str(empty_home))

    assert app_data.serving.serving_version() is None
    with pytest.raises(app_data.serving.NotPublishedError):
        app_data.series.list_series()
    assert not (empty_home / "serving").exists(), "a reader must never create the serving file"


def test_every_relation_the_app_reads_is_a_dbt_model_or_a_table_a_job_declares(app_data):
    marts = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text())["models"]["daybreak"]["marts"]
    relations = app_data.relations.Relation

    assert relations.FORECASTS.is_dbt_model, "the forecasts are read through dbt's view, not the job's table"
    for relation in relations:
        schema, name = relation.split(".")
        if relation.is_dbt_model:
            [model] = (DBT_PROJECT / "models" / "marts").rglob(f"{name}.sql")
            folder = marts.get(model.parent.name, {})
            assert folder.get("+schema", marts["+schema"]) == schema, (relation, model)
        else:
            assert tables.table(relation).qualified == relation


def test_forecasts_written_before_overrides_and_grains_read_as_the_models_daily_values(data, serving_spec):
    """The fixture's rows leave `yhat_statistical` and `frequency` null, as rows written before them did, until a
    night's `tables.ensure` fills them in (`Column.backfill`)."""
    rows = data.series.forecast("total", serving_spec.last_actual)

    assert (rows["yhat_statistical"] == rows["yhat"]).all()
    assert set(rows["frequency"]) == {"daily"} and rows["override_id"].isna().all()
    assert (rows["period"] == pd.to_datetime(rows["target_date"])).all()


def test_the_airflow_link_follows_airflows_own_settings(data, monkeypatch):
    monkeypatch.delenv("AIRFLOW__API__BASE_URL", raising=False)
    monkeypatch.setenv("AIRFLOW__API__PORT", "18080")
    assert data.artefacts.airflow_url() == "http://localhost:18080"

    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com")
    assert data.artefacts.airflow_url() == "https://airflow.example.com"


def test_list_series_puts_total_first(data):
    assert data.series.list_series() == ["total", "location=Germany"]


def test_list_forecast_versions_newest_first(data, serving_spec):
    versions = data.series.list_forecast_versions("total")

    assert versions["as_of_date"].tolist() == sorted(serving_spec.as_of_dates, reverse=True)
    assert set(versions["target"]) == {"revenue"}
    assert set(versions["horizon"]) == {serving_spec.horizon}
    assert versions["first_target_date"].iloc[0] == serving_spec.last_actual + dt.timedelta(days=1)


def test_forecast_returns_one_version_in_date_order(data, serving_spec):
    rows = data.series.forecast("location=Germany", serving_spec.as_of_dates[0])

    assert len(rows) == serving_spec.horizon
    assert rows["horizon_step"].tolist() == list(range(1, serving_spec.horizon + 1))
    assert isinstance(rows["target_date"].iloc[0], dt.date)
    assert (rows["yhat_lower_95"] <= rows["yhat_lower_80"]).all()
    assert (rows["yhat_lower_80"] <= rows["yhat"]).all()
    assert (rows["yhat"] <= rows["yhat_upper_80"]).all()
    assert (rows["yhat_upper_80"] <= rows["yhat_upper_95"]).all()


def test_actuals_are_inclusive_of_both_ends(data, serving_spec):
    start = serving_spec.last_actual - dt.timedelta(days=6)
    frame = data.series.actuals("total", start, serving_spec.last_actual)

    assert frame["sales_date"].tolist() == [start + dt.timedelta(days=i) for i in range(7)]
    assert list(frame.columns) == ["sales_date", "units", "revenue"]


def test_actuals_range(data, serving_spec):
    days = serving_spec.series["location=Germany"][0]

    assert data.series.actuals_range("location=Germany") == (
        serving_spec.last_actual - dt.timedelta(days=days - 1),
        serving_spec.last_actual,
    )
    assert data.series.actuals_range("location=Atlantis") is None


def test_values_are_bound_not_formatted_into_sql(data, serving_spec):
    """A series id full of SQL is just a series id that does not exist."""
    hostile = "total' or '1'='1"

    assert data.series.actuals(hostile, dt.date(2000, 1, 1), serving_spec.last_actual).empty
    assert data.series.list_forecast_versions(hostile).empty


def test_missing_tables(data):
    assert data.serving.missing_tables("marts.fct_daily_sales", "predictions.forecasts") == []
    assert data.serving.missing_tables("predictions.customer_segments") == ["predictions.customer_segments"]


def test_the_connection_is_read_only(data):
    version = data.serving.serving_version()
    connection = data.serving._connection(version.path, version.mtime_ns)

    with pytest.raises(duckdb.Error, match="read-only"):
        connection.cursor().execute("create table serving.marts.scratch (x integer)")


def test_a_new_publish_is_read_without_a_restart(app_data, monkeypatch, tmp_path, serving_home, serving_spec):
    """The nightly publish renames a new file over the serving file; the next query must see it."""
    home = tmp_path / "home"
    serving = home / "serving" / "synthetic.duckdb"
    serving.parent.mkdir(parents=True)
    shutil.copyfile(serving_home / "serving" / "synthetic.duckdb", serving)
    monkeypatch.setenv("DAYBREAK_HOME", str(home))
    assert app_data.series.list_series() == ["total", "location=Germany"]

    # Given a new night's file with one more series, published the way `warehouse.publish` does it (not named
    # `staging.duckdb`: DuckDB names the catalog after the file, which would shadow dbt's `staging` schema)
    staging = serving_spec.build(tmp_path / "next_night.duckdb")
    with duckdb.connect(str(staging)) as connection:
        connection.execute(
            "insert into predictions.forecasts select * replace ('location=France' as series_id) "
            "from predictions.forecasts where series_id = 'total'"
        )
    os.replace(staging, serving)
    stat = serving.stat()
    os.utime(serving, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))

    # Then the same call reads the new file, not the cached connection's or results' old one
    assert app_data.series.list_series() == ["total", "location=France", "location=Germany"]


def test_forecast_components_of_one_version(app_data, monkeypatch, components_home, serving_spec):
    monkeypatch.setenv("DAYBREAK_HOME", str(components_home))
    parts = app_data.forecast.forecast_components("total", serving_spec.as_of_dates[0])
    assert set(parts["component"]) == {"trend", "weekly"}
    assert len(parts) == 2 * serving_spec.horizon
    assert parts["period"].iloc[0] == pd.Timestamp(serving_spec.as_of_dates[0] + dt.timedelta(days=1))


def test_forecast_components_without_the_table_are_empty(data, serving_spec):
    assert data.forecast.forecast_components("total", serving_spec.as_of_dates[0]).empty


@pytest.fixture
def full(app_data, monkeypatch, full_home):
    monkeypatch.setenv("DAYBREAK_HOME", str(full_home))
    monkeypatch.setenv("DAYBREAK_DATASET", "synthetic")
    return app_data


def test_segment_transitions_account_for_every_customer_of_the_later_date(full):
    moves = full.segments.segment_transitions(dt.date(2024, 6, 16), dt.date(2024, 6, 30))

    assert moves["customers"].sum() == 60
    assert moves.groupby("from_segment")["share_of_from"].sum().round(9).eq(1).all()
    assert full.segments.customer_history("C0005")["as_of_date"].tolist() == [
        dt.date(2024, 6, 2),
        dt.date(2024, 6, 16),
        dt.date(2024, 6, 30),
    ]


def test_accuracy_by_horizon_beside_the_seasonal_naive(full, serving_spec):
    scores = full.forecast.accuracy_by_horizon("total")

    assert scores["horizon_step"].tolist() == list(range(1, 15)), "the 16 Jun forecast, 14 days with actuals"
    assert scores[["wape", "naive_wape"]].notna().all().all()
    assert full.forecast.accuracy_by_horizon("total' or '1'='1").empty


def test_forecast_revisions_only_count_nights_that_covered_the_whole_window(full, grain):
    first, last = pd.Timestamp("2024-07-01"), pd.Timestamp("2024-07-07")
    moves = full.forecast.forecast_revisions("total", first, last, grain.Grain())

    assert moves["as_of_date"].tolist() == [dt.date(2024, 6, 16), dt.date(2024, 6, 30)]
    assert moves["periods"].tolist() == [7, 7]


def test_actuals_at_a_weekly_grain_are_the_days_summed_into_its_weeks(full, grain, serving_spec):
    days = full.series.actuals("total", dt.date(2024, 6, 1), serving_spec.last_actual)
    weeks = full.series.period_actuals(
        "total", dt.date(2024, 6, 1), serving_spec.last_actual, grain.Grain("weekly", 6)
    )

    # Saturday 1 June opens the window: of the week ending Sunday 2 June it holds the Saturday and the Sunday
    assert weeks["period"].dt.weekday.eq(6).all() and weeks["period"].iloc[-1] == pd.Timestamp("2024-06-30")
    assert weeks["revenue"].sum() == pytest.approx(days["revenue"].sum())
    daily = full.series.period_actuals("total", dt.date(2024, 6, 1), serving_spec.last_actual, grain.Grain())
    assert daily["revenue"].tolist() == days["revenue"].tolist()


def test_movers_rank_series_by_the_size_of_their_change(full, serving_spec):
    movers = full.overview.movers(serving_spec.last_actual)

    assert movers["series_id"].tolist() == ["location=Germany"], "the total is not a mover"
    row = movers.iloc[0]
    assert row["change"] == pytest.approx(row["current"] - row["previous"])


def test_the_report_reader_only_opens_files_under_the_reports_folder(full, full_home):
    report = next((full_home / "reports").rglob("*.html"))

    assert "Evidently" in full.artefacts.report_html(str(report))
    assert full.artefacts.report_html("/etc/passwd") is None
    assert (
        full.artefacts.report_html(str(report.parent / ".." / ".." / ".." / "serving" / "synthetic.duckdb"))
        is None
    )


def test_dbt_results_from_run_results_json_and_empty_without_it(full, app_data, monkeypatch, empty_home):
    results = full.artefacts.dbt_results()
    assert set(results.loc[results["kind"] == "test", "status"]) == {"pass", "warn"}

    monkeypatch.setenv("DAYBREAK_HOME", str(empty_home))
    assert app_data.artefacts.dbt_results().empty


def test_override_applications_and_value_added(full):
    applied = full.review.override_applications()
    assert applied[["override_id", "nights", "rows"]].values.tolist() == [["ov-0123456789ab", 1, 3]]
    added = full.model_health.forecast_value_added()
    assert added["author"].tolist() == ["ana@example.com"]
    assert added["scored_periods"].tolist() == [3]


def test_drift_metrics_are_the_features_nearest_their_threshold_over_every_night(full):
    frame = full.model_health.drift_metrics(top=3)

    assert sorted(frame["feature"].unique()) == [f"forecast inputs: total:feature_{i}" for i in (7, 8, 9)]
    assert (frame["relative"] == frame["statistic"] / frame["threshold"]).all()
    assert frame.groupby("feature").size().nunique() == 1  # every night of each feature
    assert frame["drifted"].any()
