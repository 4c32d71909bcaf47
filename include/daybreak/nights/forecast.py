"""One forecast night around the pure per-series code: its inputs from the marts and the registry, its outputs.

`jobs/forecast.py` reads, calls `daybreak.models.forecasting.run_all`, and writes; what it reads and writes is
assembled here. History comes from `marts.features_series_daily` and the calendar (closed days, holidays) from
`marts.dim_calendar`, so dbt's lineage runs from the sources to the predictions. A weekly or monthly dataset's
days are summed into its periods (`daybreak.models.periods`), and its forecast is due only on the night that
closes a period (`Cadence`). The registry is read as it stood going into the night (champions as of D - 1), and
a decision already recorded for tonight's version is reused, so rerunning a night reproduces it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING

from daybreak.core.files import write_json
from daybreak.warehouse.connection import connect

if TYPE_CHECKING:
    import pandas as pd

    from daybreak.core.settings import Settings
    from daybreak.datasets import DatasetConfig
    from daybreak.models.candidates import SeriesContext
    from daybreak.models.forecasting import SeriesResult, SeriesTask
    from daybreak.models.reconciliation import Hierarchy

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
PREVIOUS_CHOICE_SQL = """
select method, metric, score, folds, series, chosen_on, reason
from predictions.forecast_reconciliation
where as_of_date < ? and chosen
order by as_of_date desc
limit 1
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
        champions: per series, the champion as of D - 1: `{"version", "spec", "state", "fit"}` (its artifact's
            warm start, and the stored fit of its latest refit on a retrain night, `_refresh_fits`; None when
            there is none).
        recorded: per series, the decision (action, reason) already recorded for tonight's version.
        latest_decision: per series, the date of its latest decision for another version (backfill guard).
        trained_tonight: series with a version registered tonight already (a rerun of the night).
    """

    champions: dict = dataclasses.field(default_factory=dict)
    recorded: dict = dataclasses.field(default_factory=dict)
    latest_decision: dict = dataclasses.field(default_factory=dict)
    trained_tonight: set = dataclasses.field(default_factory=set)


def read_history(settings: Settings, business_date: dt.date, target: str, frequency: str) -> pd.DataFrame:
    """The target's history up to `business_date`: `series_id, ds, y`, one row per day, or per hour for an hourly
    dataset (`marts.features_series_hourly`)."""
    from daybreak.warehouse.connection import read_frame

    sql = HOURLY_HISTORY_SQL if frequency == "hourly" else HISTORY_SQL
    rows = read_frame(settings.warehouse_path, sql, [business_date])
    return rows.rename(columns={target: "y"}).loc[:, ["series_id", "ds", "y"]]


def daily_values(history: pd.DataFrame) -> pd.DataFrame:
    """`history` summed per day (a daily history as it is): monitoring's grain, for the references."""
    import pandas as pd

    days = history.assign(ds=pd.to_datetime(history["ds"]).dt.normalize())
    return days.groupby(["series_id", "ds"], as_index=False, sort=True)["y"].sum(min_count=1)


def read_calendar(settings: Settings) -> pd.DataFrame:
    """The dataset calendar (`marts.dim_calendar`: `date_day, is_closed, holiday_name`)."""
    from daybreak.warehouse.connection import read_frame

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
    from daybreak.models import periods
    from daybreak.models.candidates import CalendarDays

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
    from daybreak.models import DEFAULT_SEED
    from daybreak.models.candidates import CalendarDays, SeriesContext, pandas_frequency
    from daybreak.models.forecasting import grid_frequency

    return SeriesContext(
        freq=grid_frequency(pandas_frequency(config.series.frequency), origin),
        seed=DEFAULT_SEED,
        calendar=CalendarDays.from_frame(calendar),
        non_negative=config.series.target in NON_NEGATIVE_TARGETS,
    )


def registry_state(settings: Settings, business_date: dt.date, version: str) -> RegistryState:
    """Champions as of D - 1 (with their fitted state for a warm start, and their stored fit to score from) and
    tonight's recorded decisions."""
    from daybreak.warehouse import registry

    state = RegistryState()
    if not settings.warehouse_path.exists():
        return state
    with connect(settings.warehouse_path, read_only=True) as connection:
        for model_id, row in registry.champions(
            connection, MODEL_KIND, as_of=business_date - dt.timedelta(days=1)
        ).items():
            artifact = _read_artifact(row["artifact_path"])
            state.champions[model_id] = {
                "version": row["version"],
                "spec": {"name": row["model_name"], "params": row["params"]},
                "state": artifact.get("state"),
                "fit": artifact.get("fit"),
            }
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
    from daybreak.nights import retraining

    if not settings.warehouse_path.exists():
        return None
    with connect(settings.warehouse_path, read_only=True) as connection:
        return retraining.triggered(connection, MODEL_KIND, business_date, since)


