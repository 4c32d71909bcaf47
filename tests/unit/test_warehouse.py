"""The warehouse edge: partition replacement is one transaction, publishing is an atomic swap of a self-contained
copy that leaves no temporary file behind."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time

import duckdb
import pandas as pd
import pytest

from daybreak.core.files import temporary_sibling
from daybreak.warehouse.compaction import compact
from daybreak.warehouse.connection import connect, retry_while_locked, table_checksums
from daybreak.warehouse.declaration import Column, Table
from daybreak.warehouse.publish import NotSelfContainedError, publish, remove_stale_temporaries
from daybreak.warehouse.writes import replace_partition

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
    ("as_of_date", "value"),
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
        # a constraint of the warehouse's own beyond the declaration's, which Table.check does not know of
        connection.execute("create schema predictions")
        connection.execute(
            T.ddl().replace('"value" DOUBLE not null', '"value" DOUBLE not null check (value < 100)')
        )
        replace_partition(connection, T, frame(D1, [1, 2]), key_column="as_of_date", key_value=D1)
        before = table_checksums(connection)
        broken = frame(D1, [700])  # fails the insert after the delete ran
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


def test_publish_flushes_the_copy_before_the_swap_and_the_folder_after_it(tmp_path, monkeypatch):
    # a rename survives a power cut only once the copy's bytes and then the folder's entry are on disk
    warehouse, serving = tmp_path / "w.duckdb", tmp_path / "serving" / "w.duckdb"
    with connect(warehouse) as connection:
        replace_partition(connection, T, frame(D1, [1]), key_column="as_of_date", key_value=D1)
    events = []
    fsync, replace = os.fsync, os.replace

    def flushed(descriptor):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{descriptor}")))
        fsync(descriptor)

    def renamed(source, target):
        events.append(("replace", str(source), str(target)))
        replace(source, target)

    monkeypatch.setattr(os, "fsync", flushed)
    monkeypatch.setattr(os, "replace", renamed)
    publish(warehouse, serving)

    staging = str(temporary_sibling(serving))
    swap = events.index(("replace", staging, str(serving)))
    assert ("fsync", staging) in events[:swap], "the copy is on disk before the serving name points at it"
    assert ("fsync", str(serving.parent)) in events[swap + 1 :], "and the rename is on disk after it"


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


def lake_warehouse(tmp_path):
    """A warehouse like ingest and dbt leave it: `raw.sales_lines` a view over a Parquet lake, a staging view
    over it, a mart table; returns (warehouse, lake folder)."""
    lake = tmp_path / "lake" / "sales_lines"
    (lake / "business_date=2024-01-01").mkdir(parents=True)
    pd.DataFrame({"quantity": [1.0, 2.0]}).to_parquet(lake / "business_date=2024-01-01" / "a.parquet")
    warehouse = tmp_path / "w.duckdb"
    with connect(warehouse) as connection:
        connection.execute("create schema raw")
        connection.execute(
            "create view raw.sales_lines as select * from read_parquet("
            f"'{lake}/*/*.parquet', hive_partitioning = true)"
        )
        connection.execute("create schema staging")
        connection.execute(
            "create view staging.stg_lines as select quantity * 10 as units from raw.sales_lines"
        )
        connection.execute("create schema marts")
        connection.execute("create table marts.totals as select sum(quantity) as units from raw.sales_lines")
    return warehouse, lake


def answers(path) -> list:
    with duckdb.connect(str(path), read_only=True) as reader:
        return [
            reader.execute(f"select * from {relation} order by all").fetchall()  # noqa: S608
            for relation in ("raw.sales_lines", "staging.stg_lines", "marts.totals")
        ]


def test_the_serving_copy_does_not_change_when_the_lake_does(tmp_path):
    # Given a published warehouse whose raw layer is a view over the lake
    warehouse, lake = lake_warehouse(tmp_path)
    serving = tmp_path / "serving" / "w.duckdb"
    publish(warehouse, serving)
    published = answers(serving)

    # When ingest lands another file, and then the lake is rewritten and emptied
    (lake / "business_date=2024-01-02").mkdir()
    pd.DataFrame({"quantity": [5.0]}).to_parquet(lake / "business_date=2024-01-02" / "b.parquet")
    assert len(answers(warehouse)[0]) == 3, "the writer's view sees the new file"
    pd.DataFrame({"quantity": [99.0]}).to_parquet(lake / "business_date=2024-01-01" / "a.parquet")
    after_change = answers(serving)
    for file in lake.rglob("*.parquet"):
        file.unlink()

    # Then the serving copy answers as it did when published, and reads no file outside itself
    assert published[0] == [(1.0, dt.date(2024, 1, 1)), (2.0, dt.date(2024, 1, 1))]
    assert published[1] == [(10.0,), (20.0,)]
    assert after_change == published
    assert answers(serving) == published
    config = {"enable_external_access": False}
    with duckdb.connect(str(serving), read_only=True, config=config) as sealed:
        assert sealed.execute("select count(*) from raw.sales_lines").fetchone() == (2,)
        kinds = sealed.execute(
            "select table_schema || '.' || table_name, table_type from information_schema.tables order by all"
        ).fetchall()
    assert kinds == [
        ("marts.totals", "BASE TABLE"),
        ("raw.sales_lines", "BASE TABLE"),
        ("staging.stg_lines", "VIEW"),
    ]
    # and the writer's own raw layer is still the live view
    with duckdb.connect(str(warehouse), read_only=True) as writer:
        assert writer.execute(
            "select count(*) from duckdb_views() where view_name = 'sales_lines'"
        ).fetchone() == (1,)


def test_a_view_that_reads_files_outside_raw_is_refused_and_nothing_is_swapped(tmp_path):
    warehouse, lake = lake_warehouse(tmp_path)
    serving = tmp_path / "serving" / "w.duckdb"
    publish(warehouse, serving)
    before = answers(serving)
    with connect(warehouse) as connection:
        connection.execute(f"create view marts.outside as select * from read_parquet('{lake}/*/*.parquet')")

    with pytest.raises(NotSelfContainedError, match=r"outside itself through \['marts.outside'\]"):
        publish(warehouse, serving)

    assert answers(serving) == before
    assert [p.name for p in serving.parent.iterdir()] == ["w.duckdb"], "no temporary file is left behind"


def test_views_of_the_schemas_named_as_reading_files_are_copied_as_tables(tmp_path):
    # Given a mart that is a view over Parquet files, as Spark's marts are in the warehouse (spark.publish_marts)
    warehouse, lake = lake_warehouse(tmp_path)
    serving = tmp_path / "serving" / "w.duckdb"
    with connect(warehouse) as connection:
        connection.execute(f"create view marts.outside as select * from read_parquet('{lake}/*/*.parquet')")
        expected = connection.execute("select count(*) from marts.outside").fetchone()

    publish(warehouse, serving, file_view_schemas=("raw", "marts"))

    with duckdb.connect(str(serving), read_only=True, config={"enable_external_access": False}) as copy:
        assert copy.execute(
            "select table_type from information_schema.tables where table_name = 'outside'"
        ).fetchone() == ("BASE TABLE",)
        assert copy.execute("select count(*) from marts.outside").fetchone() == expected


def test_a_killed_publish_leaves_nothing_the_next_publish_does_not_remove(tmp_path):
    # Given the temporary copies of a publish that was killed (its process is gone) and of one still running
    warehouse, _ = lake_warehouse(tmp_path)
    serving = tmp_path / "serving" / "w.duckdb"
    serving.parent.mkdir()
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(gone.stdout)
    killed = serving.with_name(f".w.duckdb.{dead_pid}.tmp")
    killed.write_bytes(b"half a copy")
    serving.with_name(killed.name + ".wal").write_bytes(b"")
    (serving.parent / (killed.name + ".tmp")).mkdir()  # DuckDB's spill folder of the copy
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        alive = serving.with_name(f".w.duckdb.{running.pid}.tmp")
        alive.write_bytes(b"being written")

        # When the next publish runs
        publish(warehouse, serving)

        # Then only the live process's copy remains beside the serving file
        assert sorted(p.name for p in serving.parent.iterdir()) == sorted(["w.duckdb", alive.name])
        assert remove_stale_temporaries(serving) == []
    finally:
        running.kill()
        running.wait()
    assert remove_stale_temporaries(serving) == [alive]
    assert temporary_sibling(serving).name.startswith(".w.duckdb.")


def test_retry_while_locked_waits_out_a_lock_and_nothing_else():
    calls = []

    def locked_twice():
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError('IO Error: Could not set lock on file "w.duckdb": Conflicting lock is held')
        return "done"

    assert retry_while_locked(locked_twice, wait_seconds=5) == "done"
    assert len(calls) == 3
    with pytest.raises(ValueError, match="not a lock"):
        retry_while_locked(lambda: (_ for _ in ()).throw(ValueError("not a lock")), wait_seconds=5)


def test_connect_waits_for_another_process_to_let_the_file_go(tmp_path):
    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    letting_go = tmp_path / "letting-go"  # written by the holder just before it closes the file
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time, pathlib, duckdb; c = duckdb.connect(sys.argv[1]); "
         "print(1, flush=True); time.sleep(2); pathlib.Path(sys.argv[2]).touch(); c.close(); time.sleep(30)",
         str(path), str(letting_go)],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    holder.stdout.readline()
    try:
        with connect(path, wait_seconds=30) as connection:
            assert connection.execute("select 1").fetchone() == (1,)
        assert letting_go.exists(), "connect returned only after the holder let go"
    finally:
        holder.kill()
        holder.wait()


def test_compaction_leaves_no_deleted_row_in_the_bytes_and_every_table_as_it_was(tmp_path):
    # Given a warehouse from which a row was deleted: DuckDB keeps its bytes in freed blocks, VACUUM or not
    path = tmp_path / "w.duckdb"
    with connect(path) as connection:
        connection.execute("create schema marts")
        connection.execute("create table marts.lines (id varchar primary key, revenue double)")
        connection.execute("insert into marts.lines select 'line-' || i, i from range(3000) t(i)")
        connection.execute("insert into marts.lines values ('c_erasedcustomer00001', 1.5)")
        connection.execute("create view marts.big as select * from marts.lines where revenue > 10")
        connection.execute("create macro marts.double_it(x) as 2 * x")
        connection.execute("checkpoint")
        connection.execute("delete from marts.lines where id = 'c_erasedcustomer00001'")
        connection.execute("checkpoint")
        connection.execute("vacuum")
        before = table_checksums(connection)
    assert b"c_erasedcustomer00001" in path.read_bytes()

    # When it is compacted
    compact(path)

    # Then the bytes are gone, the tables, views and macros are as they were, and nothing is left beside it
    assert b"c_erasedcustomer00001" not in path.read_bytes()
    with duckdb.connect(str(path), read_only=True) as reader:
        assert table_checksums(reader) == before
        assert reader.execute("select marts.double_it(count(*)) from marts.big").fetchone() == (2 * 2989,)
    assert [p.name for p in tmp_path.iterdir()] == ["w.duckdb"]


def test_a_writer_waiting_during_compaction_writes_to_the_new_file(tmp_path, monkeypatch):
    from daybreak.warehouse import compaction

    path = tmp_path / "w.duckdb"
    with connect(path) as connection:
        connection.execute("create table t as select 1 as n")
    writer = None
    flush = compaction.fsync

    def start_writer_while_locked(target):
        # the copy is written, the lock still held: a writer starts and waits for the lock
        nonlocal writer
        if writer is None:
            writer = subprocess.Popen(
                [sys.executable, "-c", "import sys; from daybreak.warehouse.connection import connect\n"
                 "print('waiting', flush=True)\n"
                 "with connect(__import__('pathlib').Path(sys.argv[1]), wait_seconds=30) as c:\n"
                 "    c.execute('insert into t values (2)')", str(path)],
                stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            assert writer.stdout.readline().strip() == "waiting"
            time.sleep(1)  # its first attempts meet the lock
        flush(target)

    monkeypatch.setattr(compaction, "fsync", start_writer_while_locked)
    compact(path)
    assert writer.wait(timeout=60) == 0
    with duckdb.connect(str(path), read_only=True) as reader:
        assert reader.execute("select list(n order by n) from t").fetchone() == ([1, 2],)
