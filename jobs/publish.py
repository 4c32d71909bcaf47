"""Publish the night's warehouse to the serving copy that dashboards and analysts open read-only."""

from __future__ import annotations

import datetime as dt
import logging

from daybreak.core.settings import Settings, get_settings
from daybreak.nights import spark
from daybreak.warehouse.publish import publish

log = logging.getLogger(__name__)


def run(business_date: dt.date, run_id: str, settings: Settings | None = None) -> dict:
    settings = settings or get_settings()
    path = publish(
        settings.warehouse_path, settings.serving_path, file_view_schemas=spark.file_view_schemas(settings)
    )
    size_mb = round(path.stat().st_size / 1e6, 1)
    log.info("publish %s: %s (%.1f MB) is the serving copy now", business_date, path, size_mb)
    return {
        "business_date": business_date.isoformat(),
        "serving_path": str(path),
        "serving_mb": size_mb,
        "run_id": run_id,
    }
