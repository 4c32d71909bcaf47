"""The edge where Daybreak's Python jobs read and write the DuckDB warehouse.

Three rules live here so that no job has to remember them:

* One writer at a time. DuckDB lets one process open a file for writing; a job that finds it locked waits and
  retries (with backoff) instead of failing the night.
* Writes are transactions that replace a partition: `replace_partition` deletes the rows of one key (an as-of date)
  and inserts the new ones in a single transaction, so a killed task leaves the table as it was and a rerun
  converges on the same rows. Tables and their types come from their declarations (`daybreak.tables`), never
  from the first frame written.
* Readers never block the writer: `publish` copies the warehouse to a serving file that dashboards open read-only,
  self-contained (the lake's rows copied in), so what they see changes only when the next publish swaps it.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from daybreak import tables
from daybreak.files import temporary_sibling

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from daybreak.tables import Table

log = logging.getLogger(__name__)

LOCK_WAIT_SECONDS = 600.0
T = TypeVar("T")


def is_lock_conflict(error: Exception | str) -> bool:
    """Whether `error` (or a program's output) says another process holds the DuckDB file's lock."""
    text = str(error)
    return "lock" in text.lower() and ("Conflicting" in text or "Could not set lock" in text)


def retry_while_locked(attempt: Callable[[], T], *, wait_seconds: float = LOCK_WAIT_SECONDS) -> T:
    """`attempt()`, called again with backoff while it fails on another process's lock, for up to `wait_seconds`.

    The one waiting policy of every writer: the Python jobs through `connect`, dbt through the transform job.
    """
    deadline = time.monotonic() + wait_seconds
    delay = 0.1
    while True:
        try:
            return attempt()
        except Exception as error:
            if not is_lock_conflict(error) or time.monotonic() > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


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
    connection = retry_while_locked(
        lambda: duckdb.connect(str(path), read_only=read_only), wait_seconds=wait_seconds
    )
    try:
        yield connection
    finally:
        connection.close()


def wait_for_warehouse(path: Path, wait_seconds: float) -> None:
    """Return once no other process has the warehouse open (waiting up to `wait_seconds`), for a program that opens
    the file itself and would fail at once (dbt).

    While the file is held here nobody else uses it, so a DuckDB spill folder beside it (`<file>.tmp`, which
    DuckDB never removes after a killed process) is stale and is removed.
    """
    with connect(path, wait_seconds=wait_seconds):
        spill = path.with_name(path.name + ".tmp")
        if spill.is_dir():
            log.info("removing %s, left by a process killed while it spilled to disk", spill)
            shutil.rmtree(spill, ignore_errors=True)


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


def replace_table(connection: duckdb.DuckDBPyConnection, table: Table | str, frame: pd.DataFrame) -> int:
    """Replace every row of a declared table with `frame`, atomically: for tables that are whole copies of a
    source outside the warehouse (the calendar, the planners' override log), not per-date partitions.

    Returns:
        the rows written.
    """
    declared = _declared(table)
    rows = declared.conform(frame)
    tables.ensure(connection, declared)
    connection.register("_incoming_table", rows)
    try:
        with transaction(connection):
            connection.execute(f"delete from {declared.qualified}")  # noqa: S608 - a declared name
            connection.execute(f"insert into {declared.qualified} by name select * from _incoming_table")  # noqa: S608
    finally:
        connection.unregister("_incoming_table")
    return len(rows)


def _declared(table: Table | str) -> Table:
    return table if isinstance(table, tables.Table) else tables.table(table)


def read_frame(path: Path, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
    """Run one parameterised query against the warehouse and return a DataFrame."""
    with connect(path, read_only=path.exists()) as connection:
        return connection.execute(sql, list(params)).df()


LAKE_VIEW_SCHEMAS = ("raw",)
"""Schemas whose views read files outside the warehouse (ingest's view over the lake); publish copies their rows."""


class NotSelfContainedError(RuntimeError):
    """The serving copy would still read files outside itself; the message names the views."""


def publish(
    warehouse_path: Path, serving_path: Path, *, file_view_schemas: Sequence[str] = LAKE_VIEW_SCHEMAS
) -> Path:
    """Copy the warehouse to the serving file atomically, with every object reading only data inside the copy.

    The copy is written beside the target and renamed over it, so a dashboard opening the serving file sees
    either the previous night or this one, never half of one. The writer's file is checkpointed first so the
    copy holds every committed transaction. The views over the lake (`LAKE_VIEW_SCHEMAS`) become tables in the
    copy, made while the writer's lock is still held so an ingest cannot add files between the two: the
    dashboards and analysts then see the night that was published, whatever ingest lands in the lake after it.
    So do the views of any other schema in `file_view_schemas` (on Spark the marts, DuckDB views over the Parquet
    Spark built: `daybreak.spark.file_view_schemas`). The copy is checked with file access disabled before it is
    swapped in.

    The temporary copy is removed on every exit path; one that a killed publish left behind (its process gone)
    is removed by the next publish.

    Raises:
        NotSelfContainedError: a view outside `file_view_schemas` reads files (nothing is swapped in).
    """
    serving_path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(serving_path)
    staging = temporary_sibling(serving_path)
    try:
        with connect(warehouse_path) as connection:
            connection.execute("checkpoint")
            shutil.copyfile(warehouse_path, staging)
            _materialise_file_views(staging, file_view_schemas)
        _check_self_contained(staging, file_view_schemas)
        os.replace(staging, serving_path)
    finally:
        for leftover in staging.parent.glob(glob.escape(staging.name) + "*"):
            _remove(leftover)
    return serving_path


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Remove the temporary siblings of `path` (and DuckDB's `.wal` / spill folders beside them) whose process
    is gone: what a process killed mid-write left. A live process's copy is left to it.

    Returns:
        what was removed.
    """
    removed = []
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.*.tmp*"):
        pid = leftover.name[len(path.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and not _process_alive(int(pid)):
            _remove(leftover)
            removed.append(leftover)
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _materialise_file_views(path: Path, schemas: Sequence[str]) -> None:
    """Replace each view of `schemas` in the copy at `path` by a table of the rows it reads now."""
    import duckdb

    with duckdb.connect(str(path)) as connection:
        views = connection.execute(
            "select schema_name, view_name from duckdb_views() "
            "where not internal and database_name = current_database() and list_contains(?, schema_name) "
            "order by all",
            [list(schemas)],
        ).fetchall()
        connection.execute("begin transaction")
        for schema, view in views:
            # names come from the catalog, not from input; quoted as identifiers
            name, staged = f'"{schema}"."{view}"', f'"{schema}"."__publish_{view}"'
            connection.execute(f"create table {staged} as select * from {name}")  # noqa: S608
            connection.execute(f"drop view {name}")
            connection.execute(f'alter table {staged} rename to "{view}"')
        connection.execute("commit")
        connection.execute("checkpoint")


def _check_self_contained(path: Path, schemas: Sequence[str]) -> None:
    """Bind every view of the copy with file access disabled: one that still reads outside the file fails."""
    import duckdb

    config = {"enable_external_access": False}
    with duckdb.connect(str(path), read_only=True, config=config) as connection:
        views = connection.execute(
            "select schema_name, view_name from duckdb_views() "
            "where not internal and database_name = current_database() order by all"
        ).fetchall()
        outside = []
        for schema, view in views:
            try:
                connection.execute(f'select * from "{schema}"."{view}" limit 0')  # noqa: S608
            except duckdb.PermissionException:
                outside.append(f"{schema}.{view}")
            except (
                duckdb.Error
            ):  # a view broken in the warehouse is as broken in the copy: not publish's to judge
                continue
    if outside:
        raise NotSelfContainedError(
            f"the serving copy would read files outside itself through {outside}; "
            f"only the views of {list(schemas)} are copied as tables"
        )


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
