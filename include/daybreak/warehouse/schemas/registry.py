"""The tables of schema `registry`: the model registry's versions and its audit log (`daybreak.warehouse.registry`);
updated in place, their keys enforced."""

from __future__ import annotations

from daybreak.warehouse.declaration import RUN_ID, Table, column, key

MODEL_VERSIONS = Table(
    "registry",
    "model_versions",
    "The model registry: one row per trained version of every model, with what made it and its status.",
    (
        key("model_kind", "VARCHAR", "forecast or segmentation."),
        key("model_id", "VARCHAR", "A series_id, or customers."),
        key("version", "VARCHAR", "The logical date the version was trained for (ISO)."),
        key("trained_for_date", "DATE", "The same date, as a DATE."),
        column("data_start", "DATE", "First day of the training data."),
        column("data_end", "DATE", "Last day of the training data."),
        key("model_name", "VARCHAR", "The model (prophet, kmeans, ...)."),
        column("params", "VARCHAR", "JSON: the concrete specification."),
        column("code_version", "VARCHAR", "Package version and git commit."),
        column("metrics", "VARCHAR", "JSON: backtest means, silhouette, stability, ..."),
        key("status", "VARCHAR", "champion, challenger or retired."),
        column("artifact_path", "VARCHAR", "Where the fitted model is saved."),
        RUN_ID,
    ),
    ("model_kind", "model_id", "version"),
    None,
)

MODEL_EVENTS = Table(
    "registry",
    "model_events",
    "The registry's audit log, appended only: one row per register, promote, reject, rollback or retire.",
    (
        key("model_kind", "VARCHAR", "forecast or segmentation."),
        key("model_id", "VARCHAR", "A series_id, or customers."),
        key(
            "event_seq",
            "BIGINT",
            "Orders one model's events (a rollback can share its date with a promotion); counted per model, "
            "so nights whose tasks finish in another order write the same numbers.",
        ),
        key("version", "VARCHAR", "The version changed."),
        key("action", "VARCHAR", "register, promote, reject, rollback or retire."),
        column("from_status", "VARCHAR", "Status before."),
        column("to_status", "VARCHAR", "Status after."),
        column("reason", "VARCHAR", "Why, in words."),
        column("logical_date", "DATE", "The night the change counts from (answers 'champion as of D')."),
        column("actor", "VARCHAR", "pipeline, or the engineer."),
        RUN_ID,
    ),
    ("model_kind", "model_id", "event_seq"),
    None,
)

TABLES = (
    MODEL_VERSIONS,
    MODEL_EVENTS,
)
"""In declaration order."""
