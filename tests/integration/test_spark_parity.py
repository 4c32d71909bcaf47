"""The same dbt models on Spark (dbt-spark, a local[2] PySpark session) build the marts the DuckDB run builds.

Given the tiny lake of test_dbt_project (three business days, 03-02 closed), when both engines build the night of
03-01 and then the night of 03-03 rebuilding from 03-02 (an incremental run over two dates, as after a late file),
then every mart holds the same rows with the same values (floats within 1e-9), the incremental marts on Spark are
Parquet tables partitioned by their date column, and the Python-written tables are in Spark's catalog.

Spark builds in this process through dbtRunner, so its session (the JVM, the main fixed cost) starts once for both
nights and the reads. Both engines run `dbt run` (the models): each of the ~180 data tests is a Spark job of its own,
and test_dbt_project runs them on DuckDB.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import numbers
import os
import shutil

import duckdb
import pandas as pd
import pytest

from daybreak.core.settings import Settings
from daybreak.datasets.calendar import BusinessCalendar
from daybreak.nights import spark
from daybreak.warehouse import tables
from daybreak.warehouse.calendar_days import write_calendar_days
from daybreak.warehouse.connection import connect
from jobs import transform
from tests.integration.test_dbt_project import MART_TABLES, SERIES_VARS, dbt, land_and_ingest

pytestmark = [pytest.mark.integration, pytest.mark.long(minutes=2)]

NIGHTS = [("2024-03-01", None), ("2024-03-03", "2024-03-02")]
COMPARED = (*MART_TABLES, "marts.fct_forecast_health")
PARTITIONED = {
    "marts.fct_sales_lines": "business_date",
    "marts.fct_daily_sales": "sales_date",
    "marts.features_series_daily": "sales_date",
    "marts.features_customer_asof": "as_of_date",
}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("spark_home")
    land_and_ingest(home / "lake" / "synthetic")
    return home


@pytest.fixture(scope="module")
def duckdb_warehouse(home, tmp_path_factory):
    """Both nights built by dbt-duckdb in a copy of the home's warehouse."""
    warehouse = tmp_path_factory.mktemp("duckdb") / "warehouse.duckdb"
    shutil.copyfile(Settings(home=home).warehouse_path, warehouse)
    (warehouse.parent / "lake").symlink_to(home / "lake")  # its folder is its data home for `dbt`
    for night, rebuild in NIGHTS:
        with duckdb.connect(str(warehouse), config={"file_search_path": str(warehouse.parent)}) as connection:
            write_calendar_days(connection, BusinessCalendar(), dt.date.fromisoformat(night), "test")
        run = dbt(warehouse, "run", run_date=night, rebuild_from=rebuild)
        assert run.success, run.output[-5000:]
    return warehouse


@pytest.fixture(scope="module")
def duckdb_marts(duckdb_warehouse):
    with duckdb.connect(str(duckdb_warehouse), read_only=True) as connection:
        return {table: connection.execute(f"select * from {table}").df() for table in COMPARED}  # noqa: S608


@pytest.fixture(scope="module")
def spark_session(home):
    """Both nights built on Spark the way the transform job builds them, in one session of this process."""
    pytest.importorskip("pyspark")
    from dbt.cli.main import dbtRunner

    settings = Settings(home=home, dataset="synthetic", engine="spark")
    saved = dict(os.environ)
    runner = dbtRunner()
    try:
        for night, rebuild in NIGHTS:
            business_date = dt.date.fromisoformat(night)
            with connect(settings.warehouse_path) as connection:
                write_calendar_days(connection, BusinessCalendar(), business_date, "test")
            variables = {**SERIES_VARS, "spark_sources": spark.export_sources(settings)}
            stale_from = dt.date.fromisoformat(rebuild) if rebuild else None
            args = ["run", "--vars", json.dumps(variables)]
            command, env = transform.dbt_command(settings, args, business_date, stale_from)
            os.environ.update(env)
            result = runner.invoke(command[1:])
            assert result.success, f"dbt run on Spark for {night} failed: {result.exception}"
        from pyspark.sql import SparkSession

        session = SparkSession.builder.getOrCreate()  # dbt's: it ran in another thread of this process
        yield session
        session.stop()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def normalised(frame: pd.DataFrame) -> list[tuple]:
    """Rows as comparable tuples in a fixed order: days and times as ISO text (DuckDB gives datetime64, Spark a
    date), numbers as floats, missing values as None."""
    columns = []
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            values = values.dt.strftime("%Y-%m-%d %H:%M:%S")
        columns.append([_plain(value) for value in values.astype(object)])
    return sorted(zip(*columns, strict=True), key=_order)


def _plain(value):
    if value is None or value is pd.NA:
        return None
    if isinstance(value, dt.date):
        return f"{value.isoformat()} 00:00:00"
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return None if math.isnan(float(value)) else float(value)
    return value


