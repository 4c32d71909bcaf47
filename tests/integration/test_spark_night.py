"""A history load and a night on Spark give the tables the same load and night give on DuckDB.

Given a small synthetic shop (two months, three locations), when one data home runs `load_history` and then
`run_night` with the default engine and another with `engine="spark"` (dbt-spark with a local PySpark session,
the marts published to DuckDB as views over Spark's Parquet, the forecasts through `applyInPandas`, the segments
through `mapInPandas`), then every mart holds exactly the same values on both, and the forecasts and every other
predictions table are equal within 1e-9 relative: the whole nightly code path, setting alone switching engine.

The night is a Sunday, the scheduled retrain, so both the history load (no champion yet) and the night backtest,
select and fit every series, Prophet included. On Spark, dbt builds the models but skips the ~190 data tests
(`DBT_EXCLUDE_RESOURCE_TYPES`): each is a Spark job of its own, about 10 minutes a build in local mode, and the
same tests pass on the same models in `test_dbt_project` and the DuckDB home here.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from daybreak.core.settings import Settings
from daybreak.warehouse.connection import connect
from tests.integration.test_dbt_project import MART_TABLES
from tests.integration.test_spark_models import PREDICTIONS, RELATIVE, table_rows

pytestmark = [pytest.mark.integration, pytest.mark.long(minutes=5)]

START, HISTORY_END, NIGHT = dt.date(2024, 2, 1), dt.date(2024, 3, 30), dt.date(2024, 3, 31)
MARTS = (*MART_TABLES, "marts.fct_forecast_health")


def engine_home(root: Path, engine: str) -> Settings:
    """`engine`'s data home under `root` after the history load up to HISTORY_END and the night of NIGHT, over the
    landing folder both share."""
    from jobs.pipeline import load_history, run_night

    settings = Settings(home=root / engine, dataset="synthetic", engine=engine, spark_master="local[2]")
    settings.landing_dir.parent.mkdir(parents=True)
    settings.landing_dir.symlink_to(root / "landing", target_is_directory=True)
    load_history(HISTORY_END, settings)
    run_night(NIGHT, f"night__{NIGHT}", settings)
    return settings


def spark_home(root: Path) -> Settings:
    """`engine_home` on Spark, in a process of its own: the data tests are skipped there alone, and the Spark
    session the model steps start ends with it (left running in a test process, a later test's in-process
    dbt-spark would get it, with its in-memory catalog, instead of starting its own)."""
    os.environ["DBT_EXCLUDE_RESOURCE_TYPES"] = "test unit_test"
    return engine_home(root, "spark")


@pytest.fixture(scope="module")
def homes(tmp_path_factory):
    """Both engines' data homes, built side by side: Spark's in a spawned process while DuckDB's runs here (most
    of either is waiting on dbt's and Spark's own processes)."""
    pytest.importorskip("pyspark")
    from daybreak.ingest.simulation.synthetic import simulate_synthetic

    root = tmp_path_factory.mktemp("engines")
    simulate_synthetic(
        root / "landing", start=START, end=NIGHT, seed=7, customers=150, products=40, locations=3
    )
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        on_spark = pool.submit(spark_home, root)
        return {"duckdb": engine_home(root, "duckdb"), "spark": on_spark.result()}


@pytest.mark.parametrize("table", MARTS)
def test_every_mart_on_spark_holds_exactly_the_duckdb_values(homes, table):
    on_duckdb = table_rows(homes["duckdb"], table)
    on_spark = table_rows(homes["spark"], table, list(on_duckdb.columns))

    assert len(on_duckdb), table
    # exact: money and units are summed as decimals (macro exact_sum), so no engine's order of addition shows
    pd.testing.assert_frame_equal(on_spark, on_duckdb, check_dtype=False, check_exact=True, obj=table)


@pytest.mark.parametrize("table", PREDICTIONS)
def test_every_prediction_on_spark_equals_the_duckdb_one(homes, table):
    on_duckdb = table_rows(homes["duckdb"], table)
    on_spark = table_rows(homes["spark"], table, list(on_duckdb.columns))

    assert len(on_duckdb), table
    pd.testing.assert_frame_equal(on_spark, on_duckdb, check_exact=False, rtol=RELATIVE, atol=0, obj=table)


def test_the_night_retrained_every_series_with_prophet_among_the_candidates(homes):
    with connect(homes["spark"].warehouse_path, read_only=True) as connection:
        series, prophet_backtests = connection.execute(
            """
            select count(distinct series_id), count(*) filter (where model like 'prophet%')
            from predictions.backtest_metrics where as_of_date = ?
            """,
            [NIGHT],
        ).fetchone()
    assert series >= 4 and prophet_backtests > 0
