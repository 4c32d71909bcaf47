"""The table of schema `planning`: the planners' forecast overrides, copied whole from their log by every forecast
night."""

from __future__ import annotations

from daybreak.warehouse.declaration import RUN_ID, Table, column, key

OVERRIDES = Table(
    "planning",
    "overrides",
    "Planners' forecast overrides and their audit: who changed which series' forecast for which dates, by "
    "how much and why, and who revoked it. A copy of the append-only log outside the warehouse "
    "(`DAYBREAK_HOME/overrides/<dataset>.jsonl`, written by the Review page and `daybreak override`), "
    "replaced whole by every forecast night; the night for business date D applies those active as of a date "
    "before D.",
    (
        key("override_id", "VARCHAR", "The override's id (ov-<12 hex>), stable for its life."),
        column("series_id", "VARCHAR", "The series whose forecast is overridden."),
        column("start_date", "DATE", "First target date overridden."),
        column("end_date", "DATE", "Last target date overridden (inclusive)."),
        column(
            "kind",
            "VARCHAR",
            "value (the forecast per period is set to amount) or percent (yhat * (1 + amount/100)).",
        ),
        column("amount", "DOUBLE", "The value per period, or the percentage change."),
        column("reason", "VARCHAR", "Why, in the planner's words."),
        column(
            "author",
            "VARCHAR",
            "Who: the signed-in user (OIDC) or, in the demo, the labelled local fallback.",
        ),
        column("created_at", "TIMESTAMP", "Wall-clock time (UTC) the override was recorded; audit only."),
        column(
            "as_of_date",
            "DATE",
            "The business date of the newest published forecasts when it was recorded: the nights after it "
            "apply it (null: recorded before any night, so every night does).",
        ),
        column("status", "VARCHAR", "active or revoked."),
        column("revoked_by", "VARCHAR", "Who revoked it; null while active."),
        column("revoked_at", "TIMESTAMP", "When it was revoked (UTC); null while active."),
        column(
            "revoked_as_of_date",
            "DATE",
            "The business date of the newest published forecasts when it was revoked: the nights after it no "
            "longer apply it.",
        ),
        column("revoke_reason", "VARCHAR", "Why it was revoked."),
        RUN_ID,
    ),
    ("override_id",),
    None,
)

TABLES = (OVERRIDES,)
"""In declaration order."""
