"""Forecast every series of the dataset as of one business date: retrain on schedule, else refit the champion.

Reads `marts.fct_daily_sales` up to and including the business date D and the model registry as it stood going
into the night (champions as of D - 1). On a retrain night (the config's schedule, `--retrain`, or a series with
no champion yet) every candidate is backtested and the winner is registered as version D and promoted only if it
beats the champion on the same backtest by the configured margin; on other nights each series' champion is refit
on the new data and scores.

Writes, in one transaction, D's rows of `predictions.forecasts`, `predictions.forecast_components`,
`predictions.backtest_metrics`, `predictions.forecast_selection` and `predictions.forecast_accuracy` (the
forecasts made on earlier nights for the period that completed on D, scored against its actual beside the
seasonal naive), and keeps the `predictions.forecasts_latest` view. Earlier nights' rows are never touched.

Rerunning D reproduces D's rows exactly: the champion going in is read as of D - 1, and a promotion decision
already recorded for version D is reused rather than made again (so no duplicate audit rows either).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING

from daybreak.datasets import load_dataset_config
from daybreak.settings import Settings, get_settings
from daybreak.warehouse import connect, read_frame, replace_partitions

if TYPE_CHECKING:
    import pandas as pd

    from daybreak.models.forecasting import SeriesResult

log = logging.getLogger(__name__)

MODEL_KIND = "forecast"
TABLE = "predictions.forecasts"
COMPONENTS_TABLE = "predictions.forecast_components"
BACKTEST_TABLE = "predictions.backtest_metrics"
SELECTION_TABLE = "predictions.forecast_selection"
ACCURACY_TABLE = "predictions.forecast_accuracy"
LATEST_VIEW = "predictions.forecasts_latest"
HISTORY_SQL = """
select series_id, sales_date, units, revenue
from marts.fct_daily_sales
where sales_date <= ?
order by series_id, sales_date
"""
PAST_FORECASTS_SQL = """
select as_of_date, series_id, target_date, horizon_step, yhat, yhat_lower_80, yhat_upper_80, yhat_lower_95,
    yhat_upper_95, model, model_version
