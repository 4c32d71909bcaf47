"""The night's monitoring: do the models' inputs and outputs still look like what they learned from?

Runs after dbt and before the models, against the champions going into the night (as of D - 1), and reads:

* **inputs**: the customer features of D (`marts.features_customer_asof`) against the segmentation champion's
  reference, and each series' last `monitoring.current_days` values (`marts.features_series_daily`) against its
  forecast champion's reference (`daybreak.nights.references`, stored when each was promoted);
* **predictions**: the segment mix and the forecasts' level and width of the latest night before D against those
  of the night the champions were promoted;
* **data quality** of D's sales lines: missing values, values outside the reference window's range, and locations
  or products never seen before;
* **forecast health** (`marts.fct_forecast_health`, dbt): the rolling error against the backtest error.

`nightly` returns the night's rows of `monitoring.drift_metrics`, `monitoring.data_quality`, `monitoring.reports`
and `monitoring.retrain_decisions` (every row naming the model version and reference window it compared with), the
Evidently snapshots to write as HTML, and the alerts to send; `jobs.drift` writes them. The drift tests are pure
(`daybreak.models.drift`), the policy too (`daybreak.nights.retraining.policy`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from daybreak.nights import references, retraining
from daybreak.warehouse import registry, tables
from daybreak.warehouse.schemas.predictions import CUSTOMER_SEGMENTS, FORECASTS

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from daybreak.datasets import DatasetConfig

DECISIONS = retraining.TABLE
QUALITY_COLUMNS = ("quantity", "unit_price", "revenue", "location", "product_id", "customer_id")
RANGE_COLUMNS = ("quantity", "unit_price", "revenue")
CATEGORY_COLUMNS = ("location", "product_id")
QUALITY_SAMPLE = 20_000
SURPRISE_SUFFIX = ":surprise"
"""A series' feature name (`<series>:<target>`) plus this names its row of the day's surprise check."""
PREDICTION_THRESHOLD = 0.1
"""Jensen-Shannon distance from which the segment mix counts as moved (five times it, in standard deviations, for
the forecasts' level and width): predictions are reported, the retraining policy acts on the inputs."""
QUALITY_SQL = """
select quantity, unit_price, revenue, location, product_id, customer_id
from marts.fct_sales_lines
where business_date between ? and ?
order by md5(concat('daybreak-dq', line_id)), line_id
limit ?
"""


@dataclass
class Night:
    """What one night of monitoring found: rows per table, the reports to write, the alerts to send."""

    drift: list[pd.DataFrame] = field(default_factory=list)
    quality: pd.DataFrame | None = None
    reports: dict[str, tuple[Any, dict]] = field(default_factory=dict)
    decisions: list[dict] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)


def nightly(connection: duckdb.DuckDBPyConnection, config: DatasetConfig, business_date: dt.date) -> Night:
    """Monitor night D (read-only): drift of inputs and predictions, data quality, health, the retrain decisions."""
    night = Night()
    timestamp = dt.datetime.combine(business_date, dt.time())
    as_of = business_date - dt.timedelta(days=1)
    inputs: dict[str, pd.DataFrame] = {}
    if config.segmentation.enabled:
        inputs["segmentation"] = _segmentation(connection, config, business_date, as_of, timestamp, night)
    inputs["forecast"] = _forecast(connection, config, business_date, as_of, timestamp, night)
    _predictions(connection, business_date, as_of, timestamp, night)
    _quality(connection, config, business_date, timestamp, night)
    health = _health(connection, business_date)
    for kind, rows in inputs.items():
        scheduled = (
            config.forecasting.is_retrain_day(business_date)
            if kind == "forecast"
            else config.segmentation.is_retrain_day(business_date)
        )
        compared = rows[rows["scope"] == "inputs"] if len(rows) else rows
        drifted = list(compared.loc[compared["drifted"], "feature"]) if len(compared) else []
        ratio = None
        if kind == "forecast" and health is not None and health["scored"] >= config.retraining.min_scored:
            ratio = health["error_ratio"]
        decision = retraining.policy(
            kind,
            config.retraining,
            share_drifted=len(drifted) / len(compared) if len(compared) else None,
            drifted=drifted,
            error_ratio=ratio,
            scheduled=scheduled,
        )
        decision.update(
            model_kind=kind,
            share_drifted=len(drifted) / len(compared) if len(compared) else None,
            error_ratio=ratio,
        )
        # one message per event: on the night it starts; the nights it goes on retrain without a new alert
        since = _since(connection, kind, business_date)
        decision["alerted"] = decision["trigger"] in ("drift", "degradation") and since == business_date
        if decision["alerted"]:
            night.alerts.append(alert_text(config.name, business_date, decision, compared, since))
        night.decisions.append(decision)
    return night


