"""The read-only connection to the published serving copy of the warehouse, and the one function that queries it.

The app opens the serving file (`Settings.serving_path`), read-only, never the writer's file, so a dashboard left
open cannot block the nightly run. The pipeline replaces the serving file atomically every night; the connection
is cached per (path, mtime) so the first rerun after a publish opens the new file, and query results are cached
per file version too, so they never outlive the data they came from.

Every value is bound as a parameter; the only text put into a query is a relation's name (`relations`) or a
fixed expression the query module chose (`read`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb
import pandas as pd
import streamlit as st

from daybreak.core.settings import get_settings

from . import relations

if TYPE_CHECKING:
    from pathlib import Path

QUERY_TTL_SECONDS = 300


class NotPublishedError(FileNotFoundError):
    """The serving file does not exist yet: no nightly run has published."""


@dataclass(frozen=True)
class ServingVersion:
    """One published version of the serving file: its path and the mtime the publish left on it."""

    path: str
    mtime_ns: int

    @property
    def published_at(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.mtime_ns / 1e9).astimezone()


def serving_path() -> Path:
    """The file the dashboards read, from the settings as they are now."""
    return get_settings().serving_path


def serving_version() -> ServingVersion | None:
    """The serving file's current version, or None when no nightly run has published yet."""
    path = serving_path()
    try:
        return ServingVersion(str(path), path.stat().st_mtime_ns)
    except FileNotFoundError:
        return None


def _require_version() -> ServingVersion:
    version = serving_version()
    if version is None:
        raise NotPublishedError(f"no serving file at {serving_path()}")
    return version


def _close(connection: duckdb.DuckDBPyConnection) -> None:
    connection.close()


@st.cache_resource(max_entries=4, on_release=_close, show_spinner=False)
def _connection(path: str, mtime_ns: int) -> duckdb.DuckDBPyConnection:
    """A connection to one version of the serving file, attached read-only; `mtime_ns` is only the cache key.

    The file is attached to a fresh in-memory database rather than opened with `duckdb.connect(path)`: DuckDB
    reuses an open database for a path it has seen, so after a publish a second `connect(path)` would still
    read last night's file while the previous connection lives.
    """
    connection = duckdb.connect(":memory:")
    connection.execute("attach ? as serving (read_only)", [path])
    return connection


@st.cache_data(ttl=QUERY_TTL_SECONDS, show_spinner=False)
def _query(sql: str, params: tuple[object, ...], path: str, mtime_ns: int) -> pd.DataFrame:
    """Run one parameterised query against one version of the serving file.

    The connection is shared by every session, so each query runs on its own cursor (DuckDB cursors are
    separate connections to the same database and safe to use from different threads).
    """
    with _connection(path, mtime_ns).cursor() as cursor:
        cursor.execute("use serving")
        return cursor.execute(sql, list(params)).df()


def read(sql: str, params: tuple[object, ...] = (), **fragments: str) -> pd.DataFrame:
    """Run `sql` with `params` bound, against the serving file as published now.

    Args:
        sql: the query; `{NAME}` in it names a relation (`relations.Relation`), replaced by its qualified name.
        params: the values, bound to the query's `?`s.
        fragments: fixed SQL expressions a query chooses in code (`{name}` in `sql`), never a value.

    Raises:
        NotPublishedError: when the serving file does not exist.
    """
    version = _require_version()
    return _query(sql.format_map(relations.NAMES | fragments), params, version.path, version.mtime_ns)


def missing_tables(*names: str) -> list[str]:
    """Which of the `schema.table` names are absent from the serving file (a night that stopped early)."""
    found = read(
        """
        select table_schema || '.' || table_name as qualified_name
        from information_schema.tables
        where table_catalog = current_database()
        """
    )
    present = set(found["qualified_name"])
    return [name for name in names if name not in present]


def has_column(qualified: str, column: str) -> bool:
    """Whether the published `schema.table` has `column` (files published before it was added do not)."""
    schema, name = qualified.split(".")
    found = read(
        """
        select count(*) as n from information_schema.columns
        where table_catalog = current_database() and table_schema = ? and table_name = ? and column_name = ?
        """,
        (schema, name, column),
    )
    return bool(found.loc[0, "n"])


def as_dates(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """DuckDB hands DATE columns to pandas as datetime64; pages want plain dates."""
    for column in columns:
        frame[column] = frame[column].dt.date
    return frame


def empty(columns: dict[str, str]) -> pd.DataFrame:
    """No rows, the columns (name -> dtype) a query returns: what a page gets before the table exists."""
    return pd.DataFrame({name: pd.Series([], dtype=dtype) for name, dtype in columns.items()})