def _same(got, want) -> bool:
    if isinstance(got, float) and isinstance(want, float):
        return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)
    return got == want


def _order(row: tuple) -> list:
    return [(v is None, f"{v:.6f}" if isinstance(v, float) else str(v)) for v in row]


def test_the_marts_on_spark_equal_the_marts_on_duckdb(spark_session, duckdb_marts):
    for table in COMPARED:
        expected = duckdb_marts[table]
        actual = spark_session.table(table).toPandas()
        # the same columns; Spark stores a partitioned table's partition column last
        assert sorted(actual.columns) == sorted(expected.columns), table
        actual = actual[list(expected.columns)]
        expected_rows, actual_rows = normalised(expected), normalised(actual)
        assert len(actual_rows) == len(expected_rows), table
        for got, want in zip(actual_rows, expected_rows, strict=True):
            assert all(map(_same, got, want)), (table, got, want)
    assert len(duckdb_marts["marts.fct_daily_sales"]) == 5 * 3 - 2  # Italy from 03-03 on


def test_incremental_marts_are_parquet_partitioned_by_date_on_spark(spark_session):
    for table, column in PARTITIONED.items():
        detail = {
            row["col_name"]: row["data_type"]
            for row in spark_session.sql(f"describe table extended {table}").collect()  # noqa: S608
        }
        assert detail["Provider"] == "parquet", table
        partitions = [row[0] for row in spark_session.sql(f"show partitions {table}").collect()]  # noqa: S608
        assert partitions and all(p.startswith(f"{column}=") for p in partitions), (table, partitions)


def test_the_python_written_tables_are_in_sparks_catalog(spark_session):
    for qualified, declared in tables.TABLES.items():
        columns = spark_session.table(qualified).columns
        assert columns == list(declared.column_names), qualified
    lines = spark_session.table(spark.RAW_TABLE).groupBy("business_date").count().collect()
    assert sorted(str(row["business_date"]) for row in lines) == ["2024-03-01", "2024-03-03"]


def test_the_duckdb_warehouse_reads_the_marts_spark_built(
    spark_session, duckdb_marts, duckdb_warehouse, home
):
    settings = Settings(home=home, dataset="synthetic", engine="spark")

    published = spark.publish_marts(settings)

    assert set(COMPARED) <= set(published) and "marts.dim_calendar" in published
    assert _column_kinds(settings.warehouse_path) == _column_kinds(duckdb_warehouse)
    with connect(settings.warehouse_path, read_only=True) as connection:
        for table in COMPARED:
            expected = duckdb_marts[table]
            actual = connection.execute(f"select * from {table}").df()  # noqa: S608 - the test's own names
            assert sorted(actual.columns) == sorted(expected.columns), table
            expected_rows, actual_rows = normalised(expected), normalised(actual[list(expected.columns)])
            assert len(actual_rows) == len(expected_rows), table
            for got, want in zip(actual_rows, expected_rows, strict=True):
                assert all(map(_same, got, want)), (table, got, want)

    # and the views over the predictions the dashboards read, built there by dbt-duckdb over the published marts
    transform.build_duckdb_views(settings, dt.date.fromisoformat(NIGHTS[-1][0]))
    with connect(settings.warehouse_path, read_only=True) as connection:
        for view in ("forecast_accuracy", "forecasts_latest", "forecast_versions", "forecast_value_added"):
            connection.execute(f"select * from predictions.{view}").fetchall()  # noqa: S608 - constant names

    # and the night's publish copies them into a serving file that reads nothing outside itself
    from jobs import publish

    publish.run(dt.date.fromisoformat(NIGHTS[-1][0]), "test-publish", settings)
    with connect(settings.serving_path, read_only=True) as serving:
        kinds = dict(
            serving.execute(
                "select table_schema || '.' || table_name, table_type from information_schema.tables "
                "where table_schema = 'marts'"
            ).fetchall()
        )
        assert {kinds[table] for table in published} == {"BASE TABLE"}
        for table in COMPARED:
            assert (
                serving.execute(f"select count(*) from {table}").fetchone()  # noqa: S608 - the test's own names
                == (len(duckdb_marts[table]),)
            ), table


INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}


def _column_kinds(path) -> dict[tuple[str, str], str]:
    """Each mart column's DuckDB type, the integer widths as one (Spark's `year()` is an int, DuckDB's a bigint)."""
    with duckdb.connect(str(path), read_only=True) as connection:
        rows = connection.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' and table_name in (select unnest(?))",
            [[table.split(".")[1] for table in COMPARED]],
        ).fetchall()
    return {(table, column): "INTEGER" if kind in INTEGERS else kind for table, column, kind in rows}