def report_html(snapshot, meta: dict[str, str]) -> str:
    """The snapshot's HTML with a heading naming the model kind, version and reference window it compared with
    (Evidently keeps metadata in the snapshot but does not show it)."""
    import html

    heading = " | ".join(f"{key.replace('_', ' ')}: {html.escape(str(value))}" for key, value in meta.items())
    page = snapshot.get_html_str(as_iframe=False)
    banner = (
        f'<div style="font-family:sans-serif;padding:8px 16px"><b>Daybreak monitoring</b> | {heading}</div>'
    )
    return page.replace("<body>", "<body>" + banner, 1)


def alert_text(
    dataset: str, business_date: dt.date, decision: dict, compared: pd.DataFrame, since: dt.date
) -> str:
    """One clear message: what drifted or degraded, how much, since when, and what was done."""
    worst = compared[compared["drifted"]].sort_values("statistic", ascending=False).head(5)
    detail = "; ".join(
        f"{row.feature} {row.test} {row.statistic:.2f} >= {row.threshold:g} (champion {row.model_version}, "
        f"reference {row.reference_start}..{row.reference_end})"
        for row in worst.itertuples(index=False)
    )
    return (
        f"Daybreak {dataset} {business_date}: {decision['model_kind']} {decision['trigger']} since {since}. "
        f"{decision['reason']}."
        + (f" Worst: {detail}." if detail else "")
        + f" Action: retraining the {decision['model_kind']} models tonight; the promotion gate decides what serves."
    )


def _since(connection: duckdb.DuckDBPyConnection, kind: str, business_date: dt.date) -> dt.date:
    """The first night of the run of consecutive nights, ending tonight, on which the kind drifted or degraded."""
    if not tables.exists(connection, DECISIONS.qualified):
        return business_date
    flagged = {
        row[0]
        for row in connection.execute(
            f"select as_of_date from {DECISIONS.qualified} where model_kind = ? and as_of_date < ? "  # noqa: S608
            "and trigger in ('drift', 'degradation')",
            [kind, business_date],
        ).fetchall()
    }
    since = business_date
    while since - dt.timedelta(days=1) in flagged:
        since -= dt.timedelta(days=1)
    return since


def _stamp(frame: pd.DataFrame, kind: str, scope: str, version: str, start, end) -> pd.DataFrame:
    return frame.assign(
        model_kind=kind, scope=scope, model_version=version, reference_start=start, reference_end=end
    )


def _segmentation(connection, config, business_date, as_of, timestamp, night: Night) -> pd.DataFrame:
    """The customer features of D against the segmentation champion's reference."""
    import pandas as pd

    from daybreak.models.drift import feature_drift
    from daybreak.nights.segment import MODEL_ID, MODEL_KIND, read_features

    champion = registry.champion(connection, MODEL_KIND, MODEL_ID, as_of=as_of)
    if champion is None:
        return pd.DataFrame()
    rows, sample = references.load(connection, MODEL_KIND, {MODEL_ID: champion["version"]})
    if rows.empty:
        return pd.DataFrame()
    features = list(config.segmentation.features)
    current = references.sample(
        read_features(connection, config.segmentation, business_date),
        config.monitoring.reference_rows,
        "customer_id",
    )
    ref = rows.iloc[0]
    meta = _meta(MODEL_KIND, champion["version"], ref["reference_start"], ref["reference_end"])
    found, snapshot = feature_drift(
        sample[features].astype(float),
        current[features].astype(float),
        numeric_threshold=config.monitoring.numeric_threshold,
        categorical_threshold=config.monitoring.categorical_threshold,
        timestamp=timestamp,
        metadata=meta,
    )
    if snapshot is not None:
        night.reports["segmentation_inputs"] = (snapshot, meta)
    stamped = _stamp(
        found, MODEL_KIND, "inputs", champion["version"], ref["reference_start"], ref["reference_end"]
    )
    night.drift.append(stamped)
    return stamped


