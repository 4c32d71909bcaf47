"""Publish the night's warehouse to the serving copy that dashboards and analysts open read-only."""

from __future__ import annotations

import datetime as dt

from daybreak.settings import Settings, get_settings
from daybreak.warehouse import publish


def run(business_date: dt.date, run_id: str, settings: Settings | None = None) -> dict:
    settings = settings or get_settings()
    path = publish(settings.warehouse_path, settings.serving_path)
    return {"business_date": business_date.isoformat(), "serving_path": str(path), "run_id": run_id}
