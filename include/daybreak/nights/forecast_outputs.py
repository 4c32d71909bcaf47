"""What a forecast night writes: its challengers in the registry, its rows of every prediction table, reconciled
so that every parent series is the sum of its children, the planners' overrides applied.

`jobs/forecast.py` calls these in one transaction after `daybreak.models.forecasting.pool.run_all`; the night's
inputs are assembled in `daybreak.nights.forecast`.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse

import pandas as pd

from daybreak.core.files import write_json
from daybreak.core.settings import Settings
from daybreak.datasets import DatasetConfig
from daybreak.models import hierarchy as hier
from daybreak.models import reconciliation as rec
from daybreak.models.forecasting.bands import BAND_COLUMNS
from daybreak.models.forecasting.context import SeriesContext
from daybreak.models.forecasting.tasks import SeriesResult, SeriesTask
from daybreak.models.hierarchy import Hierarchy
from daybreak.nights import overrides, references
from daybreak.nights.forecast import (
    BACKTEST_TABLE,
    COMPONENTS_TABLE,
    MODEL_KIND,
    RECONCILIATION_TABLE,
    SELECTION_TABLE,
    TABLE,
)
from daybreak.warehouse import registry
from daybreak.warehouse import tables as declarations

PREVIOUS_CHOICE_SQL = """
select method, metric, score, folds, series, chosen_on, reason
from predictions.forecast_reconciliation
where as_of_date < ? and chosen
order by as_of_date desc
limit 1
"""
Decisions = list[tuple[SeriesTask, SeriesResult]]
"""Each series' task and its result, in the tasks' order."""


def record(
    connection,
    settings: Settings,
    decisions: Decisions,
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
                "spec": challenger.spec.to_dict(),
                "state": challenger.state,
                "fit": challenger.fit,
                "champion_fit": challenger.champion_fit,
                "metrics": challenger.metrics,
            },
        )
        registry.register(
            connection,
            model_kind=MODEL_KIND,
            model_id=task.series_id,
            version=version,
            trained_for_date=business_date,
            data_start=challenger.data_start,
            data_end=challenger.data_end,
            model_name=challenger.spec.name,
            params=dict(challenger.spec.params),
            metrics=challenger.metrics,
            artifact_path=str(artifact),
            run_id=run_id,
            reason=reason if task.champion is not None else "no champion yet",
        )
        if registry.decided(connection, MODEL_KIND, task.series_id, version):
            continue
        decision, why = result.selection.decision, result.selection.decision_reason
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
    decisions: Decisions, business_date: dt.date, version: str, target: str, run_id: str, *, frequency: str
) -> dict[str, pd.DataFrame]:
    """The night's rows of every prediction table, as `daybreak.warehouse.tables` declares them (forecasts stamped with the
    dataset's `frequency`, the grain of their `target_date`)."""
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
        selections.append({"series_id": task.series_id, **result.selection.row(), "model_version": used})
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
    decisions: Decisions,
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
    frame = _with_ds(frames[TABLE])
    for column in BAND_COLUMNS:
        frame[column] = frame[column].astype("float64")
    frame["yhat_base"] = frame["yhat"]
    hierarchy = hier.build_hierarchy(
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
            default = choices["method"] == hier.DEFAULT_METHOD
            if not default.any():
                fallback = {"method": hier.DEFAULT_METHOD, "metric": metric, "chosen_on": business_date}
                choices = pd.concat([choices, pd.DataFrame([fallback])], ignore_index=True)
                default = choices["method"] == hier.DEFAULT_METHOD
            choices.loc[default, ["chosen", "reason"]] = [True, reason]
            frame = rec.reconcile(frame, hierarchy, hier.DEFAULT_METHOD, non_negative=context.non_negative)
    frames[TABLE] = declarations.table(TABLE).conform(frame)
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
    row = None
    if declarations.exists(connection, RECONCILIATION_TABLE):
        found = connection.execute(PREVIOUS_CHOICE_SQL, [business_date]).df()
        row = found.iloc[0].to_dict() if len(found) else None
    if row is not None and row["method"] in hierarchy.methods():
        return pd.DataFrame([row | {"chosen": True}])
    reason = (
        "no backtest has chosen a method yet" if row is None else f"{row['method']} does not apply tonight"
    )
    default = {"method": hier.DEFAULT_METHOD, "metric": metric, "chosen": True, "chosen_on": business_date}
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
    applied = overrides.apply(frames[TABLE], overrides.current(settings, night=business_date))
    applied = rec.aggregate_bottom_up(_with_ds(applied), hierarchy, applied["override_id"].notna().to_numpy())
    frames[TABLE] = applied.drop(columns="ds")
    return overrides.current(settings, run_id)


def _with_ds(forecasts: pd.DataFrame) -> pd.DataFrame:
    """`predictions.forecasts` rows with the models' period column `ds`: the hour for an hourly series
    (`target_time`), else `target_date`; the reconciliation and override code works on `series_id, ds`."""
    period = pd.to_datetime(forecasts["target_time"]).fillna(pd.to_datetime(forecasts["target_date"]))
    return forecasts.assign(ds=period)


def _conformed(name: str, frame: pd.DataFrame | None, business_date: dt.date, run_id: str) -> pd.DataFrame:
    """`frame` stamped with the night and run, as the declared columns and types (declared empty when None)."""
    declared = declarations.table(name)
    if frame is None:
        return declared.empty()
    frame = frame.rename(columns={"ds": "target_date"}).assign(as_of_date=business_date, run_id=run_id)
    for column in declared.column_names:
        if column not in frame:
            frame[column] = None
    return declared.conform(frame)


def _version_used(task: SeriesTask, result: SeriesResult, version: str) -> str:
    """The registry version whose model made tonight's forecast (tonight's own when it was promoted)."""
    if result.selection.retrained and result.selection.scoring_role == "challenger":
        return version
    if task.champion is not None:
        return task.champion.version
    return version