def _forecast(connection, config, business_date, as_of, timestamp, night: Night) -> pd.DataFrame:
    """Each series' last values against its forecast champion's reference, one column per series."""
    import pandas as pd

    from daybreak.models.drift import feature_drift
    from daybreak.nights.forecast import MODEL_KIND

    champions = registry.champions(connection, MODEL_KIND, as_of=as_of)
    rows, sample = references.load(connection, MODEL_KIND, {k: v["version"] for k, v in champions.items()})
    if rows.empty:
        return pd.DataFrame()
    target = config.series.target
    start = business_date - dt.timedelta(days=config.monitoring.current_days - 1)
    current = connection.execute(
        f"select series_id as model_id, {'revenue' if target == 'revenue' else 'units'} as y "  # noqa: S608
        "from marts.features_series_daily where sales_date between ? and ? order by series_id, sales_date",
        [start, business_date],
    ).df()
    current = current[current["model_id"].isin(set(rows["model_id"]))]
    reference_wide, current_wide = _wide(sample, target), _wide(current, target)
    current_wide = current_wide.reindex(columns=reference_wide.columns)
    window = (rows["reference_start"].min(), rows["reference_end"].max())
    versions = _versions(rows["version"])
    meta = _meta(MODEL_KIND, versions, *window)
    found, snapshot = feature_drift(
        reference_wide,
        current_wide,
        numeric_threshold=config.monitoring.series_threshold,
        categorical_threshold=config.monitoring.categorical_threshold,
        timestamp=timestamp,
        metadata=meta,
    )
    if snapshot is not None:
        night.reports["forecast_inputs"] = (snapshot, meta)
    surprise = _surprise(connection, config, business_date, set(rows["model_id"]))
    found = pd.concat([found, surprise], ignore_index=True) if len(surprise) else found
    feature_series = {
        f"{m}:{target}{suffix}": m for m in rows["model_id"] for suffix in ("", SURPRISE_SUFFIX)
    }
    series = found["feature"].map(feature_series)
    per_series = rows.set_index("model_id")
    stamped = found.assign(
        model_kind=MODEL_KIND,
        scope="inputs",
        model_version=series.map(per_series["version"]),
        reference_start=series.map(per_series["reference_start"]),
        reference_end=series.map(per_series["reference_end"]),
    )
    night.drift.append(stamped)
    return stamped


def _surprise(connection, config, business_date: dt.date, series: set[str]) -> pd.DataFrame:
    """Each series' actual of D against the forecast published for D the night before (`forecast_surprise`):
    a shift is flagged on its first night, while the windowed test needs days. Daily datasets only: a weekly or
    monthly forecast is for a whole period, not the day D."""
    import pandas as pd

    from daybreak.models.drift import forecast_surprise

    forecasts = FORECASTS.qualified
    if config.series.frequency != "daily" or not tables.exists(connection, forecasts):
        return pd.DataFrame()
    target = "revenue" if config.series.target == "revenue" else "units"
    day = connection.execute(
        f"select f.series_id, f.yhat_statistical as yhat, "  # noqa: S608 - declared names
        f"f.yhat_upper_95 + f.yhat_statistical - f.yhat as yhat_upper_95, a.{target} as y "
        f"from {forecasts} f join marts.features_series_daily a "
        "on a.series_id = f.series_id and a.sales_date = f.target_date "
        "where f.as_of_date = ? and f.target_date = ? order by f.series_id",
        [business_date - dt.timedelta(days=1), business_date],
    ).df()
    day = day[day["series_id"].isin(series)]
    return forecast_surprise(
        day.assign(feature=day["series_id"] + f":{config.series.target}{SURPRISE_SUFFIX}"),
        threshold=config.monitoring.surprise_threshold,
    )


