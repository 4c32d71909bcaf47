"""The dashboards' one window on the data: every query the Streamlit pages run lives here.

The app opens the published serving copy of the warehouse (`Settings.serving_path`), read-only, never the
writer's file, so a dashboard left open cannot block the nightly run. The pipeline replaces the serving file
atomically every night; the connection is cached per (path, mtime) so the first rerun after a publish opens the
new file, and query results are cached per file version too, so they never outlive the data they came from.

Pages call the public functions below; they never write SQL. Every value is bound as a parameter.

Roles are enforced here too, not in the pages (`daybreak.core.roles`): every function that returns customer-level rows
(customer ids, one customer's segments, quarantined raw rows, Evidently reports that profile the customer column)
checks the viewing user's role first and raises `PermissionDenied` without it, and so do the functions that record
and revoke overrides; a page that forgot to hide a section therefore shows a refusal, never the data. Pages ask
`can(...)` to hide what the role cannot use. Who is viewing (`current_user`): the OIDC login when `[auth]` is
configured in `.streamlit/secrets.toml`; else, behind the production reverse proxy (`DAYBREAK_USER_HEADER` set),
the user the proxy authenticated, from that request header; else, a local single-user app, `DAYBREAK_USER` or the
operating-system user. The roles file gives the role; anyone it does not list is a viewer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from daybreak.core import roles
from daybreak.core.roles import Permission
from daybreak.core.settings import Settings, get_settings

if TYPE_CHECKING:
    from collections.abc import Mapping

    import duckdb
    import pandas as pd
    from grain import Grain

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


@dataclass(frozen=True)
class User:
    """Who is viewing, how they were identified, and their role.

    Attributes:
        name: the login's e-mail, the proxy's user or the local user; None when nobody is identified (an OIDC
            app before login, a proxy request without the header), who is a viewer.
        source: `login`, `proxy`, `local` or `anonymous`.
        role: from the roles file.
    """

    name: str | None
    source: str
    role: roles.Role


def auth_configured() -> bool:
    """Whether an identity provider is configured for `st.login` (an `[auth]` section in secrets.toml)."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        return False


def _request_headers() -> Mapping[str, str]:
    """The headers of the browser session's first request (through the proxy, with the header it sets)."""
    return st.context.headers


def current_user() -> User:
    """Who is viewing now, and their role (see the module's docstring for the order the sources are tried in).

    Raises:
        RolesFileError: the roles file is not valid.
    """
    settings = get_settings()
    if auth_configured():
        name = (st.user.get("email") or st.user.get("name")) if st.user.get("is_logged_in", False) else None
        source = "login"
    elif settings.user_header:
        name = _request_headers().get(settings.user_header) or None
        source = "proxy"
    else:
        name, source = roles.local_user(settings), "local"
    if not name:
        return User(None, "anonymous", roles.LEAST)
    return User(str(name), source, roles.role_of(str(name), settings.roles_path))


def can(permission: Permission) -> bool:
    """Whether the viewing user's role grants `permission` (for pages deciding what to show)."""
    return roles.allows(current_user().role, permission)


def _require(permission: Permission) -> User:
    """The viewing user, when their role grants `permission`.

    Raises:
        PermissionDenied: naming the user, the role and the permission.
    """
    user = current_user()
    roles.require(user.role, permission, user.name or "an anonymous user")
    return user


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


@st.cache_resource(max_entries=4, on_release=_close, show_spinner=False)
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


def has_column(qualified: str, column: str) -> bool:
    """Whether the published `schema.table` has `column` (files published before it was added do not)."""
    schema, name = qualified.split(".")
    found = _read(
        """
        select count(*) as n from information_schema.columns
        where table_catalog = current_database() and table_schema = ? and table_name = ? and column_name = ?
        """,
        (schema, name, column),
    )
    return bool(found.loc[0, "n"])


