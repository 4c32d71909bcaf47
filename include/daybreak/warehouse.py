"""The edge where Daybreak's Python jobs read and write the DuckDB warehouse.

Three rules live here so that no job has to remember them:

* One writer at a time. DuckDB lets one process open a file for writing; a job that finds it locked waits and
  retries (with backoff) instead of failing the night.
* Writes are transactions that replace a partition: `replace_partition` deletes the rows of one key (an as-of date)
  and inserts the new ones in a single transaction, so a killed task leaves the table as it was and a rerun
  converges on the same rows. Tables and their types come from their declarations (`daybreak.tables`), never
  from the first frame written.
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

from daybreak import tables

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from daybreak.tables import Table

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
    table: Table | str,
    frame: pd.DataFrame,
    *,
    key_column: str,
    key_value: object,
) -> int:
    """Replace the rows of `table` whose `key_column` equals `key_value` with `frame`, atomically.

    `table` is a declaration of `daybreak.tables` (or its qualified name): the table is created from it, and
    `frame` is conformed to its columns and types; values are bound as parameters.

    Returns:
        the number of rows written.
    """
    return replace_partitions(connection, [(table, frame, key_column, key_value)])[_declared(table).qualified]


def replace_partitions(
    connection: duckdb.DuckDBPyConnection, writes: Sequence[tuple[Table | str, pd.DataFrame, str, object]]
) -> dict[str, int]:
    """`replace_partition` for several tables in one transaction: a job's outputs land together or not at all.

    Args:
        writes: `(table, frame, key_column, key_value)` per table.

    Returns:
        rows written per table (by qualified name).
    """
    conformed = []
    for table, frame, key_column, key_value in writes:
        declared = _declared(table)
        rows = declared.conform(frame)
        if key_column not in rows.columns:
            raise ValueError(f"{declared.qualified}: declares no column {key_column!r}")
        if len(rows) and (rows[key_column] != key_value).any():
            raise ValueError(
                f"{declared.qualified}: frame holds rows for another {key_column} than {key_value!r}"
            )
        conformed.append((declared, rows, key_column, key_value))
    tables.ensure(connection, *(declared for declared, *_ in conformed))
    incoming = [f"_incoming_{i}" for i in range(len(conformed))]
    for name, (_, rows, *_) in zip(incoming, conformed, strict=True):
        connection.register(name, rows)
    try:
        with transaction(connection):
            for name, (declared, _, key_column, key_value) in zip(incoming, conformed, strict=True):
                # code-declared names; the key value is bound
                connection.execute(f"delete from {declared.qualified} where {key_column} = ?", [key_value])  # noqa: S608
                connection.execute(f"insert into {declared.qualified} by name select * from {name}")  # noqa: S608
    finally:
        for name in incoming:
            connection.unregister(name)
    return {declared.qualified: len(rows) for declared, rows, *_ in conformed}


@contextlib.contextmanager
def transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT, or ROLLBACK when the block raises: the block's writes land together or not at all."""
    connection.execute("begin transaction")
    try:
        yield connection
    except BaseException:
        connection.execute("rollback")
        raise
    connection.execute("commit")


def _declared(table: Table | str) -> Table:
    return table if isinstance(table, tables.Table) else tables.table(table)


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