from predictions.forecasts
where target_date = ? and as_of_date < ?
order by series_id, as_of_date
"""
LATEST_VIEW_SQL = f"""
create or replace view {LATEST_VIEW} as
select * from {TABLE}
qualify as_of_date = max(as_of_date) over (partition by series_id)
"""  # noqa: S608 - constant names


def run(
    business_date: dt.date,
    run_id: str,
    settings: Settings | None = None,
    *,
    retrain: bool = False,
    max_workers: int | None = None,
) -> dict:
    """Forecast all series as of `business_date`; retrain when the schedule says so or `retrain` is set.

    Args:
        retrain: retrain every series tonight whatever the schedule (on demand; `retrain_now` is the entry point
            drift monitoring calls).
        max_workers: worker processes (default: every core).

    Returns:
        a summary: rows written, series, how many were retrained, promoted, kept, fell back, by model.
    """
    import dataclasses

    import numpy as np

    from daybreak.models import DEFAULT_SEED
    from daybreak.models.candidates import SeriesContext
    from daybreak.models.forecasting import SeriesTask, grid_frequency, pandas_frequency, run_all, to_periods

    settings = settings or get_settings()
    config = load_dataset_config(settings.dataset)
    spec, forecasting = config.series, config.forecasting
    version = business_date.isoformat()
    scheduled = forecasting.is_retrain_day(business_date)

    daily = read_frame(settings.warehouse_path, HISTORY_SQL, [business_date])
    history = daily.rename(columns={"sales_date": "ds", spec.target: "y"}).loc[:, ["series_id", "ds", "y"]]
    periods, origin = to_periods(history, frequency=spec.frequency, as_of=business_date)
    state = _registry_state(settings, business_date, version)

    context = SeriesContext(
        freq=grid_frequency(pandas_frequency(spec.frequency), origin),
        holidays_country=spec.holidays_country,
        seed=DEFAULT_SEED,
        closed_weekdays=config.calendar.closed_weekdays,
        closed_dates=tuple(d.isoformat() for d in config.calendar.closed_dates),
    )
    options = forecasting.options(spec.horizon)
    tasks = []
    for series_id, group in periods.groupby("series_id", sort=True):
        champion = state["champions"].get(series_id)
        recorded = state["recorded"].get(series_id)
        decision, reason = "decide", None
        if recorded is not None:
            decision, reason = recorded
        elif state["latest_decision"].get(series_id, dt.date.min) > business_date:
            decision = "reject"
            reason = (
                f"backfill: decisions dated after {business_date} exist "
                f"(latest {state['latest_decision'][series_id]}), so the champion history is not rewritten"
            )
        tasks.append(
            SeriesTask(
                series_id=str(series_id),
                ds=group["ds"].to_numpy(),
                y=group["y"].to_numpy(dtype=float),
                origin=origin,
                context=context,
                options=options,
                retrain=retrain or scheduled or champion is None or series_id in state["trained_tonight"],
                champion=champion,
                decision=decision,
                decision_reason=reason,
            )
        )
    results = run_all(tasks, max_workers=max_workers)
    decisions = [(task, result) for task, result in zip(tasks, results, strict=True)]

    with connect(settings.warehouse_path) as connection:
        _record(connection, settings, decisions, business_date, version, run_id)
        frames = _tables(decisions, business_date, version, spec.target, run_id)
        frames[ACCURACY_TABLE] = _accuracy(
            connection, periods, origin, business_date, spec.frequency, context, run_id
        )
        written = replace_partitions(
            connection,
            [
                (table, frame, "scored_on" if table == ACCURACY_TABLE else "as_of_date", business_date)
                for table, frame in frames.items()
            ],
        )
        connection.execute(LATEST_VIEW_SQL)

    selection = frames[SELECTION_TABLE]
    manifest = {
        "as_of_date": business_date.isoformat(),
        "dataset": config.name,
        "target": spec.target,
        "frequency": spec.frequency,
        "horizon": spec.horizon,
        "origin": origin.date().isoformat(),
        "history_start": periods["ds"].min().date().isoformat() if len(periods) else None,
        "seed": DEFAULT_SEED,
        "scheduled_retrain": scheduled,
        "forced_retrain": retrain,
        "forecasting": json.loads(json.dumps(dataclasses.asdict(forecasting), default=str)),
        "models": dict(zip(selection["series_id"], selection["scoring_model"], strict=True)),
    }
    manifest_path = settings.models_dir / MODEL_KIND / business_date.isoformat() / "params.json"
    _write_json(manifest_path, manifest)

    summary = {
        "as_of_date": business_date.isoformat(),
        "rows_written": written[TABLE],
        "series": len(results),
        "retrained": int(selection["retrained"].sum()),
        "promoted": int((selection["decision"] == "promote").sum()),
        "rejected": int((selection["decision"] == "reject").sum()),
        "fallbacks": int(selection["fallback_reason"].notna().sum()),
        "models": {k: int(v) for k, v in selection["scoring_model"].value_counts().sort_index().items()},
        "accuracy_rows": written[ACCURACY_TABLE],
        "target": spec.target,
        "horizon": spec.horizon,
        "params_path": str(manifest_path),
        "fit_seconds": round(float(np.sum([r.seconds for r in results])), 2),
    }
    log.info("forecast %s: %s", business_date, {k: v for k, v in summary.items() if k != "models"})
    return summary


def retrain_now(business_date: dt.date, run_id: str, settings: Settings | None = None) -> dict:
    """Retrain every series for `business_date` now, whatever the schedule: the on-demand entry point.

    Drift monitoring calls this when the data has moved; engineers reach it as `daybreak forecast --date D
    --retrain`. A rerun of the same date without the flag still retrains (the registry shows version D exists).
    """
    return run(business_date, run_id, settings, retrain=True)


def _registry_state(settings: Settings, business_date: dt.date, version: str) -> dict:
    """What the registry says going into the night: champions as of D - 1, tonight's recorded decisions."""
    from daybreak import registry

    state: dict = {"champions": {}, "recorded": {}, "latest_decision": {}, "trained_tonight": set()}
    if not settings.warehouse_path.exists():
        return state
    with connect(settings.warehouse_path, read_only=True) as connection:
        for model_id, row in registry.champions(
            connection, MODEL_KIND, as_of=business_date - dt.timedelta(days=1)
        ).items():
            state["champions"][model_id] = {
                "version": row["version"],
                "spec": {"name": row["model_name"], "params": row["params"]},
                "state": _read_state(row["artifact_path"]),
            }
        versions = registry.list_versions(connection, MODEL_KIND)
        state["trained_tonight"] = set(versions.loc[versions["version"] == version, "model_id"])
        events = registry.list_events(connection, MODEL_KIND)
        mine = events[(events["version"] == version) & events["action"].isin(["promote", "reject"])]
        for row in mine.itertuples(index=False):  # the first decision recorded for tonight's version stands
            state["recorded"].setdefault(row.model_id, (row.action, row.reason))
        others = events[
            (events["version"] != version) & events["action"].isin(["promote", "reject", "rollback"])
        ]
        if len(others):
            latest = others.groupby("model_id")["logical_date"].max()
            state["latest_decision"] = {k: v.date() for k, v in latest.items()}
    return state


