"""The serving copy: readers never block the writer.

`publish` copies the warehouse to a serving file that dashboards and analysts open read-only, self-contained (the
lake's rows copied in), so what they see changes only when the next publish swaps it.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import duckdb

from daybreak.core.files import fsync, temporary_sibling
from daybreak.warehouse.connection import connect, data_home_of

log = logging.getLogger(__name__)

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
    Spark built: `daybreak.nights.spark.file_view_schemas`). The copy is checked with file access disabled before it is
    swapped in.

    The copy and then its folder are flushed to disk (fsync) around the rename, so the swap survives a power cut
    as it survives a kill: after one, the serving name holds the old copy or the whole new one.

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
        fsync(staging)  # the copy's bytes on disk before the rename points the serving name at them
        os.replace(staging, serving_path)
        fsync(
            serving_path.parent
        )  # and the rename itself: a power cut then leaves the old copy or the new one
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

    # the views read the lake by its path relative to the data home, as every connection does (`connect`)
    with duckdb.connect(str(path), config={"file_search_path": str(data_home_of(path))}) as connection:
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
