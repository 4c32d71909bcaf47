"""Planners' forecast overrides: an append-only log outside the warehouse, applied by the next forecast night.

A planner knows what a model cannot (a promotion next week, a store closing for works), so the Review page and
`daybreak override add|list|revoke` let them set a series' forecast for a range of target dates, as a value per
period or a percentage, with a reason. The dashboards never write the warehouse (they read a published copy), so
an override is a line in `DAYBREAK_HOME/overrides/<dataset>.jsonl`: appended under a lock and written atomically
(the whole file renamed over the old), never edited; a revocation is another line. The forecast night reads the
log, applies the active overrides to its forecasts (`predictions.forecasts.yhat` becomes the final value, the
model's stays in `yhat_statistical`, the override's id in `override_id`) and copies the log to
`planning.overrides`, the audit analysts query (who changed what, when and why, and who revoked it).

Overrides are dated in business time, so nights stay as-of correct: each add or revoke line carries `as_of_date`,
the business date of the newest published forecasts when the planner acted (what they were looking at). The night
for business date D applies the overrides added, and not revoked, as of a date before D. The next night therefore
applies a new override, while a rerun or backfill of a night already published gives the forecasts it gave before,
whatever was recorded since. A line without a date (recorded before any night was published) counts as before
every night. The created and revoked times are wall-clock and kept for the audit only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pandas as pd

from daybreak.core.files import dumps, locked, write_text_atomic
from daybreak.core.roles import local_user
from daybreak.warehouse import tables
from daybreak.warehouse.schemas.planning import OVERRIDES as TABLE
from daybreak.warehouse.schemas.predictions import FORECASTS
from daybreak.warehouse.writes import replace_table

if TYPE_CHECKING:
    from daybreak.core.settings import Settings

KINDS = ("value", "percent")


class OverrideError(ValueError):
    """An override request that cannot be recorded (bad dates, amount, missing reason, unknown id)."""


def log_path(settings: Settings) -> Path:
    """The dataset's override log."""
    return settings.home / "overrides" / f"{settings.dataset_name}.jsonl"


def read_log(settings: Settings) -> list[dict]:
    """Every line of the log, oldest first (empty when no override was ever recorded)."""
    path = log_path(settings)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _append(settings: Settings, record: dict) -> dict:
    path = log_path(settings)
    with locked(path):
        existing = path.read_text(encoding="utf-8") if path.exists() else ""
        write_text_atomic(path, existing + dumps(record) + "\n")
    return record


def add(
    settings: Settings,
    *,
    series_id: str,
    start_date: dt.date,
    end_date: dt.date,
    kind: str,
    amount: float,
    reason: str,
    author: str,
    now: dt.datetime,
    as_of_date: dt.date | None,
) -> dict:
    """Record an override and return it (with its id). `as_of_date` is the business date of the newest published
    forecasts (`latest_night`): nights after it apply the override.

    Raises:
        OverrideError: end before start, an unknown kind, a negative value, a cut of 100% or more, no reason or
            no author.
    """
    if end_date < start_date:
        raise OverrideError(f"the override ends ({end_date}) before it starts ({start_date})")
    if kind not in KINDS:
        raise OverrideError(f"kind must be one of {KINDS}, not {kind!r}")
    if kind == "value" and amount < 0:
        raise OverrideError("a forecast value cannot be negative")
    if kind == "percent" and amount <= -100:
        raise OverrideError("a percentage change must be above -100%")
    if not reason.strip():
        raise OverrideError("say why: an override needs a reason")
    if not author.strip():
        raise OverrideError("an override needs an author")
    record = {
        "event": "add",
        "series_id": series_id,
        "start_date": start_date.isoformat(),
        "end_date": end_date.isoformat(),
        "kind": kind,
        "amount": float(amount),
        "reason": reason.strip(),
        "author": author.strip(),
        "created_at": now.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
        "as_of_date": as_of_date.isoformat() if as_of_date else None,
    }
    record["override_id"] = "ov-" + hashlib.sha256(dumps(record).encode()).hexdigest()[:12]
    return _append(settings, record)


def revoke(
    settings: Settings,
    override_id: str,
    *,
    reason: str,
    author: str,
    now: dt.datetime,
    as_of_date: dt.date | None,
) -> dict:
    """Record that an active override no longer applies: nights after `as_of_date` (the newest published
    forecasts' business date) forecast with the model's value again.

    Raises:
        OverrideError: no active override has that id, or no reason was given.
    """
    active = current(settings)
    if override_id not in set(active.loc[active["status"] == "active", "override_id"]):
        raise OverrideError(f"no active override {override_id!r} (see `daybreak override list`)")
    if not reason.strip():
        raise OverrideError("say why: a revocation needs a reason")
    return _append(
        settings,
        {
            "event": "revoke",
            "override_id": override_id,
            "reason": reason.strip(),
            "author": author.strip(),
            "created_at": now.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
            "as_of_date": as_of_date.isoformat() if as_of_date else None,
        },
    )


