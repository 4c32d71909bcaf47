"""The table declarations: DDL, conforming frames to them, creating and migrating tables, and dbt's copy."""

from __future__ import annotations

import dataclasses
import datetime as dt

import duckdb
import pandas as pd
import pytest

from daybreak.warehouse import dbt_sources, tables, writes
from daybreak.warehouse.declaration import Column, Table
from daybreak.warehouse.tables import TABLES

DAY = dt.date(2024, 3, 5)
T = Table(
    "predictions",
    "t",
    "a test table",
    (
        Column("as_of_date", "DATE", "the partition", nullable=False),
        Column("n", "INTEGER", "a count"),
        Column("share", "DOUBLE", "a share"),
        Column("flag", "BOOLEAN", "a flag"),
        Column("name", "VARCHAR", "a name"),
        Column("at", "TIMESTAMP", "a time"),
    ),
    ("as_of_date", "name"),
    "as_of_date",
)


def test_every_declaration_is_whole():
    for name, declared in TABLES.items():
        assert tables.table(name) is declared and declared.qualified == name
        assert declared.description and all(c.description for c in declared.columns), name
        assert declared.key and all(not c.nullable for c in declared.columns if c.name == declared.partition)
        if declared.schema in ("predictions", "registry", "monitoring"):
            assert "run_id" in declared.column_names, f"{name} carries lineage"
    with pytest.raises(KeyError, match="not a declared table"):
        tables.table("predictions.nope")


def test_conform_keeps_the_declared_columns_in_order_with_their_types_and_nulls():
    frame = pd.DataFrame(
        {
            "name": ["a", None],
            "extra": [1, 2],
            "at": pd.to_datetime(["2024-03-05 10:00", None]),
            "flag": [True, None],
            "share": [0.5, float("nan")],
            "n": [1.0, None],
            "as_of_date": ["2024-03-05", DAY],
        }
    )

    rows = T.conform(frame)

    assert list(rows.columns) == list(T.column_names)
    assert [str(t) for t in rows.dtypes] == [str(t) for t in T.empty().dtypes]
    assert rows["as_of_date"].tolist() == [DAY, DAY]
    assert rows.iloc[1].isna().drop("as_of_date").all(), "NaN, None and NaT are stored as NULL"


def test_conform_names_the_table_and_the_column_it_cannot_fill():
    with pytest.raises(ValueError, match=r"predictions\.t: the frame has no column\(s\) \['flag'\]"):
        T.conform(T.empty().drop(columns="flag"))
    bad = pd.DataFrame({c: [None] for c in T.column_names}).assign(n=["many"])
    with pytest.raises(ValueError, match=r"predictions\.t\.n: values do not cast to INTEGER"):
        T.conform(bad)


def test_a_write_refuses_the_rows_the_dbt_source_tests_would_fail():
    """A night's dbt build no longer tests Python's tables (jobs.transform.NIGHT_ONLY): each write checks its rows."""
    rows = pd.DataFrame({"as_of_date": [DAY, DAY], "name": ["a", "b"], "n": [1, 2]}).assign(
        share=None, flag=None, at=None
    )
    with duckdb.connect() as connection:
        connection.execute("create schema predictions")
        # a column declared not nullable after its table was made: the warehouse's DDL cannot enforce it
        connection.execute("create table predictions.t (as_of_date date, n integer)")
        assert writes.replace_partitions(connection, [(T, rows, "as_of_date", DAY)]) == {"predictions.t": 2}
        with pytest.raises(ValueError, match=r"predictions\.t: the key \['as_of_date', 'name'\] repeats"):
            writes.replace_partition(
                connection, T, rows.assign(name="a"), key_column="as_of_date", key_value=DAY
            )
        unkeyed = dataclasses.replace(T, partition=None)
        with pytest.raises(
            ValueError, match=r"predictions\.t: NULL in not-nullable column\(s\) \['as_of_date'\]"
        ):
            writes.replace_table(connection, unkeyed, rows.assign(as_of_date=[DAY, None]))
        assert connection.execute("select name, n from predictions.t order by name").fetchall() == [
            ("a", 1),
            ("b", 2),
        ]


