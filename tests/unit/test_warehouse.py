"""The warehouse edge: partition replacement is one transaction, publishing is an atomic swap."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from daybreak.tables import Column, Table
from daybreak.warehouse import connect, publish, replace_partition, table_checksums

D1, D2 = dt.date(2024, 1, 1), dt.date(2024, 1, 2)
T = Table(
    "predictions",
    "t",
    "a test table",
    (
        Column("as_of_date", "DATE", "the partition"),
        Column("value", "DOUBLE", "a number", nullable=False),
        Column("run_id", "VARCHAR", "lineage"),
    ),
    ("as_of_date",),
    "as_of_date",
)


def frame(day: dt.date, values: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"as_of_date": [day] * len(values), "value": values, "run_id": "r"})


def test_replace_partition_replaces_only_its_key(tmp_path):
    path = tmp_path / "w.duckdb"
    with connect(path) as connection:
        replace_partition(connection, T, frame(D1, [1, 2]), key_column="as_of_date", key_value=D1)
        replace_partition(connection, T, frame(D2, [3]), key_column="as_of_date", key_value=D2)
        replace_partition(connection, T, frame(D1, [5]), key_column="as_of_date", key_value=D1)
        rows = connection.execute("select as_of_date, value from predictions.t order by all").fetchall()
    assert rows == [(D1, 5.0), (D2, 3.0)]


def test_a_failed_write_leaves_the_table_as_it_was(tmp_path):
    path = tmp_path / "w.duckdb"
    with connect(path) as connection:
        replace_partition(connection, T, frame(D1, [1, 2]), key_column="as_of_date", key_value=D1)
        before = table_checksums(connection)
        broken = frame(D1, [7]).assign(value=[None])  # NOT NULL: fails the insert after the delete ran
        with pytest.raises(duckdb.ConstraintException):
            replace_partition(connection, T, broken, key_column="as_of_date", key_value=D1)
        assert table_checksums(connection) == before


def test_rows_of_another_key_are_refused(tmp_path):
    with connect(tmp_path / "w.duckdb") as connection, pytest.raises(ValueError, match="another as_of_date"):
        replace_partition(connection, T, frame(D2, [1]), key_column="as_of_date", key_value=D1)


def test_publish_swaps_in_a_complete_copy(tmp_path):
    warehouse, serving = tmp_path / "w.duckdb", tmp_path / "serving" / "w.duckdb"
    with connect(warehouse) as connection:
        replace_partition(connection, T, frame(D1, [1]), key_column="as_of_date", key_value=D1)
    publish(warehouse, serving)
    with connect(warehouse) as connection:
        replace_partition(connection, T, frame(D2, [2]), key_column="as_of_date", key_value=D2)
    with duckdb.connect(str(serving), read_only=True) as reader:
        assert reader.execute("select count(*) from predictions.t").fetchone() == (1,)
    publish(warehouse, serving)
    with duckdb.connect(str(serving), read_only=True) as reader:
        assert reader.execute("select count(*) from predictions.t").fetchone() == (2,)
    assert [p.name for p in serving.parent.iterdir()] == ["w.duckdb"], "no temporary file is left behind"


def test_checksums_ignore_lineage_but_see_content(tmp_path):
    with connect(tmp_path / "w.duckdb") as connection:
        replace_partition(connection, T, frame(D1, [1]), key_column="as_of_date", key_value=D1)
        first = table_checksums(connection)
        replace_partition(
            connection,
            T,
            frame(D1, [1]).assign(run_id="other"),
            key_column="as_of_date",
            key_value=D1,
        )
        assert table_checksums(connection) == first
        replace_partition(connection, T, frame(D1, [9]), key_column="as_of_date", key_value=D1)
        assert table_checksums(connection) != first


def test_the_table_takes_its_types_from_the_declaration_not_the_frame(tmp_path):
    with connect(tmp_path / "w.duckdb") as connection:
        replace_partition(
            connection,
            T,
            pd.DataFrame({"as_of_date": ["2024-01-01"], "value": [1], "extra": ["x"], "run_id": ["r"]}),
            key_column="as_of_date",
            key_value=D1,
        )
        types = connection.execute(
            "select column_name, data_type from information_schema.columns where table_name = 't' "
            "order by ordinal_position"
        ).fetchall()
    assert types == [("as_of_date", "DATE"), ("value", "DOUBLE"), ("run_id", "VARCHAR")]


def test_a_name_must_be_declared(tmp_path):
    with connect(tmp_path / "w.duckdb") as connection, pytest.raises(KeyError, match="not a declared table"):
        replace_partition(connection, "predictions.t", frame(D1, [1]), key_column="as_of_date", key_value=D1)
