"""The dashboards' one window on the data: every query the Streamlit pages run lives here.

The app opens the published serving copy of the warehouse (`Settings.serving_path`), read-only, never the
writer's file, so a dashboard left open cannot block the nightly run. The pipeline replaces the serving file
atomically every night; the connection is cached per (path, mtime) so the first rerun after a publish opens the
new file, and query results are cached per file version too, so they never outlive the data they came from.

Pages call the public functions below; they never write SQL. Every value is bound as a parameter.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from daybreak.settings import get_settings

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

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
    """The file the dashboards read, from the environment as it is now."""
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


@st.cache_resource(max_entries=2, on_release=_close, show_spinner=False)
def _connection(path: str, mtime_ns: int) -> duckdb.DuckDBPyConnection:
    """A connection to one version of the serving file, attached read-only; `mtime_ns` is only the cache key.

    The file is attached to a fresh in-memory database rather than opened with `duckdb.connect(path)`: DuckDB
    reuses an open database for a path it has seen, so after a publish a second `connect(path)` would still
    read last night's file while the previous connection lives.
    """
    import duckdb

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


def _read(sql: str, params: tuple[object, ...] = ()) -> pd.DataFrame:
    """Run `sql` with `params` bound, against the serving file as published now.

    Raises:
        NotPublishedError: when the serving file does not exist.
    """
    version = _require_version()
    return _query(sql, params, version.path, version.mtime_ns)


def missing_tables(*tables: str) -> list[str]:
    """Which of the `schema.table` names are absent from the serving file (a night that stopped early)."""
    found = _read(
        """
        select table_schema || '.' || table_name as qualified_name
        from information_schema.tables
        where table_catalog = current_database()
        """
    )
    present = set(found["qualified_name"])
    return [table for table in tables if table not in present]


def list_series() -> list[str]:
    """Series that have at least one forecast, `total` first, then by name."""
    frame = _read(
        """
        select distinct series_id
        from predictions.forecasts
        order by series_id <> 'total', series_id
        """
    )
    return frame["series_id"].tolist()


def list_forecast_versions(series_id: str) -> pd.DataFrame:
    """The forecast versions of one series, newest first.

    Returns:
        one row per as_of_date: `as_of_date, target, model, model_version, run_id, horizon, first_target_date,
        last_target_date`.
    """
    frame = _read(
        """
        select
            as_of_date,
            any_value(target) as target,
            any_value(model) as model,
            any_value(model_version) as model_version,
            any_value(run_id) as run_id,
            count(*) as horizon,
            min(target_date) as first_target_date,
            max(target_date) as last_target_date,
        from predictions.forecasts
        where series_id = ?
        group by as_of_date
        order by as_of_date desc
        """,
        (series_id,),
    )
    return _as_dates(frame, "as_of_date", "first_target_date", "last_target_date")


def forecast(series_id: str, as_of_date: dt.date) -> pd.DataFrame:
    """The forecast rows one version holds for one series, by target date."""
    frame = _read(
        """
        select
            target_date,
            horizon_step,
            target,
            yhat,
            yhat_lower_80,
            yhat_upper_80,
            yhat_lower_95,
            yhat_upper_95,
            model,
            model_version,
            run_id,
        from predictions.forecasts
        where series_id = ? and as_of_date = ?
        order by target_date
        """,
        (series_id, as_of_date),
    )
    return _as_dates(frame, "target_date")


def forecast_components(series_id: str, as_of_date: dt.date) -> pd.DataFrame:
    """What one forecast version is made of, per target date: `target_date, component, value, mode, model`.

    Empty for models without a decomposition (the statistical ones other than MSTL, the seasonal naive) and for
    files published before the components table existed.
    """
    if missing_tables("predictions.forecast_components"):
        return _as_dates(_empty_components(), "target_date")
    frame = _read(
        """
        select target_date, component, value, mode, model
        from predictions.forecast_components
        where series_id = ? and as_of_date = ?
        order by component, target_date
        """,
        (series_id, as_of_date),
    )
    return _as_dates(frame, "target_date")


def _empty_components() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        {
            "target_date": pd.Series([], dtype="datetime64[ns]"),
            "component": pd.Series([], dtype="object"),
            "value": pd.Series([], dtype="float64"),
            "mode": pd.Series([], dtype="object"),
            "model": pd.Series([], dtype="object"),
        }
    )


def actuals(series_id: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Daily actuals of one series from `start` to `end`, both inclusive: `sales_date, units, revenue`."""
    frame = _read(
        """
        select sales_date, units, revenue
        from marts.fct_daily_sales
        where series_id = ? and sales_date between ? and ?
        order by sales_date
        """,
        (series_id, start, end),
    )
    return _as_dates(frame, "sales_date")


def actuals_range(series_id: str) -> tuple[dt.date, dt.date] | None:
    """The first and last day with an actual for one series, or None when it has none."""
    frame = _read(
        """
        select count(*) as days, min(sales_date) as first_date, max(sales_date) as last_date
        from marts.fct_daily_sales
        where series_id = ?
        """,
        (series_id,),
    )
    if not frame.loc[0, "days"]:
        return None
    frame = _as_dates(frame, "first_date", "last_date")
    return frame.loc[0, "first_date"], frame.loc[0, "last_date"]


def _as_dates(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """DuckDB hands DATE columns to pandas as datetime64; pages want plain dates."""
    for column in columns:
        frame[column] = frame[column].dt.date
    return frame
