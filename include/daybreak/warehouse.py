"""The edge where Daybreak's Python jobs read and write the DuckDB warehouse.

Three rules live here so that no job has to remember them:

* One writer at a time. DuckDB lets one process open a file for writing; a job that finds it locked waits and
  retries (with backoff) instead of failing the night.
* Writes are transactions that replace a partition: `replace_partition` deletes the rows of one key (an as-of date)
  and inserts the new ones in a single transaction, so a killed task leaves the table as it was and a rerun
  converges on the same rows.
* Readers never block the writer: `publish` copies the warehouse to a serving file that dashboards open read-only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

LOCK_WAIT_SECONDS = 600.0


def _is_lock_conflict(error: Exception) -> bool:
    text = str(error)
    return "lock" in text.lower() and ("Conflicting" in text or "Could not set lock" in text)


@contextlib.contextmanager
def connect(
    path: Path, *, read_only: bool = False, wait_seconds: float = LOCK_WAIT_SECONDS
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse, waiting for another writer to finish rather than failing.

    Args:
        path: the DuckDB file.
        read_only: open without the write lock (the file must exist).
        wait_seconds: how long to keep retrying while another process holds the lock.
    """
    import duckdb

    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    delay = 0.1
    while True:
        try:
            connection = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as error:
            if not _is_lock_conflict(error) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
    try:
        yield connection
    finally:
        connection.close()


def replace_partition(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    frame: pd.DataFrame,
    *,
    key_column: str,
    key_value: object,
) -> int:
    """Replace the rows of `table` whose `key_column` equals `key_value` with `frame`, atomically.

    The table is created from the frame's columns on first use. `table` is a trusted, code-defined name
    (`schema.table`); values are bound as parameters.

    Returns:
        the number of rows written.
    """
    if key_column not in frame.columns:
        raise ValueError(f"{table}: frame has no key column {key_column!r}")
    if len(frame) and (frame[key_column] != key_value).any():
        raise ValueError(f"{table}: frame holds rows for another {key_column} than {key_value!r}")
    schema = table.split(".")[0]
    connection.execute(f"create schema if not exists {schema}")
    connection.register("_incoming", frame)
    try:
        connection.execute("begin transaction")
        try:
            connection.execute(f"create table if not exists {table} as select * from _incoming limit 0")  # noqa: S608
            connection.execute(f"delete from {table} where {key_column} = ?", [key_value])  # noqa: S608
            connection.execute(f"insert into {table} by name select * from _incoming")  # noqa: S608
            connection.execute("commit")
        except Exception:
            connection.execute("rollback")
            raise
    finally:
        connection.unregister("_incoming")
    return len(frame)


def read_frame(path: Path, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
    """Run one parameterised query against the warehouse and return a DataFrame."""
    with connect(path, read_only=path.exists()) as connection:
        return connection.execute(sql, list(params)).df()


def publish(warehouse_path: Path, serving_path: Path) -> Path:
    """Copy the warehouse to the serving file atomically.

    The copy is written beside the target and renamed over it, so a dashboard opening the serving file sees
    either the previous night or this one, never half of one. The writer's file is checkpointed first so the
    copy holds every committed transaction.
    """
    with connect(warehouse_path) as connection:
        connection.execute("checkpoint")
        serving_path.parent.mkdir(parents=True, exist_ok=True)
        staging = serving_path.with_name(f".{serving_path.name}.{os.getpid()}.tmp")
        shutil.copyfile(warehouse_path, staging)
    os.replace(staging, serving_path)
    return serving_path


def table_checksums(
    connection: duckdb.DuckDBPyConnection, *, ignore_columns: Sequence[str] = ("run_id", "ingested_at")
) -> dict:
    """Row count and an order-independent content checksum of every table and view, by `schema.table`.

    Two runs that should be identical (a rerun of the same logical date, an incremental build against a full
    refresh) must give equal dictionaries. Lineage columns that name the run, and the wall-clock time a file landed,
    are left out by default.
    """
    relations = connection.execute(
        """
        select table_schema, table_name, list(column_name order by ordinal_position)
        from information_schema.columns
        where table_catalog = current_database() and table_schema not in ('information_schema', 'pg_catalog')
        group by all
        order by all
        """
    ).fetchall()
    checksums = {}
    for schema, table, columns in relations:
        kept = [column for column in columns if column not in ignore_columns]
        quoted = ", ".join(f'"{column}"' for column in kept)
        count, digest = connection.execute(
            f'select count(*), coalesce(sum(hash(row({quoted}))), 0) from "{schema}"."{table}"'  # noqa: S608
        ).fetchone()
        checksums[f"{schema}.{table}"] = (count, int(digest))
    return checksums