def _period(table: str) -> str:
    """The SQL of a forecast row's period in `table` (`predictions.forecasts` or `.forecast_components`): the
    hour of an hourly row (`target_time`), else its `target_date`, as a timestamp. Files published before
    `target_time` was added hold daily rows only."""
    if has_column(table, "target_time"):
        return "coalesce(target_time, target_date::timestamp)"
    return "target_date::timestamp"


def forecast(series_id: str, as_of_date: dt.date) -> pd.DataFrame:
    """The forecast rows one version holds for one series, by period; `yhat` is the final forecast,
    `yhat_statistical` the model's and `override_id` the planner's override that changed it (null: none).

    `period` is the period forecast, at the grain `frequency` names (`grain.Grain`): the hour of an hourly series
    (`target_time`), else `target_date`.
    """
    overridable = has_column("predictions.forecasts", "override_id")
    statistical = "coalesce(yhat_statistical, yhat)" if overridable else "yhat"
    override = "override_id" if overridable else "null::varchar"
    frequency = (
        "coalesce(frequency, 'daily')" if has_column("predictions.forecasts", "frequency") else "'daily'"
    )
    frame = _read(
        f"""
        select
            {statistical} as yhat_statistical,
            {override} as override_id,
            {_period("predictions.forecasts")} as period,
            {frequency} as frequency,
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
        order by period
        """,  # noqa: S608 - fixed expressions chosen above; the values are bound
        (series_id, as_of_date),
    )
    return _as_dates(frame, "target_date")


def forecast_components(series_id: str, as_of_date: dt.date) -> pd.DataFrame:
    """What one forecast version is made of, per period (as `forecast` names it): `period, component, value,
    mode, model`.

    Empty for models without a decomposition (the statistical ones other than MSTL, the seasonal naive) and for
    files published before the components table existed.
    """
    if missing_tables("predictions.forecast_components"):
        return _empty_components()
    return _read(
        f"""
        select {_period("predictions.forecast_components")} as period, component, value, mode, model
        from predictions.forecast_components
        where series_id = ? and as_of_date = ?
        order by component, period
        """,  # noqa: S608 - one of two fixed expressions; the values are bound
        (series_id, as_of_date),
    )