def _as_of(record: dict) -> dt.date | None:
    return dt.date.fromisoformat(record["as_of_date"]) if record.get("as_of_date") else None


def current(settings: Settings, run_id: str | None = None, *, night: dt.date | None = None) -> pd.DataFrame:
    """Every override with its state (active or revoked), as `planning.overrides` declares it, oldest first.

    With `night`, the state the night for that business date sees: only the lines dated before it.
    """

    rows: dict[str, dict] = {}
    for record in read_log(settings):
        dated = _as_of(record)
        if night is not None and dated is not None and dated >= night:
            continue
        if record.get("event") == "add":
            rows[record["override_id"]] = {
                **{
                    key: record[key]
                    for key in ("override_id", "series_id", "kind", "amount", "reason", "author")
                },
                "start_date": dt.date.fromisoformat(record["start_date"]),
                "end_date": dt.date.fromisoformat(record["end_date"]),
                "created_at": dt.datetime.fromisoformat(record["created_at"]),
                "as_of_date": dated,
                "status": "active",
                "revoked_by": None,
                "revoked_at": None,
                "revoked_as_of_date": None,
                "revoke_reason": None,
                "run_id": run_id,
            }
        elif record.get("event") == "revoke" and record.get("override_id") in rows:
            rows[record["override_id"]].update(
                status="revoked",
                revoked_by=record["author"],
                revoked_at=dt.datetime.fromisoformat(record["created_at"]),
                revoked_as_of_date=dated,
                revoke_reason=record["reason"],
            )

    if not rows:
        return TABLE.empty()
    return TABLE.conform(pd.DataFrame(list(rows.values())))


def apply(forecasts: pd.DataFrame, overrides: pd.DataFrame) -> pd.DataFrame:
    """`forecasts` (rows of `predictions.forecasts`) with the active overrides applied.

    `yhat_statistical` keeps the model's point forecast; `yhat` and the interval bounds become the final ones: a
    value override sets the point and shifts the bounds by the same amount (never below zero), a percentage scales
    the point and the bounds. When overrides overlap, the one recorded last wins. `override_id` names it.
    """

    frame = forecasts.copy()
    statistical = frame["yhat"].astype("float64").to_numpy()
    frame["yhat_statistical"] = statistical
    frame["override_id"] = None
    active = overrides[overrides["status"] == "active"].sort_values("created_at", kind="stable")
    if frame.empty or active.empty:
        return frame
    bounds = ["yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95"]
    base = {column: frame[column].astype("float64").to_numpy() for column in bounds}
    final = {column: values.copy() for column, values in base.items()} | {"yhat": statistical.copy()}
    override_ids = np.array([None] * len(frame), dtype=object)
    target_dates = np.array(frame["target_date"].astype("datetime64[ns]").dt.date.to_numpy())
    series = frame["series_id"].astype(str).to_numpy()
    for row in active.itertuples():
        mask = (series == row.series_id) & (target_dates >= row.start_date) & (target_dates <= row.end_date)
        if not mask.any():
            continue
        if row.kind == "value":
            shift = row.amount - statistical[mask]
            final["yhat"][mask] = row.amount
            for column in bounds:
                final[column][mask] = np.maximum(base[column][mask] + shift, 0.0)
        else:
            factor = 1 + row.amount / 100
            final["yhat"][mask] = statistical[mask] * factor
            for column in bounds:
                final[column][mask] = base[column][mask] * factor
        override_ids[mask] = row.override_id
    for column, values in final.items():
        frame[column] = values
    frame["override_id"] = override_ids
    return frame


def latest_night(settings: Settings) -> dt.date | None:
    """The business date of the newest published forecasts (the serving copy), which a new override or revocation
    is dated with; None before the first night is published."""

    path = settings.serving_path
    if not path.exists():
        return None
    with duckdb.connect(str(path), read_only=True) as connection:
        if not tables.exists(connection, FORECASTS.qualified):
            return None
        return connection.execute(f"select max(as_of_date) from {FORECASTS.qualified}").fetchone()[0]  # noqa: S608


def ingest(connection: duckdb.DuckDBPyConnection, overrides: pd.DataFrame) -> int:
    """Replace `planning.overrides` with the whole log (the log is the append-only source; this is its audit copy,
    which only grows: the dates say which nights applied what)."""

    return replace_table(connection, TABLE, overrides)


def local_planner(settings: Settings) -> str:
    """Who is overriding when no identity provider signed them in (the demo, the CLI): the local user
    (`DAYBREAK_USER`, else the operating-system user; `daybreak.core.roles.local_user`). Recorded as `<name> (local)`,
    so the audit tells it from a signed-in identity."""

    return f"{local_user(settings)} (local)"