def test_ensure_creates_tables_from_the_declaration_and_adds_columns_older_warehouses_lack():
    with duckdb.connect() as connection:
        connection.execute("create schema predictions")
        connection.execute("create table predictions.t (as_of_date date, n integer)")

        tables.ensure(connection, T, TABLES["registry.model_versions"])
        tables.ensure(connection, T)  # idempotent

        columns = connection.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema in ('predictions', 'registry') order by table_name, ordinal_position"
        ).fetchall()
        assert tables.exists(connection, "predictions.t") and not tables.exists(connection, "predictions.u")
    assert [(c, t) for table, c, t in columns if table == "t"] == [(c.name, c.type) for c in T.columns]
    versions = [(c, t) for table, c, t in columns if table == "model_versions"]
    assert versions == [(c.name, c.type) for c in TABLES["registry.model_versions"].columns]


def test_ensure_fills_what_rows_written_before_a_column_existed_hold():
    forecasts, runs = TABLES["predictions.forecasts"], TABLES["monitoring.ingest_runs"]
    with duckdb.connect() as connection:
        connection.execute("create schema predictions")
        connection.execute(
            "create table predictions.forecasts (as_of_date date, series_id varchar, target_date date, yhat double, "
            "yhat_statistical double)"
        )
        connection.execute(
            "insert into predictions.forecasts values (?, 'a', ?, 5.0, null), (?, 'b', ?, null, null), "
            "(?, 'c', ?, 7.0, 6.0)",
            [DAY, DAY] * 3,
        )
        connection.execute("create schema monitoring")
        connection.execute(
            "create table monitoring.ingest_runs (business_date date, source_file varchar, file_sha256 varchar)"
        )
        connection.execute("insert into monitoring.ingest_runs values (?, 'f.csv', 'abc')", [DAY])

        tables.ensure(connection, forecasts, runs)
        tables.ensure(connection, forecasts, runs)  # idempotent

        rows = connection.execute(
            "select series_id, yhat_statistical, yhat_base, frequency from predictions.forecasts order by 1"
        ).fetchall()
        run = connection.execute("select status, landed_by_run_date from monitoring.ingest_runs").fetchone()
    assert rows == [("a", 5.0, 5.0, "daily"), ("b", None, None, "daily"), ("c", 6.0, 6.0, "daily")]
    assert run == ("loaded", DAY)


def test_an_unpartitioned_table_enforces_its_key():
    assert TABLES["registry.model_events"].ddl().endswith("primary key (model_kind, model_id, event_seq))")
    assert "primary key" not in T.ddl() and '"as_of_date" DATE not null' in T.ddl()


def test_ensure_rebuilds_a_table_whose_key_changed_keeping_every_row():
    events = TABLES["registry.model_events"]
    with duckdb.connect() as connection:
        connection.execute("create schema registry")
        older = ", ".join(f'"{c.name}" {c.type}' for c in events.columns)
        connection.execute(f"create table registry.model_events ({older}, primary key (event_seq))")
        connection.execute(
            "insert into registry.model_events (event_seq, model_kind, model_id, version, action) "
            "values (1, 'forecast', 'total', 'v1', 'register'), (2, 'segmentation', 'customers', 'v1', 'register')"
        )
        tables.ensure(connection, events)
        (key,) = connection.execute(
            "select constraint_column_names from duckdb_constraints() "
            "where table_name = 'model_events' and constraint_type = 'PRIMARY KEY'"
        ).fetchone()
        rows = connection.execute(
            "select event_seq, model_id from registry.model_events order by 1"
        ).fetchall()
        connection.execute(
            "insert into registry.model_events (event_seq, model_kind, model_id, version, action) "
            "values (1, 'forecast', 'north', 'v1', 'register')"
        )
    assert tuple(key) == ("model_kind", "model_id", "event_seq")
    assert rows == [(1, "total"), (2, "customers")]


def test_the_committed_dbt_sources_and_docs_are_generated_from_the_declarations():
    assert dbt_sources.SOURCES_FILE.read_text() == dbt_sources.sources_yaml(), (
        "dbt_project/models/sources/_daybreak__sources.yml is out of date: run `python -m daybreak.warehouse.dbt_sources`"
    )
    docs = dbt_sources.DOCS_FILE.read_text()
    assert docs == dbt_sources.docs_with_tables(docs), (
        "docs/architecture.md's table list is out of date: run `python -m daybreak.warehouse.dbt_sources`"
    )