def _refresh_fits(champions: dict, versions: pd.DataFrame, business_date: dt.date) -> None:
    """Give each champion the fit of its latest refit before the night, in place.

    A retrain night that keeps the champion refits it on that night's history and stores the fit in the night's
    artifact as `champion_fit` (`record`). The newest version registered before `business_date` says which
    retrain night was last; when it kept this champion, its fit replaces the one stored at the champion's own
    training, so a normal night scores from data up to the last retrain, never later than D - 1.
    """
    import pandas as pd

    before = versions[pd.to_datetime(versions["trained_for_date"]).dt.date < business_date]
    for row in before.groupby("model_id", sort=False).tail(1).itertuples(index=False):
        champion = champions.get(row.model_id)
        if champion is None or row.version == champion["version"]:
            continue
        refit = _read_artifact(row.artifact_path).get("champion_fit") or {}
        if refit.get("version") == champion["version"] and refit.get("fit") is not None:
            champion["fit"] = refit["fit"]


def _read_artifact(artifact_path: str | None) -> dict:
    """A version's artifact (`record`): its `state` (Prophet's fitted parameters, a warm start) and `fit` (the
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
    options,
    state: RegistryState,
    business_date: dt.date,
    retrain: bool,
) -> list[SeriesTask]:
    """One task per series: retrain when asked, scheduled (`retrain`), new or already trained tonight."""
    from daybreak.models.forecasting import SeriesTask

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


def record(
    connection,
    settings: Settings,
    decisions,
    business_date: dt.date,
    version: str,
    run_id: str,
    *,
    reason: str = "trained",
    monitoring=None,
    daily: pd.DataFrame | None = None,
) -> None:
    """Register tonight's challengers (artifact first) and record the promotion decisions not yet recorded.

    Args:
        reason: why tonight retrained (the registry's `register` reason).
        monitoring: the dataset's `monitoring:` section; when given, the promoted series' training data is
            stored as their reference (`daybreak.nights.references`).
        daily: the series' daily history (`series_id, ds, y`); monitoring compares each night's daily values
            with the reference, so a weekly or monthly dataset's reference is its days, not its periods.
            Default: the tasks' own (daily) values.
    """
    from daybreak.warehouse import registry

    promoted = []
    for task, result in decisions:
        if result.challenger is None:
            continue
        challenger = result.challenger
        artifact = (
            settings.models_dir / MODEL_KIND / version / f"{urllib.parse.quote(task.series_id, safe='')}.json"
        )
        write_json(
            artifact,
            {
                "series_id": task.series_id,
                "version": version,
                "spec": challenger["spec"],
                "state": challenger["state"],
                "fit": challenger.get("fit"),
                "champion_fit": challenger.get("champion_fit"),
                "metrics": challenger["metrics"],
            },
        )
        registry.register(
            connection,
            model_kind=MODEL_KIND,
            model_id=task.series_id,
            version=version,
            trained_for_date=business_date,
            data_start=challenger["data_start"],
            data_end=challenger["data_end"],
            model_name=challenger["spec"]["name"],
            params=challenger["spec"]["params"],
            metrics=challenger["metrics"],
            artifact_path=str(artifact),
            run_id=run_id,
            reason=reason if task.champion is not None else "no champion yet",
        )
        if registry.decided(connection, MODEL_KIND, task.series_id, version):
            continue
        decision, why = result.selection["decision"], result.selection["decision_reason"]
        (registry.promote if decision == "promote" else registry.reject)(
            connection,
            MODEL_KIND,
            task.series_id,
            version,
            reason=why,
            actor="pipeline",
            logical_date=business_date,
            run_id=run_id,
        )
        if decision == "promote":
            promoted.append(task)
    if monitoring is not None and promoted:
        store_references(connection, settings, promoted, business_date, version, run_id, monitoring, daily)


def store_references(
    connection,
    settings: Settings,
    promoted,
    business_date: dt.date,
    version: str,
    run_id: str,
    monitoring,
    daily: pd.DataFrame | None = None,
) -> int:
    """Store the promoted series' last `monitoring.reference_days` daily training values as their reference
    (`daily`: the daily history, `series_id, ds, y`; default the tasks' values, daily for a daily dataset)."""
    import pandas as pd

    from daybreak.nights import references

    start = business_date - dt.timedelta(days=monitoring.reference_days - 1)
    by_series = dict(tuple(daily.groupby("series_id", sort=False))) if daily is not None else {}
    parts = []
    for task in promoted:
        days = by_series.get(task.series_id)
        ds, y = (
            (task.ds, task.y) if days is None else (days["ds"].to_numpy(), days["y"].to_numpy(dtype=float))
        )
        values = pd.DataFrame({"sales_date": pd.to_datetime(ds).date, "y": y})
        values = values[(values["sales_date"] >= start) & (values["sales_date"] <= business_date)]
        parts.append(values.assign(model_id=task.series_id))
    frame = pd.concat(parts, ignore_index=True)
    frame["row_key"] = frame["model_id"] + "|" + frame["sales_date"].astype(str)
    sampled = references.sample(frame, monitoring.reference_rows * len(promoted), "row_key")
    return references.store(
        connection,
        references.directory(settings),
        model_kind=MODEL_KIND,
        version=version,
        frame=sampled.drop(columns="row_key"),
        window=(start, business_date),
        rule=references.sampling_rule(monitoring.reference_rows, "model_id|sales_date")
        + f"; the series' last {monitoring.reference_days} days",
        source_rows=len(frame),
        promoted_on=business_date,
        run_id=run_id,
    )


def tables(
    decisions, business_date: dt.date, version: str, target: str, run_id: str, *, frequency: str
) -> dict[str, pd.DataFrame]:
    """The night's rows of every prediction table, as `daybreak.warehouse.tables` declares them (forecasts stamped with the
    dataset's `frequency`, the grain of their `target_date`)."""
    import pandas as pd

    forecasts, components, backtests, selections = [], [], [], []
    for task, result in decisions:
        used = _version_used(task, result, version)
        forecasts.append(
            result.forecast.assign(
                series_id=task.series_id, model_version=used, target=target, frequency=frequency
            )
        )
        if len(result.components):
            components.append(
                result.components.assign(
                    series_id=task.series_id, model=result.forecast["model"].iloc[0], model_version=used
                )
            )
        if len(result.backtest):
            backtests.append(result.backtest.assign(series_id=task.series_id))
        selections.append({"series_id": task.series_id, **result.selection, "model_version": used})
    parts = {TABLE: forecasts, COMPONENTS_TABLE: components, BACKTEST_TABLE: backtests}
    frames = {name: pd.concat(rows, ignore_index=True) if rows else None for name, rows in parts.items()}
    if frequency == "hourly":  # the hour itself; target_date (from ds) is its day
        for name in (TABLE, COMPONENTS_TABLE):
            if frames[name] is not None:
                frames[name]["target_time"] = frames[name]["ds"]
    frames[SELECTION_TABLE] = pd.DataFrame(selections) if selections else None
    return {name: _conformed(name, frame, business_date, run_id) for name, frame in frames.items()}


def reconcile(
    connection,
    frames: dict[str, pd.DataFrame],
    decisions,
    periods: pd.DataFrame,
    config: DatasetConfig,
    context: SeriesContext,
    business_date: dt.date,
    run_id: str,
) -> Hierarchy | None:
    """Make the night's forecasts in `frames` coherent (`daybreak.models.reconciliation`), in place.

    The method is chosen on tonight's backtest folds on a retrain night (`reconciliation.backtest_scores`);
    otherwise the choice in force going into the night (the latest as of D - 1) is reused, so a normal night and
    any rerun reconcile as that retrain did. `yhat_base` keeps the unreconciled forecast; the
    choice (with every method's score on a retrain night) goes to `predictions.forecast_reconciliation`.

    Returns:
        the hierarchy (None: the series have none, and the forecasts pass through unchanged).
    """
    import pandas as pd

    from daybreak.models import reconciliation as rec
    from daybreak.warehouse import tables as declared

    frame = _with_ds(frames[TABLE])
    for column in rec.BAND_COLUMNS:
        frame[column] = frame[column].astype("float64")
    frame["yhat_base"] = frame["yhat"]
    hierarchy = rec.build_hierarchy(
        frame["series_id"].astype(str).unique(), complete=not config.series.include
    )
    choices = pd.DataFrame()
    if hierarchy is not None:
        metric = config.forecasting.metric
        folds = [
            result.folds.assign(series_id=task.series_id)
            for task, result in decisions
            if result.folds is not None and len(result.folds)
        ]
        if folds:
            scores = rec.backtest_scores(
                pd.concat(folds, ignore_index=True),
                hierarchy,
                periods,
                metric=metric,
                season_length=context.season_length,
                non_negative=context.non_negative,
            )
            choices = scores.assign(
                metric=metric, chosen_on=business_date, reason=f"chosen on the backtest of {business_date}"
            )
        if not len(choices) or not choices["chosen"].any():
            choices = _previous_choice(connection, business_date, hierarchy, metric)
        method = choices.loc[choices["chosen"], "method"].iloc[0]
        try:
            frame = rec.reconcile(
                frame, hierarchy, method, history=periods, non_negative=context.non_negative
            )
        except Exception as error:  # noqa: BLE001 - reconciliation never fails the night: bottom-up cannot fail
            reason = f"{method} failed on {business_date} ({str(error)[:200]}): bottom-up instead"
            choices["chosen"] = False
            default = choices["method"] == rec.DEFAULT_METHOD
            if not default.any():
                fallback = {"method": rec.DEFAULT_METHOD, "metric": metric, "chosen_on": business_date}
                choices = pd.concat([choices, pd.DataFrame([fallback])], ignore_index=True)
                default = choices["method"] == rec.DEFAULT_METHOD
            choices.loc[default, ["chosen", "reason"]] = [True, reason]
            frame = rec.reconcile(frame, hierarchy, rec.DEFAULT_METHOD, non_negative=context.non_negative)
    frames[TABLE] = declared.table(TABLE).conform(frame)
    frames[RECONCILIATION_TABLE] = _conformed(
        RECONCILIATION_TABLE, choices if len(choices) else None, business_date, run_id
    )
    return hierarchy


def _previous_choice(connection, business_date: dt.date, hierarchy: Hierarchy, metric: str) -> pd.DataFrame:
    """The reconciliation method in force going into the night (latest choice as of D - 1), as tonight's row.

    The row is copied as it was chosen (score, `chosen_on`, reason), so every night until the next retrain says
    which backtest chose it. The default (bottom-up) when none was recorded yet, or the recorded one does not
    apply to tonight's hierarchy.
    """
    import pandas as pd

    from daybreak.models import reconciliation as rec
    from daybreak.warehouse import tables as declared

    row = None
    if declared.exists(connection, RECONCILIATION_TABLE):
        found = connection.execute(PREVIOUS_CHOICE_SQL, [business_date]).df()
        row = found.iloc[0].to_dict() if len(found) else None
    if row is not None and row["method"] in hierarchy.methods():
        return pd.DataFrame([row | {"chosen": True}])
    reason = (
        "no backtest has chosen a method yet" if row is None else f"{row['method']} does not apply tonight"
    )
    default = {"method": rec.DEFAULT_METHOD, "metric": metric, "chosen": True, "chosen_on": business_date}
    return pd.DataFrame([default | {"reason": f"{reason}: the default, bottom-up"}])


def apply_overrides(
    settings: Settings,
    frames: dict[str, pd.DataFrame],
    business_date: dt.date,
    run_id: str,
    hierarchy: Hierarchy | None = None,
) -> pd.DataFrame:
    """Apply the overrides active as of the night (`daybreak.nights.overrides`) to its forecasts in `frames`, in place.

    `predictions.forecasts` then holds the statistical and the final value side by side (`yhat_statistical`,
    `yhat`). Overrides come after reconciliation, and keep the hierarchy coherent where they can: a parent that was
    not overridden itself is re-summed from its children's final values on the dates one of them was overridden
    (its bounds shifted with it); an overridden parent stands as the planner set it, so it need not equal its
    children. Returns the whole override log, for `overrides.ingest` to copy to `planning.overrides`.
    """
    from daybreak.models.reconciliation import aggregate_bottom_up
    from daybreak.nights import overrides

    applied = overrides.apply(frames[TABLE], overrides.current(settings, night=business_date))
    applied = aggregate_bottom_up(_with_ds(applied), hierarchy, applied["override_id"].notna().to_numpy())
    frames[TABLE] = applied.drop(columns="ds")
    return overrides.current(settings, run_id)


def _with_ds(forecasts: pd.DataFrame) -> pd.DataFrame:
    """`predictions.forecasts` rows with the models' period column `ds`: the hour for an hourly series
    (`target_time`), else `target_date`; the reconciliation and override code works on `series_id, ds`."""
    import pandas as pd

    period = pd.to_datetime(forecasts["target_time"]).fillna(pd.to_datetime(forecasts["target_date"]))
    return forecasts.assign(ds=period)


def _conformed(name: str, frame: pd.DataFrame | None, business_date: dt.date, run_id: str) -> pd.DataFrame:
    """`frame` stamped with the night and run, as the declared columns and types (declared empty when None)."""
    from daybreak.warehouse import tables

    declared = tables.table(name)
    if frame is None:
        return declared.empty()
    frame = frame.rename(columns={"ds": "target_date"}).assign(as_of_date=business_date, run_id=run_id)
    for column in declared.column_names:
        if column not in frame:
            frame[column] = None
    return declared.conform(frame)


def _version_used(task: SeriesTask, result: SeriesResult, version: str) -> str:
    """The registry version whose model made tonight's forecast (tonight's own when it was promoted)."""
    if result.selection["retrained"] and result.selection["scoring_role"] == "challenger":
        return version
    if task.champion is not None:
        return task.champion["version"]
    return version
