"""Monitoring the models' inputs: night D's data against what each champion was trained on (its reference).

Customers: D's customer features against the sample stored when the segmentation champion was promoted. Series:
each series' last `monitoring.current_days` values against its forecast champion's sample, one column per series,
plus (daily datasets) D's actual against the forecast published for D, which flags a shift on its first night.
These are the rows the retraining policy acts on.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from daybreak.models.drift import feature_drift, forecast_surprise
from daybreak.nights import forecast, references, segment
from daybreak.nights.monitoring import findings
from daybreak.warehouse import registry, tables
from daybreak.warehouse.schemas.predictions import FORECASTS

SURPRISE_SUFFIX = ":surprise"
"""A series' feature name (`<series>:<target>`) plus this names its row of the day's surprise check."""


def segmentation_inputs(
    connection, config, business_date, as_of, timestamp, night: findings.Night
) -> pd.DataFrame:
    """The customer features of D against the segmentation champion's reference."""
    champion = registry.champion(connection, segment.MODEL_KIND, segment.MODEL_ID, as_of=as_of)
    if champion is None:
        return pd.DataFrame()
    rows, sample = references.load(connection, segment.MODEL_KIND, {segment.MODEL_ID: champion["version"]})
    if rows.empty:
        return pd.DataFrame()
    features = list(config.segmentation.features)
    current = references.sample(
        segment.read_features(connection, config.segmentation, business_date),
        config.monitoring.reference_rows,
        "customer_id",
    )
    ref = rows.iloc[0]
    meta = findings.meta(
        segment.MODEL_KIND, champion["version"], ref["reference_start"], ref["reference_end"]
    )
    found, report = feature_drift(
        sample[features].astype(float),
        current[features].astype(float),
        numeric_threshold=config.monitoring.numeric_threshold,
        categorical_threshold=config.monitoring.categorical_threshold,
        timestamp=timestamp,
        metadata=meta,
    )
    if report is not None:
        night.reports["segmentation_inputs"] = (report, meta)
    stamped = findings.stamp(
        found, segment.MODEL_KIND, "inputs", champion["version"], ref["reference_start"], ref["reference_end"]
    )
    night.drift.append(stamped)
    return stamped


def forecast_inputs(
    connection, config, business_date, as_of, timestamp, night: findings.Night
) -> pd.DataFrame:
    """Each series' last values against its forecast champion's reference, one column per series."""
    champions = registry.champions(connection, forecast.MODEL_KIND, as_of=as_of)
    rows, sample = references.load(
        connection, forecast.MODEL_KIND, {k: v["version"] for k, v in champions.items()}
    )
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
    versions = findings.versions(rows["version"])
    meta = findings.meta(forecast.MODEL_KIND, versions, *window)
    found, report = feature_drift(
        reference_wide,
        current_wide,
        numeric_threshold=config.monitoring.series_threshold,
        categorical_threshold=config.monitoring.categorical_threshold,
        timestamp=timestamp,
        metadata=meta,
    )
    if report is not None:
        night.reports["forecast_inputs"] = (report, meta)
    surprise = _surprise(connection, config, business_date, set(rows["model_id"]))
    found = pd.concat([found, surprise], ignore_index=True) if len(surprise) else found
    feature_series = {
        f"{m}:{target}{suffix}": m for m in rows["model_id"] for suffix in ("", SURPRISE_SUFFIX)
    }
    series = found["feature"].map(feature_series)
    per_series = rows.set_index("model_id")
    stamped = found.assign(
        model_kind=forecast.MODEL_KIND,
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
    if frame.empty:
        return pd.DataFrame()
    numbered = frame.assign(row=frame.groupby("model_id").cumcount())
    wide = numbered.pivot(index="row", columns="model_id", values="y").astype(float)
    wide.columns = [f"{c}:{target}" for c in wide.columns]
    return wide.reset_index(drop=True)
