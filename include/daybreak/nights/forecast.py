"""One forecast night around the pure per-series code: its inputs from the marts and the registry.

`jobs/forecast.py` reads, calls `daybreak.models.forecasting.pool.run_all`, and writes; what it reads is assembled
here, what it writes in `daybreak.nights.forecast_outputs`. History comes from `marts.features_series_daily` and
the calendar (closed days, holidays) from `marts.dim_calendar`, so dbt's lineage runs from the sources to the
predictions. A weekly or monthly dataset's days are summed into its periods (`daybreak.models.periods`), and its
forecast is due only on the night that closes a period (`Cadence`). The registry is read as it stood going into the night (champions as of D - 1), and
a decision already recorded for tonight's version is reused, so rerunning a night reproduces it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pandas as pd

from daybreak.core.settings import Settings
from daybreak.datasets import DatasetConfig
from daybreak.models import DEFAULT_SEED, periods
from daybreak.models.forecasting.context import CalendarDays, SeriesContext, grid_frequency, pandas_frequency
from daybreak.models.forecasting.options import ForecastOptions
from daybreak.models.forecasting.spec import CandidateSpec
from daybreak.models.forecasting.tasks import Champion, SeriesTask
from daybreak.nights import retraining
from daybreak.warehouse import registry
from daybreak.warehouse.connection import connect, read_frame

MODEL_KIND = "forecast"
TABLE = "predictions.forecasts"
COMPONENTS_TABLE = "predictions.forecast_components"
BACKTEST_TABLE = "predictions.backtest_metrics"
SELECTION_TABLE = "predictions.forecast_selection"
RECONCILIATION_TABLE = "predictions.forecast_reconciliation"
NON_NEGATIVE_TARGETS = ("units", "revenue")
"""Targets that cannot go below zero: no forecast or interval bound of theirs does."""
HISTORY_SQL = """
select series_id, sales_date as ds, units, revenue
from marts.features_series_daily
where sales_date <= ?
order by series_id, sales_date
"""
HOURLY_HISTORY_SQL = """
select series_id, sales_hour as ds, units, revenue
from marts.features_series_hourly
where sales_date <= ?
order by series_id, sales_hour
"""
CALENDAR_SQL = """
select date_day, is_closed, holiday_name
from marts.dim_calendar
order by date_day
"""


@dataclasses.dataclass
class RegistryState:
    """What the registry says going into the night.

    Args:
        champions: per series, the champion as of D - 1 (its artifact's warm start, and the stored fit of its
            latest refit on a retrain night, `_refresh_fits`; None when there is none).
        recorded: per series, the decision (action, reason) already recorded for tonight's version.
        latest_decision: per series, the date of its latest decision for another version (backfill guard).
        trained_tonight: series with a version registered tonight already (a rerun of the night).
    """

    champions: dict[str, Champion] = dataclasses.field(default_factory=dict)
    recorded: dict = dataclasses.field(default_factory=dict)
    latest_decision: dict = dataclasses.field(default_factory=dict)
    trained_tonight: set = dataclasses.field(default_factory=set)


def read_history(settings: Settings, business_date: dt.date, target: str, frequency: str) -> pd.DataFrame:
    """The target's history up to `business_date`: `series_id, ds, y`, one row per day, or per hour for an hourly
    dataset (`marts.features_series_hourly`)."""
    sql = HOURLY_HISTORY_SQL if frequency == "hourly" else HISTORY_SQL
    rows = read_frame(settings.warehouse_path, sql, [business_date])
    return rows.rename(columns={target: "y"}).loc[:, ["series_id", "ds", "y"]]


def daily_values(history: pd.DataFrame) -> pd.DataFrame:
    """`history` summed per day (a daily history as it is): monitoring's grain, for the references."""
    days = history.assign(ds=pd.to_datetime(history["ds"]).dt.normalize())
    return days.groupby(["series_id", "ds"], as_index=False, sort=True)["y"].sum(min_count=1)


def read_calendar(settings: Settings) -> pd.DataFrame:
    """The dataset calendar (`marts.dim_calendar`: `date_day, is_closed, holiday_name`)."""
    return read_frame(settings.warehouse_path, CALENDAR_SQL)


@dataclasses.dataclass(frozen=True)
class Cadence:
    """Where the night falls in the dataset's periods (`daybreak.models.periods`).

    Args:
        frequency: the dataset's `series.frequency`.
        week_ends_on: the weekday its weeks end on.
        closed: the calendar's closed days (a period closes on its last day not closed).
        tonight: the business date of the night.
        closes_on: the closing business day of the period holding the night.
        since: the first night after the previous period closed; the retrain schedule and monitoring's decisions
            of the nights from it to tonight are acted on tonight.
    """

    frequency: str
    week_ends_on: int
    closed: frozenset
    tonight: dt.date
    closes_on: dt.date
    since: dt.date

    @property
    def due(self) -> bool:
        """Whether tonight closes a period, so the forecast is due (a daily dataset's: every night)."""
        return self.closes_on == self.tonight

    @property
    def nights(self) -> list[dt.date]:
        """The nights from `since` to tonight."""
        return [self.since + dt.timedelta(days=n) for n in range((self.tonight - self.since).days + 1)]


def cadence(config: DatasetConfig, calendar: pd.DataFrame, business_date: dt.date) -> Cadence:
    """The night's place in the dataset's periods, the closed days read from the calendar mart."""
    spec = config.series
    closed = CalendarDays.from_frame(calendar).closed
    since, _ = periods.nights_since_last_close(spec.frequency, business_date, spec.week_ends_on, closed)
    return Cadence(
        frequency=spec.frequency,
        week_ends_on=spec.week_ends_on,
        closed=closed,
        tonight=business_date,
        closes_on=periods.closing_day(spec.frequency, business_date, spec.week_ends_on, closed),
        since=since,
    )