def _read_state(artifact_path: str | None) -> dict | None:
    """Prophet's fitted parameters from a version's artifact (warm start); None when there are none."""
    if not artifact_path:
        return None
    try:
        return json.loads(Path(artifact_path).read_text()).get("state")
    except (OSError, ValueError):
        return None


def _record(
    connection, settings: Settings, decisions, business_date: dt.date, version: str, run_id: str
) -> None:
    """Register tonight's challengers (artifact first) and record the promotion decisions not yet recorded."""
    from daybreak import registry

    for task, result in decisions:
        if result.challenger is None:
            continue
        challenger = result.challenger
        artifact = (
            settings.models_dir / MODEL_KIND / version / f"{urllib.parse.quote(task.series_id, safe='')}.json"
        )
        _write_json(
            artifact,
            {
                "series_id": task.series_id,
                "version": version,
                "spec": challenger["spec"],
                "state": challenger["state"],
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
        )
        if registry.decided(connection, MODEL_KIND, task.series_id, version):
            continue
        decision, reason = result.selection["decision"], result.selection["decision_reason"]
        record = registry.promote if decision == "promote" else registry.reject
        record(
            connection,
            MODEL_KIND,
            task.series_id,
            version,
            reason=reason,
            actor="pipeline",
            logical_date=business_date,
            run_id=run_id,
        )


def _tables(
    decisions, business_date: dt.date, version: str, target: str, run_id: str
) -> dict[str, pd.DataFrame]:
    """The night's rows of every prediction table, typed as the contract says (docs/architecture.md)."""
    import pandas as pd

    forecasts, components, backtests, selections = [], [], [], []
    for task, result in decisions:
        used = _version_used(task, result, version)
        forecasts.append(result.forecast.assign(series_id=task.series_id, model_version=used))
        if len(result.components):
            components.append(
                result.components.assign(
                    series_id=task.series_id, model=result.forecast["model"].iloc[0], model_version=used
                )
            )
        if len(result.backtest):
            backtests.append(result.backtest.assign(series_id=task.series_id))
        selections.append({"series_id": task.series_id, **result.selection, "model_version": used})
    return {
        TABLE: _typed(_concat(forecasts).assign(target=target), business_date, run_id, FORECAST_TYPES),
        COMPONENTS_TABLE: _typed(_concat(components), business_date, run_id, COMPONENT_TYPES),
        BACKTEST_TABLE: _typed(_concat(backtests), business_date, run_id, BACKTEST_TYPES),
        SELECTION_TABLE: _typed(pd.DataFrame(selections), business_date, run_id, SELECTION_TYPES),
    }


def _version_used(task, result: SeriesResult, version: str) -> str:
    """The registry version whose model made tonight's forecast (tonight's own when it was promoted)."""
    if result.selection["retrained"] and result.selection["scoring_role"] in ("challenger",):
        return version
    if task.champion is not None:
        return task.champion["version"]
    return version


def _concat(frames: list) -> pd.DataFrame:
    import pandas as pd

    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


FORECAST_TYPES = {
    "series_id": "text",
    "target": "text",
    "target_date": "date",
    "horizon_step": "int",
    "yhat": "float",
    "yhat_lower_80": "float",
    "yhat_upper_80": "float",
    "yhat_lower_95": "float",
    "yhat_upper_95": "float",
    "model": "text",
    "model_version": "text",
}
COMPONENT_TYPES = {
    "series_id": "text",
    "target_date": "date",
    "component": "text",
    "value": "float",
    "mode": "text",
    "model": "text",
    "model_version": "text",
}
BACKTEST_TYPES = {
    "series_id": "text",
    "candidate": "text",
    "model": "text",
    "role": "text",
    "fold": "int",
    "cutoff": "date",
    "n_train": "int",
    "n_test": "int",
    "mase": "float",
    "smape": "float",
    "rmse": "float",
    "bias": "float",
    "coverage_80": "float",
    "coverage_95": "float",
    "selected": "bool",
}
SELECTION_TYPES = {
    "series_id": "text",
    "retrained": "bool",
    "n_history": "int",
    "metric": "text",
    "challenger": "text",
    "challenger_model": "text",
    "challenger_score": "float",
    "baseline_score": "float",
    "champion_version": "text",
    "champion_score": "float",
    "decision": "text",
    "decision_reason": "text",
    "scoring_model": "text",
    "scoring_role": "text",
    "model_version": "text",
    "fallback_reason": "text",
    "skipped": "text",
}
ACCURACY_TYPES = {
    "series_id": "text",
    "as_of_date": "date",
    "target_date": "date",
    "horizon_step": "int",
    "actual": "float",
    "yhat": "float",
    "error": "float",
    "abs_error": "float",
    "ape": "float",
    "within_80": "bool",
    "within_95": "bool",
    "naive_yhat": "float",
    "naive_abs_error": "float",
    "model": "text",
    "model_version": "text",
}


def _typed(frame: pd.DataFrame, business_date: dt.date, run_id: str, types: dict, key: str = "as_of_date"):
    """`frame` as the contract's columns and types: the key date first, `run_id` last, NaN stored as NULL.

    Built through Arrow with an explicit schema, so the table gets DATE, VARCHAR, INTEGER and BOOLEAN columns
    even when the first night written is empty.
    """
    import pandas as pd
    import pyarrow as pa

    arrow = {
        "text": pa.string(),
        "date": pa.date32(),
        "float": pa.float64(),
        "int": pa.int32(),
        "bool": pa.bool_(),
    }
    frame = frame.reset_index(drop=True).rename(columns={"ds": "target_date"})
    n = len(frame)
    arrays = {key: pa.array([business_date] * n, type=pa.date32())}
    for column, kind in types.items():
        values = frame[column] if column in frame else pd.Series([None] * n, dtype="object")
        if kind == "date":
            values = pd.to_datetime(values).dt.date
        arrays[column] = pa.array(values, type=arrow[kind], from_pandas=True)
    arrays["run_id"] = pa.array([run_id] * n, type=pa.string())
    return pa.table(arrays).to_pandas(types_mapper=pd.ArrowDtype)


def _accuracy(
    connection, periods: pd.DataFrame, origin, business_date: dt.date, frequency: str, context, run_id: str
):
    """Earlier nights' forecasts for the period that completed tonight, against its actual and the seasonal naive.

    The seasonal naive a forecast is compared with is the one it could have made itself: the actual one or more
    whole seasons before the target, never after the forecast's own as-of date.
    """
    import pandas as pd

    from daybreak.models.candidates import SEASON_LENGTHS, base_frequency
    from daybreak.models.forecasting import last_complete_period

    empty = _typed(pd.DataFrame(), business_date, run_id, ACCURACY_TYPES, key="scored_on")
    if last_complete_period(frequency, business_date - dt.timedelta(days=1)) == origin:
        return empty  # no period completed tonight (mid-week for weekly series): nothing new to score
    exists = connection.execute(
        "select count(*) from information_schema.tables where table_schema = 'predictions' and table_name = 'forecasts'"
    ).fetchone()[0]
    if not exists:
        return empty
    past = connection.execute(PAST_FORECASTS_SQL, [origin.date(), business_date]).df()
    if past.empty:
        return empty
    actuals = periods.assign(ds=pd.to_datetime(periods["ds"])).set_index(["series_id", "ds"])["y"]
    season = SEASON_LENGTHS[base_frequency(context.freq)][0]
    offset = pd.tseries.frequencies.to_offset(context.freq)
    target = pd.Timestamp(origin)
    rows = []
    for row in past.itertuples(index=False):
        actual = actuals.get((row.series_id, target))
        if actual is None or (isinstance(actual, float) and math.isnan(actual)):
            continue
        seasons_back = math.ceil(row.horizon_step / season)
        naive = actuals.get((row.series_id, target - offset * (season * seasons_back)))
        error = row.yhat - actual
        rows.append(
            {
                "series_id": row.series_id,
                "as_of_date": row.as_of_date,
                "target_date": target,
                "horizon_step": row.horizon_step,
                "actual": actual,
                "yhat": row.yhat,
                "error": error,
                "abs_error": abs(error),
                "ape": abs(error) / abs(actual) if actual else None,
                "within_80": bool(row.yhat_lower_80 <= actual <= row.yhat_upper_80),
                "within_95": bool(row.yhat_lower_95 <= actual <= row.yhat_upper_95),
                "naive_yhat": naive,
                "naive_abs_error": abs(naive - actual)
                if naive is not None and not math.isnan(naive)
                else None,
                "model": row.model,
                "model_version": row.model_version,
            }
        )
    frame = pd.DataFrame(rows)
    return _typed(frame, business_date, run_id, ACCURACY_TYPES, key="scored_on")


def _write_json(path: Path, payload: dict) -> None:
    """Write JSON beside the target and rename it over, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    staging.write_text(json.dumps(payload, indent=2, sort_keys=True, default=_json_default) + "\n")
    os.replace(staging, path)


def _json_default(value):
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(type(value).__name__)
