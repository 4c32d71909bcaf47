"""The whole Kaggle store-item demand file through the ingest job and a full `dbt build` with every test.

913,000 daily totals of 50 items in 10 stores over 1,826 days: one export per day, ingested day by day, then the
marts built once. The forecasting of all 500 series is a benchmark (bench/), not a test.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pytest

from daybreak.core.settings import Settings

pytestmark = pytest.mark.integration

FIRST_DAY, LAST_DAY = dt.date(2013, 1, 1), dt.date(2017, 12, 31)


@pytest.fixture(scope="module")
def built(shared_data, tmp_path_factory, airflow_db) -> Settings:
    from daybreak.datasets import load_dataset_config
    from daybreak.ingest.simulation.replay import replay_dataset
    from jobs import ingest, transform

    settings = Settings(home=tmp_path_factory.mktemp("store_item"), dataset="store_item")
    replay_dataset(
        load_dataset_config("store_item"),
        settings.landing_dir,
        source=str(shared_data / "store_item_demand" / "demand-forecasting-kernels-only.zip"),
    )
    days = [FIRST_DAY + dt.timedelta(days=i) for i in range((LAST_DAY - FIRST_DAY).days + 1)]
    ingest.run_days(days, "replay", settings)
    transform.run(LAST_DAY, "replay", settings, full_refresh=True)
    return settings


def test_every_model_and_test_passes_on_the_whole_file(built):
    results = json.loads((built.dbt_target_dir / "run_results.json").read_text())["results"]
    statuses = {result["unique_id"]: result["status"] for result in results}
    # Exposures (the dashboards' declared dependencies) have nothing to run: dbt reports them as no-op.
    exposures = {node for node in statuses if node.startswith("exposure.")}
    assert {statuses[node] for node in exposures} <= {"no-op"}, statuses
    assert {status for node, status in statuses.items() if node not in exposures} <= {"success", "pass"}, (
        statuses
    )
    assert sum(node.startswith("test.") for node in statuses) > 40
    assert "test.daybreak.assert_sales_lines_revenue_reconciles_with_ingest" in statuses


def test_every_row_is_loaded_and_every_series_is_daily(built):
    with duckdb.connect(str(built.warehouse_path), read_only=True) as connection:
        assert connection.execute(
            "select sum(rows_in), sum(rows_loaded), sum(rows_quarantined), count(*) from monitoring.ingest_runs"
        ).fetchone() == (913_000, 913_000, 0, 1_826)
        assert connection.execute(
            "select count(distinct series_id), count(*), min(sales_date), max(sales_date) from marts.fct_daily_sales"
        ).fetchone() == (501, 501 * 1_826, FIRST_DAY, LAST_DAY)  # 500 store-items and the total
        assert connection.execute(
            "select count(*) from marts.features_series_daily where sales_date = ? and units_lag_28 is not null",
            [LAST_DAY],
        ).fetchone() == (501,)
        assert connection.execute(
            "select line_kind, count(*) from marts.fct_sales_lines group by 1"
        ).fetchall() == [("sale", 913_000)]
