"""Opening the DuckDB warehouse: one writer at a time, transactions, parameterised reads, checksums.

DuckDB lets one process open a file for writing; a job that finds it locked waits and retries (with backoff)
instead of failing the night, saying once what it waits for. Every connection reads relative file paths (the
lake's, in `raw.sales_lines`) from the data home, so a data home moved elsewhere reads its own files. Writing declared tables is `daybreak.warehouse.writes`; the read-only serving copy
is `daybreak.warehouse.publish`.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import duckdb

if TYPE_CHECKING:
    import pandas as pd


log = logging.getLogger(__name__)

LOCK_WAIT_SECONDS = 600.0
T = TypeVar("T")


def data_home_of(path: Path) -> Path:
    """The data home of a warehouse file, `<home>/warehouse/<dataset>.duckdb` or its serving copy
    `<home>/serving/<dataset>.duckdb` (`daybreak.core.settings.Settings`): where relative paths inside it are read
    from."""
    return path.absolute().parent.parent


def is_lock_conflict(error: Exception | str) -> bool:
    """Whether `error` (or a program's output) says another process holds the DuckDB file's lock."""
    text = str(error)
    return "lock" in text.lower() and ("Conflicting" in text or "Could not set lock" in text)


def retry_while_locked(
    attempt: Callable[[], T], *, wait_seconds: float = LOCK_WAIT_SECONDS, waiting_for: str = "a file"
) -> T:
    """`attempt()`, called again with backoff while it fails on another process's lock, for up to `wait_seconds`.

    The one waiting policy of every writer: the Python jobs through `connect`, dbt through the transform job.
    Waiting is not failing: it is logged once, in one line naming `waiting_for` and the lock's holder, without the
    lock error's traceback, and again when the wait ends.
    """
    deadline = time.monotonic() + wait_seconds
    delay = 0.1
    waited = None
    while True:
        try:
            result = attempt()
        except Exception as error:
            if not is_lock_conflict(error) or time.monotonic() > deadline:
                raise
            if waited is None:
                waited = time.monotonic()
                log.info(
                    "waiting for %s: %s; trying again for up to %.0f s",
                    waiting_for, lock_holder(error), wait_seconds,
                )  # fmt: skip
        else:
            if waited is not None:
                log.info("%s is free after %.1f s of waiting", waiting_for, time.monotonic() - waited)
            return result
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


def lock_holder(error: Exception | str) -> str:
    """Who holds the lock, as DuckDB says it (`Conflicting lock is held in <program> (PID <n>)`), in a phrase."""
    found = re.search(r"lock is held in (.+?) \(PID (\d+)\)", str(error))
    return (
        f"{found.group(1)} (process {found.group(2)}) holds its lock"
        if found
        else "another process holds its lock"
    )


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

    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    config = {"file_search_path": str(data_home_of(path))}
    connection = retry_while_locked(
        lambda: duckdb.connect(str(path), read_only=read_only, config=config),
        wait_seconds=wait_seconds,
        waiting_for=f"the warehouse {path}",
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


def read_frame(path: Path, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
    """Run one parameterised query against the warehouse and return a DataFrame."""
    with connect(path, read_only=path.exists()) as connection:
        return connection.execute(sql, list(params)).df()


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