def _wide(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    """Long `model_id, y` rows as one float column per series (`<series>:<target>`), padded with nulls."""
    import pandas as pd

    if frame.empty:
        return pd.DataFrame()
    numbered = frame.assign(row=frame.groupby("model_id").cumcount())
    wide = numbered.pivot(index="row", columns="model_id", values="y").astype(float)
    wide.columns = [f"{c}:{target}" for c in wide.columns]
    return wide.reset_index(drop=True)


def _versions(versions: pd.Series) -> str:
    """The champion versions compared, in one field: the version, or `first..last (n versions)`."""
    distinct = sorted(set(versions))
    return distinct[0] if len(distinct) == 1 else f"{distinct[0]}..{distinct[-1]} ({len(distinct)} versions)"


def _meta(kind: str, version: str, start, end) -> dict[str, str]:
    return {
        "model_kind": kind,
        "model_version": str(version),
        "reference_window": f"{start}..{end}",
    }


def _predictions(connection, business_date, as_of, timestamp, night: Night) -> None:
    """The latest night's segment mix and forecast level and width against those of the champions' nights."""
    import pandas as pd

    from daybreak.models.drift import feature_drift

    parts = []
    segments = CUSTOMER_SEGMENTS.qualified
    champion = registry.champion(connection, "segmentation", "customers", as_of=as_of)
    if champion is not None and tables.exists(connection, segments):
        version = champion["version"]
        reference_date = dt.date.fromisoformat(version)
        query = f"select segment_name from {segments} where as_of_date = ? order by customer_id"  # noqa: S608
        reference = connection.execute(query, [reference_date]).df()
        current = connection.execute(query, [as_of]).df()
        meta = _meta("segmentation", version, reference_date, reference_date)
        found, snapshot = feature_drift(
            reference,
            current,
            numeric_threshold=1.0,
            categorical_threshold=PREDICTION_THRESHOLD,
            timestamp=timestamp,
            metadata=meta,
        )
        if snapshot is not None:
            night.reports["segmentation_predictions"] = (snapshot, meta)
        if len(found):
            parts.append(
                _stamp(
                    found.replace({"feature": {"segment_name": "segment_mix"}}),
                    "segmentation",
                    "predictions",
                    version,
                    reference_date,
                    reference_date,
                )
            )
    forecast_rows = _forecast_predictions(connection, as_of, timestamp, night)
    if forecast_rows is not None:
        parts.append(forecast_rows)
    if parts:
        night.drift.append(pd.concat(parts, ignore_index=True))


def _forecast_predictions(connection, as_of: dt.date, timestamp, night: Night) -> pd.DataFrame | None:
    """The latest night's forecasts, level and interval width relative to each series' level on its champion's
    promotion night, against that night's; None when either night has no forecast by the champion."""
    import pandas as pd

    from daybreak.models.drift import feature_drift

    forecasts = FORECASTS.qualified
    champions = registry.champions(connection, "forecast", as_of=as_of)
    if not champions or not tables.exists(connection, forecasts):
        return None
    frame = connection.execute(
        f"select as_of_date, series_id, model_version, yhat, yhat_lower_80, yhat_upper_80 "  # noqa: S608
        f"from {forecasts} where as_of_date = ? or as_of_date in "
        f"(select distinct try_cast(model_version as date) from {forecasts} where as_of_date = ?)",
        [as_of, as_of],
    ).df()
    frame["as_of_date"] = pd.to_datetime(frame["as_of_date"]).dt.date
    versions = {k: v["version"] for k, v in champions.items()}
    frame = frame[frame["series_id"].map(versions) == frame["model_version"]]
    promoted = frame["as_of_date"].astype(str) == frame["model_version"]
    reference, current = frame[promoted], frame[frame["as_of_date"] == as_of]
    if reference.empty or current.empty:
        return None
    level = reference.groupby("series_id")["yhat"].mean().replace(0, float("nan"))

    def relative(rows: pd.DataFrame) -> pd.DataFrame:
        scale = rows["series_id"].map(level)
        return pd.DataFrame(
            {
                "forecast_level": rows["yhat"] / scale,
                "forecast_width": (rows["yhat_upper_80"] - rows["yhat_lower_80"]) / scale,
            }
        )

    used = _versions(reference["model_version"])
    window = (reference["as_of_date"].min(), reference["as_of_date"].max())
    meta = _meta("forecast", used, *window)
    found, snapshot = feature_drift(
        relative(reference),
        relative(current),
        numeric_threshold=PREDICTION_THRESHOLD * 5,
        categorical_threshold=PREDICTION_THRESHOLD,
        timestamp=timestamp,
        metadata=meta,
    )
    if snapshot is not None:
        night.reports["forecast_predictions"] = (snapshot, meta)
    return _stamp(found, "forecast", "predictions", used, *window) if len(found) else None


def _quality(connection, config, business_date, timestamp, night: Night) -> None:
    """D's sales lines: missing values, ranges and new categories against the days before."""
    from daybreak.models.drift import data_quality, data_summary_report

    start = business_date - dt.timedelta(days=config.drift.reference_days)
    end = business_date - dt.timedelta(days=1)
    day = connection.execute(QUALITY_SQL, [business_date, business_date, QUALITY_SAMPLE]).df()
    reference = connection.execute(QUALITY_SQL, [start, end, QUALITY_SAMPLE]).df()
    known = {
        column: {
            row[0]
            for row in connection.execute(
                f"select distinct {column} from marts.fct_sales_lines where business_date < ?",  # noqa: S608
                [business_date],
            ).fetchall()
        }
        for column in CATEGORY_COLUMNS
    }
    found = data_quality(
        day,
        reference,
        known,
        range_columns=RANGE_COLUMNS,
        max_missing_share=config.monitoring.max_missing_share,
        max_out_of_range_share=config.monitoring.max_out_of_range_share,
    )
    night.quality = found.assign(reference_start=start, reference_end=end)
    meta = {"model_version": "none (the day's data)", "reference_window": f"{start}..{end}"}
    snapshot = data_summary_report(
        day.astype({"customer_id": "object"}),
        reference.astype({"customer_id": "object"}),
        timestamp=timestamp,
        metadata=meta,
    )
    if snapshot is not None:
        night.reports["data_quality"] = (snapshot, meta)


def _health(connection, business_date: dt.date) -> dict | None:
    """The overall row of `marts.fct_forecast_health` for D, or None when there is none yet."""
    if not tables.exists(connection, "marts.fct_forecast_health"):
        return None
    frame = connection.execute(
        "select scored, error_ratio from marts.fct_forecast_health where series_id = 'overall' "
        "and as_of_date = ? and error_ratio is not null",
        [business_date],
    ).df()
    return None if frame.empty else frame.iloc[0].to_dict()
