"""Monitoring the models' outputs: the latest night's predictions against those of the champions' own nights.

The segment mix scored on D - 1 against the mix of the night the segmentation champion was promoted; the forecasts'
level and interval width, relative to each series' level, against those of the forecast champions' nights. These
are reported; the retraining policy acts on the inputs (`daybreak.nights.monitoring.inputs`).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from daybreak.models.drift import feature_drift
from daybreak.nights import forecast, segment
from daybreak.nights.monitoring import findings
from daybreak.warehouse import registry, tables
from daybreak.warehouse.schemas.predictions import FORECASTS

PREDICTION_THRESHOLD = 0.1
"""Jensen-Shannon distance from which the segment mix counts as moved (five times it, in standard deviations, for
the forecasts' level and width): predictions are reported, the retraining policy acts on the inputs."""


def prediction_drift(connection, business_date, as_of, timestamp, night: findings.Night) -> None:
    """The latest night's segment mix and forecast level and width against those of the champions' nights."""
    parts = []
    segments = segment.SEGMENTS.qualified
    champion = registry.champion(connection, segment.MODEL_KIND, segment.MODEL_ID, as_of=as_of)
    if champion is not None and tables.exists(connection, segments):
        version = champion["version"]
        reference_date = dt.date.fromisoformat(version)
        query = f"select segment_name from {segments} where as_of_date = ? order by customer_id"  # noqa: S608
        reference = connection.execute(query, [reference_date]).df()
        current = connection.execute(query, [as_of]).df()
        meta = findings.meta(segment.MODEL_KIND, version, reference_date, reference_date)
        found, report = feature_drift(
            reference,
            current,
            numeric_threshold=1.0,
            categorical_threshold=PREDICTION_THRESHOLD,
            timestamp=timestamp,
            metadata=meta,
        )
        if report is not None:
            night.reports["segmentation_predictions"] = (report, meta)
        if len(found):
            parts.append(
                findings.stamp(
                    found.replace({"feature": {"segment_name": "segment_mix"}}),
                    segment.MODEL_KIND,
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


def _forecast_predictions(
    connection, as_of: dt.date, timestamp, night: findings.Night
) -> pd.DataFrame | None:
    """The latest night's forecasts, level and interval width relative to each series' level on its champion's
    promotion night, against that night's; None when either night has no forecast by the champion."""
    forecasts = FORECASTS.qualified
    champions = registry.champions(connection, forecast.MODEL_KIND, as_of=as_of)
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

    used = findings.versions(reference["model_version"])
    window = (reference["as_of_date"].min(), reference["as_of_date"].max())
    meta = findings.meta(forecast.MODEL_KIND, used, *window)
    found, report = feature_drift(
        relative(reference),
        relative(current),
        numeric_threshold=PREDICTION_THRESHOLD * 5,
        categorical_threshold=PREDICTION_THRESHOLD,
        timestamp=timestamp,
        metadata=meta,
    )
    if report is not None:
        night.reports["forecast_predictions"] = (report, meta)
    return findings.stamp(found, forecast.MODEL_KIND, "predictions", used, *window) if len(found) else None
