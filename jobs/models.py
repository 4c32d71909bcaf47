"""`daybreak models list|promote|rollback`: read or change the model registry, with an audit row per change."""

from __future__ import annotations

import argparse
import datetime as dt
import json

from daybreak.core.roles import local_user
from daybreak.core.settings import Settings
from daybreak.warehouse import registry, tables
from daybreak.warehouse.connection import connect
from daybreak.warehouse.registry import RegistryError
from daybreak.warehouse.schemas.predictions import CUSTOMER_SEGMENTS, CUSTOMER_VALUE, FORECASTS

SCORED_TABLES = {
    "forecast": FORECASTS.qualified,
    "segmentation": CUSTOMER_SEGMENTS.qualified,
    "customer_value": CUSTOMER_VALUE.qualified,
}


def run_command(args: argparse.Namespace, settings: Settings) -> dict:
    """`daybreak models list|promote|rollback`; returns what to print."""
    if args.action == "list":
        return list_models(settings, args.kind, args.model_id, events=args.events)
    return change_champion(
        settings,
        args.action,
        args.kind,
        args.model_id,
        version=getattr(args, "version", None),
        reason=args.reason,
        logical_date=args.date,
    )


def list_models(settings: Settings, kind: str | None, model_id: str | None, *, events: bool) -> dict:
    """The registered versions (or, with `events`, the audit log) as JSON-ready records."""
    key = "events" if events else "versions"
    if not settings.warehouse_path.exists():
        return {key: []}
    with connect(settings.warehouse_path, read_only=True) as connection:
        frame = (registry.list_events if events else registry.list_versions)(connection, kind, model_id)
    return {key: json.loads(frame.to_json(orient="records", date_format="iso"))}


def change_champion(
    settings: Settings,
    action: str,
    kind: str,
    model_id: str,
    *,
    version: str | None,
    reason: str,
    logical_date: dt.date | None,
) -> dict:
    """Promote `version`, or roll back to the previous champion, recorded for `logical_date` (default: the last
    night that scored this kind of model), so the nights after it use the new champion."""
    actor = local_user(settings)
    run_id = f"cli__{action}"
    with connect(settings.warehouse_path) as connection:
        logical_date = logical_date or latest_night(connection, kind)
        if action == "promote":
            registry.promote(
                connection, kind, model_id, version, reason=reason, actor=actor, logical_date=logical_date,
                run_id=run_id,
            )  # fmt: skip
            restored = registry.champion(connection, kind, model_id)
        else:
            restored = registry.rollback(
                connection,
                kind,
                model_id,
                actor=actor,
                logical_date=logical_date,
                run_id=run_id,
                reason=reason,
            )
    return {
        "champion": restored["version"],
        "model_id": model_id,
        "logical_date": str(logical_date),
        "actor": actor,
    }


def latest_night(connection, kind: str) -> dt.date:
    """The last night that scored with this kind of model: a manual change applies from the night after it.

    Raises:
        RegistryError: no night has scored this kind of model yet.
    """
    table = SCORED_TABLES[kind]
    latest = None
    if tables.exists(connection, table):
        (latest,) = connection.execute(f"select max(as_of_date) from {table}").fetchone()  # noqa: S608
    if latest is None:
        raise RegistryError(f"no night has scored {kind} models yet; give --date")
    return latest