def series_context(config: DatasetConfig, calendar: pd.DataFrame, origin: pd.Timestamp) -> SeriesContext:
    """The models' context for the night: the grid on the origin, the calendar as data, the seed."""
    return SeriesContext(
        freq=grid_frequency(pandas_frequency(config.series.frequency), origin),
        seed=DEFAULT_SEED,
        calendar=CalendarDays.from_frame(calendar),
        non_negative=config.series.target in NON_NEGATIVE_TARGETS,
    )


def registry_state(settings: Settings, business_date: dt.date, version: str) -> RegistryState:
    """Champions as of D - 1 (with their fitted state for a warm start, and their stored fit to score from) and
    tonight's recorded decisions."""
    state = RegistryState()
    if not settings.warehouse_path.exists():
        return state
    with connect(settings.warehouse_path, read_only=True) as connection:
        for model_id, row in registry.champions(
            connection, MODEL_KIND, as_of=business_date - dt.timedelta(days=1)
        ).items():
            artifact = _read_artifact(row["artifact_path"])
            state.champions[model_id] = Champion(
                version=row["version"],
                spec=CandidateSpec.from_dict({"name": row["model_name"], "params": row["params"]}),
                state=artifact.get("state"),
                fit=artifact.get("fit"),
            )
        versions = registry.list_versions(connection, MODEL_KIND)
        state.trained_tonight = set(versions.loc[versions["version"] == version, "model_id"])
        _refresh_fits(state.champions, versions, business_date)
        events = registry.list_events(connection, MODEL_KIND)
        mine = events[(events["version"] == version) & events["action"].isin(["promote", "reject"])]
        for row in mine.itertuples(index=False):  # the first decision recorded for tonight's version stands
            state.recorded.setdefault(row.model_id, (row.action, row.reason))
        others = events[
            (events["version"] != version) & events["action"].isin(["promote", "reject", "rollback"])
        ]
        if len(others):
            latest = others.groupby("model_id")["logical_date"].max()
            state.latest_decision = {k: v.date() for k, v in latest.items()}
    return state


def retrain_trigger(settings: Settings, business_date: dt.date, since: dt.date | None = None) -> str | None:
    """Monitoring's reason to retrain the forecasts tonight (`daybreak.nights.retraining`), or None.

    Args:
        since: also monitoring's decisions of the nights from this date on (those since the previous period
            closed, `Cadence.since`).
    """
    if not settings.warehouse_path.exists():
        return None
    with connect(settings.warehouse_path, read_only=True) as connection:
        return retraining.triggered(connection, MODEL_KIND, business_date, since)


def _refresh_fits(champions: dict[str, Champion], versions: pd.DataFrame, business_date: dt.date) -> None:
    """Give each champion the fit of its latest refit before the night, in place.

    A retrain night that keeps the champion refits it on that night's history and stores the fit in the night's
    artifact as `champion_fit` (`forecast_outputs.record`). The newest version registered before `business_date` says which
    retrain night was last; when it kept this champion, its fit replaces the one stored at the champion's own
    training, so a normal night scores from data up to the last retrain, never later than D - 1.
    """
    before = versions[pd.to_datetime(versions["trained_for_date"]).dt.date < business_date]
    for row in before.groupby("model_id", sort=False).tail(1).itertuples(index=False):
        champion = champions.get(row.model_id)
        if champion is None or row.version == champion.version:
            continue
        refit = _read_artifact(row.artifact_path).get("champion_fit") or {}
        if refit.get("version") == champion.version and refit.get("fit") is not None:
            champions[row.model_id] = dataclasses.replace(champion, fit=refit["fit"])


def _read_artifact(artifact_path: str | None) -> dict:
    """A version's artifact (`forecast_outputs.record`): its `state` (Prophet's fitted parameters, a warm start) and `fit` (the
    stored fit a normal night scores from); empty when there is none or it cannot be read, and the champion is
    then refit cold."""
    if not artifact_path:
        return {}
    try:
        return json.loads(Path(artifact_path).read_text())
    except (OSError, ValueError):
        return {}


def series_tasks(
    periods: pd.DataFrame,
    origin: pd.Timestamp,
    context: SeriesContext,
    options: ForecastOptions,
    state: RegistryState,
    business_date: dt.date,
    retrain: bool,
) -> list[SeriesTask]:
    """One task per series: retrain when asked, scheduled (`retrain`), new or already trained tonight."""
    tasks = []
    for series_id, group in periods.groupby("series_id", sort=True):
        champion = state.champions.get(series_id)
        decision, reason = state.recorded.get(series_id, ("decide", None))
        if (
            series_id not in state.recorded
            and state.latest_decision.get(series_id, dt.date.min) > business_date
        ):
            decision = "reject"
            reason = (
                f"backfill: decisions dated after {business_date} exist "
                f"(latest {state.latest_decision[series_id]}), so the champion history is not rewritten"
            )
        tasks.append(
            SeriesTask(
                series_id=str(series_id),
                ds=group["ds"].to_numpy(),
                y=group["y"].to_numpy(dtype=float),
                origin=origin,
                context=context,
                options=options,
                retrain=retrain or champion is None or series_id in state.trained_tonight,
                champion=champion,
                decision=decision,
                decision_reason=reason,
            )
        )
    return tasks