def _empty_components() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        {
            "period": pd.Series([], dtype="datetime64[ns]"),
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


def period_actuals(series_id: str, start: dt.date, end: dt.date, grain: Grain) -> pd.DataFrame:
    """Actuals of one series at a forecast's grain for the days `start`..`end`: `period, units, revenue`. An
    hourly grain reads `marts.features_series_hourly`; weeks and months are the daily actuals summed into the
    periods complete by `end`."""
    if grain.frequency != "hourly":
        daily = actuals(series_id, start, end)
        if grain.is_daily:
            return daily.rename(columns={"sales_date": "period"}).astype({"period": "datetime64[ns]"})
        return grain.periods_of(daily, end)
    return _read(
        """
        select sales_hour as period, units, revenue
        from marts.features_series_hourly
        where series_id = ? and sales_date between ? and ?
        order by sales_hour
        """,
        (series_id, start, end),
    )


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


# --- Overview ------------------------------------------------------------------------------------------------


def daily_totals(start: dt.date, end: dt.date) -> pd.DataFrame:
    """The `total` series' daily actuals from `start` to `end` (the whole business in one line)."""
    return actuals("total", start, end)


def latest_night() -> dt.date | None:
    """The newest as-of date with forecasts: the business date the published numbers are as of."""
    frame = _read("select max(as_of_date) as as_of_date from predictions.forecasts")
    value = frame.loc[0, "as_of_date"]
    return None if value is None or value != value else value.date()


def last_sales_date() -> dt.date | None:
    """The newest day in the sales mart."""
    frame = _read("select max(sales_date) as last_date from marts.fct_daily_sales")
    value = frame.loc[0, "last_date"]
    return None if value is None or value != value else value.date()


def night_status() -> pd.DataFrame:
    """The published nights' completeness, newest first: per business date, files landed/refused and whether
    forecasts were written for it (a night that forecast reached its end: forecasting is its last model step).

    Columns: `business_date, files_loaded, files_refused, rows_quarantined, forecast_series`.
    """
    if missing_tables("monitoring.ingest_runs"):
        frame = _read(
            """
            select as_of_date as business_date, 0 as files_loaded, 0 as files_refused, 0 as rows_quarantined,
                count(distinct series_id) as forecast_series
            from predictions.forecasts group by as_of_date order by as_of_date desc limit 14
            """
        )
        return _as_dates(frame, "business_date")
    frame = _read(
        """
        with runs as (
            select business_date,
                count(*) filter (where status = 'loaded') as files_loaded,
                count(*) filter (where status = 'refused') as files_refused,
                coalesce(sum(rows_quarantined), 0) as rows_quarantined
            from monitoring.ingest_runs group by business_date
        ), forecasts as (
            select as_of_date as business_date, count(distinct series_id) as forecast_series
            from predictions.forecasts group by as_of_date
        )
        select coalesce(runs.business_date, forecasts.business_date) as business_date,
            coalesce(files_loaded, 0) as files_loaded, coalesce(files_refused, 0) as files_refused,
            coalesce(rows_quarantined, 0) as rows_quarantined, coalesce(forecast_series, 0) as forecast_series
        from runs full join forecasts using (business_date)
        order by business_date desc
        limit 14
        """
    )
    return _as_dates(frame, "business_date")


def movers(end: dt.date, days: int = 7, limit: int = 8) -> pd.DataFrame:
    """Series (other than `total`) whose revenue changed most over the last `days` days against the `days`
    before, by absolute change: `series_id, current, previous, change, change_pct`."""
    frame = _read(
        """
        with windows as (
            select series_id,
                sum(revenue) filter (where sales_date > ?::date - ?::integer) as current,
                sum(revenue) filter (where sales_date <= ?::date - ?::integer) as previous
            from marts.fct_daily_sales
            where series_id <> 'total' and sales_date > ?::date - 2 * ?::integer and sales_date <= ?::date
            group by series_id
        )
        select series_id, coalesce(current, 0) as current, coalesce(previous, 0) as previous,
            coalesce(current, 0) - coalesce(previous, 0) as change,
            (coalesce(current, 0) - previous) / nullif(previous, 0) as change_pct
        from windows
        order by abs(coalesce(current, 0) - coalesce(previous, 0)) desc, series_id
        limit ?
        """,
        (end, days, end, days, end, days, end, limit),
    )
    return frame


def forecast_sum(series_id: str, as_of_date: dt.date, start: dt.date, end: dt.date) -> float | None:
    """The sum of one forecast version's points for `start`..`end`, or None when it does not cover them all."""
    frame = _read(
        """
        select count(*) as days, sum(yhat) as total
        from predictions.forecasts
        where series_id = ? and as_of_date = ? and target_date between ? and ?
        """,
        (series_id, as_of_date, start, end),
    )
    if frame.loc[0, "days"] < (end - start).days + 1:
        return None
    return float(frame.loc[0, "total"])


def forecasts_covering(series_id: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Every forecast point of one series for target dates `start`..`end`, from whichever night made it:
    `as_of_date, target_date, period, yhat` (`period` as `forecast` names it). The Overview compares the last
    days' actuals with what was forecast for them.
    """
    frame = _read(
        f"""
        select as_of_date, target_date, {_period("predictions.forecasts")} as period, yhat
        from predictions.forecasts
        where series_id = ? and target_date between ? and ?
        order by as_of_date, period
        """,  # noqa: S608 - one of two fixed expressions; the values are bound
        (series_id, start, end),
    )
    return _as_dates(frame, "as_of_date", "target_date")


# --- Forecast explorer ---------------------------------------------------------------------------------------


def forecast_revisions(series_id: str, first: pd.Timestamp, last: pd.Timestamp, grain: Grain) -> pd.DataFrame:
    """How the forecast for the periods `first`..`last` moved across the nights that forecast all of them:
    `as_of_date, yhat, yhat_lower_80, yhat_upper_80, periods` (sums over the window)."""
    frame = _read(
        f"""
        select as_of_date, sum(yhat) as yhat, sum(yhat_lower_80) as yhat_lower_80,
            sum(yhat_upper_80) as yhat_upper_80, count(*) as periods
        from predictions.forecasts
        where series_id = ? and {_period("predictions.forecasts")} between ? and ?
        group by as_of_date
        having count(*) = ?
        order by as_of_date
        """,  # noqa: S608 - one of two fixed expressions; the values are bound
        (series_id, first.to_pydatetime(), last.to_pydatetime(), len(grain.span(first, last))),
    )
    return _as_dates(frame, "as_of_date")


def accuracy_by_horizon(series_id: str) -> pd.DataFrame:
    """Scored forecasts of one series by horizon step, from `predictions.forecast_accuracy`: the model's and the
    seasonal naive's weighted absolute percentage error (WAPE) over the same periods, and how many were scored.

    Columns: `horizon_step, scored, wape, naive_wape, within_80`; empty when nothing is scored or the view is
    not published.
    """
    if missing_tables("predictions.forecast_accuracy"):
        return _empty(
            {
                "horizon_step": "int64",
                "scored": "int64",
                "wape": "float64",
                "naive_wape": "float64",
                "within_80": "float64",
            }
        )
    return _read(
        """
        select horizon_step, count(*) as scored,
            sum(abs_error) / nullif(sum(abs(actual)), 0) as wape,
            sum(naive_abs_error) filter (where naive_abs_error is not null)
                / nullif(sum(abs(actual)) filter (where naive_abs_error is not null), 0) as naive_wape,
            avg(case when within_80 then 1.0 else 0.0 end) as within_80
        from predictions.forecast_accuracy
        where series_id = ?
        group by horizon_step
        order by horizon_step
        """,
        (series_id,),
    )


def _empty(columns: dict[str, str]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({name: pd.Series([], dtype=dtype) for name, dtype in columns.items()})


# --- Segments ------------------------------------------------------------------------------------------------


def segment_sizes() -> pd.DataFrame:
    """Per scored night and segment: customers and revenue share (`as_of_date, segment_name, customers,
    share_of_customers, share_of_revenue`)."""
    frame = _read(
        """
        select as_of_date, segment_id, any_value(segment_name) as segment_name, any_value(customers) as customers,
            any_value(share_of_customers) as share_of_customers, any_value(share_of_revenue) as share_of_revenue
        from predictions.segment_profiles
        group by as_of_date, segment_id
        order by as_of_date, segment_id
        """
    )
    return _as_dates(frame, "as_of_date")


def segment_profile(as_of_date: dt.date) -> pd.DataFrame:
    """One night's segment profiles: `segment_name, feature, mean, population_mean, mean_vs_population`."""
    return _read(
        """
        select segment_name, feature, mean, median, population_mean, mean_vs_population
        from predictions.segment_profiles
        where as_of_date = ?
        order by segment_id, feature
        """,
        (as_of_date,),
    )


def segment_dates() -> list[dt.date]:
    """The nights with scored customers, oldest first."""
    frame = _read("select distinct as_of_date from predictions.customer_segments order by as_of_date")
    return _as_dates(frame, "as_of_date")["as_of_date"].tolist()


def segment_transitions(start: dt.date, end: dt.date) -> pd.DataFrame:
    """Customers by (segment on `start`, segment on `end`); `from_segment` is "new" for customers first scored
    after `start`: `from_segment, to_segment, customers, share_of_from`."""
    return _read(
        """
        with later as (
            select customer_id, segment_name from predictions.customer_segments where as_of_date = ?
        ), earlier as (
            select customer_id, segment_name from predictions.customer_segments where as_of_date = ?
        ), moves as (
            select coalesce(earlier.segment_name, 'new') as from_segment, later.segment_name as to_segment,
                count(*) as customers
            from later left join earlier using (customer_id)
            group by all
        )
        select *, customers / sum(customers) over (partition by from_segment) as share_of_from
        from moves
        order by from_segment, to_segment
        """,
        (end, start),
    )


def customer_history(customer_id: str) -> pd.DataFrame:
    """One customer's segment on every scored night: `as_of_date, segment_name, distance` (customer-level)."""
    _require(Permission.CUSTOMERS)
    frame = _read(
        """
        select as_of_date, segment_name, distance
        from predictions.customer_segments
        where customer_id = ?
        order by as_of_date
        """,
        (customer_id,),
    )
    return _as_dates(frame, "as_of_date")


def sample_customers(as_of_date: dt.date, limit: int = 200) -> list[str]:
    """Some customers scored on `as_of_date` to pick from (the first by id; customer-level)."""
    _require(Permission.CUSTOMERS)
    frame = _read(
        "select customer_id from predictions.customer_segments where as_of_date = ? order by customer_id limit ?",
        (as_of_date, limit),
    )
    return frame["customer_id"].tolist()


# --- Model health --------------------------------------------------------------------------------------------


def model_versions(model_kind: str = "forecast") -> pd.DataFrame:
    """The registry's versions of one kind, champions first: `model_id, version, model_name, status, metrics,
    trained_for_date`."""
    frame = _read(
        """
        select model_id, version, model_name, status, metrics, trained_for_date
        from registry.model_versions
        where model_kind = ? and status in ('champion', 'challenger')
        order by model_id <> 'total', model_id, status, version desc
        """,
        (model_kind,),
    )
    return _as_dates(frame, "trained_for_date")


def backtest_scores(as_of_date: dt.date | None = None) -> pd.DataFrame:
    """Mean backtest scores per series and candidate on the latest retraining night (or `as_of_date`):
    `as_of_date, series_id, candidate, model, role, mase, smape, coverage_80, selected`."""
    frame = _read(
        """
        with night as (
            select coalesce(?::date, max(as_of_date)) as as_of_date from predictions.backtest_metrics
        )
        select as_of_date, series_id, candidate, any_value(model) as model, role,
            avg(mase) as mase, avg(smape) as smape, avg(coverage_80) as coverage_80, bool_or(selected) as selected
        from predictions.backtest_metrics join night using (as_of_date)
        group by as_of_date, series_id, candidate, role
        order by series_id <> 'total', series_id, mase
        """,
        (as_of_date,),
    )
    return _as_dates(frame, "as_of_date")


def model_events(limit: int = 200) -> pd.DataFrame:
    """The registry's audit log, newest night first, each model's events in their order: `event_seq, logical_date,
    model_kind, model_id, version, action, from_status, to_status, reason, actor`."""
    frame = _read(
        """
        select event_seq, logical_date, model_kind, model_id, version, action, from_status, to_status, reason,
            actor
        from registry.model_events
        order by logical_date desc, model_kind, model_id, event_seq desc
        limit ?
        """,
        (limit,),
    )
    return _as_dates(frame, "logical_date")


def drift_summary() -> pd.DataFrame:
    """The nightly drift of the sales lines: `as_of_date, share_drifted, n_drifted_columns, n_columns,
    dataset_drift, report_path`, oldest first."""
    frame = _read(
        """
        select as_of_date, share_drifted, n_drifted_columns, n_columns, dataset_drift, report_path
        from monitoring.drift_summary
        order by as_of_date
        """
    )
    return _as_dates(frame, "as_of_date")


def drift_metrics(top: int = 8) -> pd.DataFrame:
    """The `top` features that came nearest their drift threshold on any night, each over every night:
    `as_of_date, feature` (`<model kind> <scope>: <feature>`), `statistic`, `threshold`, `drifted` and
    `relative` (statistic / threshold: 1 or more is drift). Tests differ in scale (a Wasserstein distance, a
    Jensen-Shannon one), so the chart compares each against its own threshold; a night with 500 series has
    thousands of features, so only the ones that matter are read."""
    if missing_tables("monitoring.drift_metrics"):
        return _empty(
            {
                "as_of_date": "object",
                "feature": "object",
                "statistic": "float64",
                "threshold": "float64",
                "drifted": "bool",
                "relative": "float64",
            }
        )
    frame = _read(
        """
        with named as (
            select as_of_date, model_kind || ' ' || scope || ': ' || feature as feature,
                statistic, threshold, drifted, statistic / nullif(threshold, 0) as relative
            from monitoring.drift_metrics
        ),
        nearest as (
            select feature from named group by feature
            order by max(relative) desc nulls last, feature limit ?
        )
        select named.* from named join nearest using (feature) order by as_of_date, feature
        """,
        (top,),
    )
    return _as_dates(frame, "as_of_date")


# --- Pipeline ------------------------------------------------------------------------------------------------


def ingest_accounting(limit_nights: int = 30) -> pd.DataFrame:
    """Per business date of the last `limit_nights`: files, rows and revenue in, loaded and quarantined."""
    frame = _read(
        """
        select business_date,
            count(*) filter (where status = 'loaded') as files_loaded,
            count(*) filter (where status = 'duplicate') as files_duplicate,
            count(*) filter (where status = 'refused') as files_refused,
            coalesce(sum(rows_in), 0) as rows_in, coalesce(sum(rows_loaded), 0) as rows_loaded,
            coalesce(sum(rows_quarantined), 0) as rows_quarantined,
            coalesce(sum(revenue_in), 0) as revenue_in, coalesce(sum(revenue_loaded), 0) as revenue_loaded,
            coalesce(sum(revenue_quarantined), 0) as revenue_quarantined
        from monitoring.ingest_runs
        group by business_date
        order by business_date desc
        limit ?
        """,
        (limit_nights,),
    )
    return _as_dates(frame, "business_date")


def quarantine_counts() -> pd.DataFrame:
    """Quarantined rows per business date and rule: `business_date, rule, rows, revenue`."""
    frame = _read(
        """
        select business_date, rule, count(*) as rows, sum(revenue) as revenue
        from monitoring.quarantine
        group by all
        order by business_date, rule
        """
    )
    return _as_dates(frame, "business_date")


def quarantine_rows(rule: str, limit: int = 500) -> pd.DataFrame:
    """The quarantined rows that broke `rule`, newest first; customer-level, as their raw values hold the
    export's columns, customer included."""
    _require(Permission.CUSTOMERS)
    frame = _read(
        """
        select business_date, source_file, source_row, detail, raw_values, revenue
        from monitoring.quarantine
        where rule = ?
        order by business_date desc, source_file, source_row
        limit ?
        """,
        (rule, limit),
    )
    return _as_dates(frame, "business_date")


def dbt_results() -> pd.DataFrame:
    """The last dbt invocation's node results from `run_results.json` under the data home's dbt target:
    `unique_id, kind, name, status, execution_time, message`; empty when dbt has not run here."""
    import json

    import pandas as pd

    path = get_settings().dbt_target_dir / "run_results.json"
    try:
        results = json.loads(path.read_text())["results"]
    except (FileNotFoundError, KeyError, ValueError):
        return _empty(
            {
                "unique_id": "object",
                "kind": "object",
                "name": "object",
                "status": "object",
                "execution_time": "float64",
                "message": "object",
            }
        )
    return pd.DataFrame(
        [
            {
                "unique_id": result.get("unique_id", ""),
                "kind": result.get("unique_id", "").split(".")[0],
                "name": result.get("unique_id", "").split(".")[-1]
                if "." in result.get("unique_id", "")
                else "",
                "status": str(result.get("status", "")),
                "execution_time": float(result.get("execution_time") or 0.0),
                "message": result.get("message") or "",
            }
            for result in results
        ]
    )


def report_html(report_path: str) -> str | None:
    """The text of an Evidently report the drift job wrote, or None when the file is gone or unreadable.

    Only files under the data home's reports directory are read, so a path in the warehouse cannot make the
    dashboard read anything else on the server. Customer-level: the reports profile every column of the sales
    lines and customer features, the customer's id among them (its most frequent values).
    """
    _require(Permission.CUSTOMERS)
    reports = get_settings().reports_dir.resolve()
    path = Path(report_path).resolve()
    if not path.is_relative_to(reports):
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def airflow_url() -> str:
    """Where the Airflow UI is: `AIRFLOW__API__BASE_URL` when set, else the local `make demo` address (its port)."""
    import os

    port = os.environ.get("AIRFLOW__API__PORT", "8080")
    return os.environ.get("AIRFLOW__API__BASE_URL") or f"http://localhost:{port}"


def dbt_docs_path() -> Path | None:
    """dbt's generated docs (`dbt docs generate`) in the data home's dbt target, when they exist."""
    path = get_settings().dbt_target_dir / "index.html"
    return path if path.exists() else None


# --- Planners' overrides -------------------------------------------------------------------------------------


def override_log() -> pd.DataFrame:
    """Every override in the planners' log (outside the warehouse), with its state; read fresh on every call, as
    a planner expects to see the override they just recorded."""
    from daybreak.nights import overrides

    return overrides.current(get_settings())


def override_applications() -> pd.DataFrame:
    """Per override, the published nights that applied it: `override_id, nights, last_applied, rows`."""
    if not has_column("predictions.forecasts", "override_id"):
        return _empty({"override_id": "object", "nights": "int64", "last_applied": "object", "rows": "int64"})
    frame = _read(
        """
        select override_id, count(distinct as_of_date) as nights, max(as_of_date) as last_applied,
            count(*) as rows
        from predictions.forecasts
        where override_id is not null
        group by override_id
        """
    )
    return _as_dates(frame, "last_applied")


def forecast_value_added() -> pd.DataFrame:
    """Scored overrides from the dbt view `predictions.forecast_value_added`; empty before any is scored."""
    if missing_tables("predictions.forecast_value_added"):
        return _empty(
            {
                "override_id": "object",
                "author": "object",
                "reason": "object",
                "scored_periods": "int64",
                "final_abs_error": "float64",
                "statistical_abs_error": "float64",
                "value_added": "float64",
            }
        )
    return _read(
        """
        select override_id, series_id, author, reason, kind, amount, status, scored_periods, final_abs_error,
            statistical_abs_error, value_added, final_wape, statistical_wape
        from predictions.forecast_value_added
        order by author, reason
        """
    )


def record_override(**request: object) -> dict:
    """Record an override (`daybreak.nights.overrides.add`) as the viewing user, who needs the overrides permission;
    dated with the newest published forecasts, what the planner was looking at.

    Raises:
        PermissionDenied: the role cannot override.
        OverrideError: a request that cannot be recorded.
    """
    from daybreak.nights import overrides

    settings = get_settings()
    return overrides.add(
        settings,
        **request,
        author=_author(_require(Permission.OVERRIDES), settings),
        now=dt.datetime.now(dt.UTC),  # the audit's record time
        as_of_date=latest_night(),  # the forecasts on screen: the nights after them apply it
    )


def revoke_override(override_id: str, reason: str) -> dict:
    """Revoke an override (`daybreak.nights.overrides.revoke`) as the viewing user, who needs the overrides permission.

    Raises:
        PermissionDenied: the role cannot override.
        OverrideError: no such active override, or no reason.
    """
    from daybreak.nights import overrides

    settings = get_settings()
    return overrides.revoke(
        settings,
        override_id,
        reason=reason,
        author=_author(_require(Permission.OVERRIDES), settings),
        now=dt.datetime.now(dt.UTC),
        as_of_date=latest_night(),
    )


def _author(user: User, settings: Settings) -> str:
    """The name an override's audit records: a local user labelled so, since nobody authenticated them."""
    from daybreak.nights import overrides

    return overrides.local_planner(settings) if user.source == "local" else str(user.name)
