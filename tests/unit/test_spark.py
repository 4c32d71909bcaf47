"""What the Spark engine needs besides the models: the sources as Parquet, and dbt's target and environment."""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow.parquet as pq

from daybreak.core.settings import Settings
from daybreak.nights import spark
from daybreak.warehouse import tables
from jobs import transform


def test_every_declared_table_and_the_lake_become_a_spark_source(tmp_path):
    settings = Settings(home=tmp_path, dataset="synthetic", engine="spark")
    settings.warehouse_path.parent.mkdir(parents=True)
    with duckdb.connect(str(settings.warehouse_path)) as connection:
        forecasts = tables.table("predictions.forecasts")
        tables.ensure(connection, forecasts)
        connection.execute(
            "insert into predictions.forecasts (as_of_date, series_id, target_date, yhat) values (?, ?, ?, ?)",
            [dt.date(2024, 3, 1), "total", dt.date(2024, 3, 2), 1.5],
        )
    sources = spark.export_sources(settings)
    assert set(sources) == {spark.RAW_TABLE, *tables.TABLES}
    assert sources[spark.RAW_TABLE] == str(settings.lake_dir / "sales_lines")
    written = pq.read_table(sources["predictions.forecasts"])
    assert written.column_names == list(forecasts.column_names)
    assert written.to_pydict()["yhat"] == [1.5]
    # a table no job has written yet is an empty file with its declared columns
    empty = pq.read_table(sources["monitoring.drift_metrics"])
    assert (empty.num_rows, empty.column_names) == (
        0,
        list(tables.table("monitoring.drift_metrics").column_names),
    )
    assert str(empty.schema.field("as_of_date").type) == "date32[day]"


def test_dbt_runs_the_engines_target_with_its_environment(tmp_path):
    command, _ = transform.dbt_command(Settings(home=tmp_path), ["build"])
    assert command[command.index("--target") + 1] == "duckdb"
    on_spark = Settings(home=tmp_path, engine="spark", spark_master="local[1]")
    command, env = transform.dbt_command(on_spark, ["build"])
    assert command[command.index("--target") + 1] == "spark"
    assert env["DAYBREAK_SPARK_MASTER"] == "local[1]"
    assert env["DAYBREAK_SPARK_WAREHOUSE_DIR"] == str(tmp_path / "spark" / "synthetic" / "warehouse")
    assert env["DAYBREAK_SPARK_METASTORE_DIR"] == str(tmp_path / "spark" / "synthetic" / "metastore")


def test_the_marts_spark_built_become_duckdb_views_over_their_parquet(tmp_path):
    import pandas as pd
    import pyarrow as pa

    settings = Settings(home=tmp_path, dataset="synthetic", engine="spark")
    marts = spark.marts_dir(settings)
    daily = pd.DataFrame(
        {"series_id": ["total", "total"], "units": [1.0, 2.0], "sales_date": ["2024-03-01"] * 2}
    )
    pq.write_to_dataset(pa.Table.from_pandas(daily), marts / "fct_daily_sales", partition_cols=["sales_date"])
    (marts / "dim_calendar").mkdir()
    pq.write_table(
        pa.table({"date_day": [dt.date(2024, 3, 1)]}), marts / "dim_calendar" / "part-0.snappy.parquet"
    )
    (marts / "dim_products").mkdir()  # a table Spark has no file for yet
    settings.warehouse_path.parent.mkdir(parents=True)
    with duckdb.connect(str(settings.warehouse_path)) as connection:  # built on DuckDB before the switch
        connection.execute("create schema marts; create table marts.dim_calendar (date_day date)")

    assert spark.publish_marts(Settings(home=tmp_path, dataset="synthetic")) == []  # DuckDB builds its own
    assert spark.publish_marts(settings) == ["marts.dim_calendar", "marts.fct_daily_sales"]
    assert spark.publish_marts(settings) == [
        "marts.dim_calendar",
        "marts.fct_daily_sales",
    ]  # a rerun replaces

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        rows = connection.execute(
            "select sales_date, sum(units) from marts.fct_daily_sales group by 1"
        ).fetchall()
        assert rows == [(dt.date(2024, 3, 1), 3.0)]  # the partition folder is a typed column
        assert connection.execute("select * from marts.dim_calendar").fetchall() == [(dt.date(2024, 3, 1),)]
        kinds = connection.execute(
            "select table_name, table_type from information_schema.tables where table_schema = 'marts'"
        ).fetchall()
        assert sorted(kinds) == [("dim_calendar", "VIEW"), ("fct_daily_sales", "VIEW")]


def test_a_spark_transform_publishes_the_marts_then_builds_duckdbs_views(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(spark, "export_sources", lambda settings: {})
    monkeypatch.setattr(
        spark, "publish_marts", lambda settings: calls.append("publish") or ["marts.dim_calendar"]
    )
    monkeypatch.setattr(
        transform, "invoke_dbt", lambda settings, args, day, **_: calls.append((settings.engine, *args[:3]))
    )

    transform.run(dt.date(2024, 3, 1), "night", Settings(home=tmp_path, dataset="synthetic", engine="spark"))

    assert [call[:2] if isinstance(call, tuple) else call for call in calls] == [
        ("spark", "build"),
        "publish",
        ("duckdb", "run"),
    ]
    assert calls[-1][3] == spark.DUCKDB_VIEWS
