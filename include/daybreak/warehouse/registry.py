"""The model registry: which version of each model is the champion, what made every version, and who changed what.

One mechanism for every model kind Daybreak trains (`forecast` per series, `segmentation` and `customer_value` for
customers). It lives
in the warehouse, schema `registry`, so a version and the predictions it made are published together:

* `registry.model_versions`: one row per (model_kind, model_id, version) with its training window, parameters,
  code version, metrics, status (`champion`, `challenger`, `retired`) and artifact path.
* `registry.model_events`: the audit log, one row per change, appended and never updated or deleted. `event_seq`
  orders one model's events (logical dates alone cannot: a rollback can share its date with the promotion it
  undoes). It counts per model, not across models: a night's forecast and segmentation tasks may finish in either
  order under a real scheduler, and the table must come out the same.

Promotion is gated: `daybreak.models.promotion.decide_promotion` is a pure function of two scores and a margin,
and the functions here only record what was decided. Every write is one transaction, so a crash leaves the registry as it was; and every
write is idempotent, so a rerun of a night changes nothing that the first run already recorded (no duplicate
audit rows, identical tables).

As-of reads: `champion(..., as_of=D)` answers "which version was champion for logical date D" from the audit
log, so a backfill of an earlier night scores with the model that night had, not with today's.

This module is the registry's operations and questions; the row-level SQL they run is `registry_store`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from daybreak import __version__
from daybreak.warehouse import registry_store as store
from daybreak.warehouse import tables
from daybreak.warehouse.connection import transaction
from daybreak.warehouse.registry_store import EVENTS, VERSIONS, RegistryError

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

STATUSES = ("champion", "challenger", "retired")
ACTIONS = ("register", "promote", "reject", "rollback", "retire")
MODEL_KINDS = ("forecast", "segmentation", "customer_value")


def ensure_schema(connection: duckdb.DuckDBPyConnection) -> None:
    """Create the registry schema and tables if they are missing (idempotent)."""
    tables.ensure(connection, VERSIONS, EVENTS)


def register(
    connection: duckdb.DuckDBPyConnection,
    *,
    model_kind: str,
    model_id: str,
    version: str,
    trained_for_date: dt.date,
    data_start: dt.date | None,
    data_end: dt.date | None,
    model_name: str,
    params: dict,
    metrics: dict,
    artifact_path: str,
    run_id: str,
    reason: str = "trained",
) -> None:
    """Record a newly trained version as a challenger; `reason` says why it was trained (the audit row's reason:
    the schedule, a drift or degradation that triggered it, or a model without a champion).

    A rerun that registers the same (kind, id, version) again replaces that version's row and keeps the status it
    has reached (a rerun does not demote a champion); only a version that is new, or whose content changed, gets
    a `register` audit row. No other version is touched.
    """
    _check_kind(model_kind)
    row = {
        "model_kind": model_kind,
        "model_id": model_id,
        "version": version,
        "trained_for_date": trained_for_date,
        "data_start": data_start,
        "data_end": data_end,
        "model_name": model_name,
        "params": store.json_text(params),
        "code_version": store.code_version(__version__),
        "metrics": store.json_text(metrics),
        "artifact_path": artifact_path,
    }
    ensure_schema(connection)
    with transaction(connection):
        existing = store.version_row(connection, model_kind, model_id, version)
        if existing is None:
            store.insert_version(connection, row, "challenger", run_id)
            store.append_event(
                connection,
                row,
                "register",
                None,
                "challenger",
                reason,
                trained_for_date,
                "pipeline",
                run_id,
            )
            return
        changed = any(store.normalise(existing[c]) != store.normalise(row[c]) for c in store.CONTENT_COLUMNS)
        store.update_content(connection, row, run_id)
        if changed:
            store.append_event(
                connection,
                row,
                "register",
                existing["status"],
                existing["status"],
                "retrained: the version's content changed",
                trained_for_date,
                "pipeline",
                run_id,
            )


def champion(
    connection: duckdb.DuckDBPyConnection, model_kind: str, model_id: str, *, as_of: dt.date | None = None
) -> dict | None:
    """The champion's row as a dict (params and metrics parsed), or None when the model has none.

    Args:
        as_of: answer for this logical date instead of now: the version the last promotion or rollback dated on
            or before it made champion. Backfills use this so an earlier night scores with its own champion.
    """
    if not store.has_tables(connection):
        return None
    if as_of is None:
        rows = connection.execute(
            f"select * from {VERSIONS.qualified} "  # noqa: S608 - a declared name
            "where model_kind = ? and model_id = ? and status = 'champion'",
            [model_kind, model_id],
        )
    else:
        rows = connection.execute(
            f"""
            select v.* from {VERSIONS.qualified} v
            join (
                select version from {EVENTS.qualified}
                where model_kind = ? and model_id = ? and to_status = 'champion' and logical_date <= ?
                order by logical_date desc, event_seq desc
                limit 1
            ) e using (version)
            where v.model_kind = ? and v.model_id = ?
            """,  # noqa: S608 - declared names
            [model_kind, model_id, as_of, model_kind, model_id],
        )
    found = store.rows_as_dicts(rows)
    return store.parsed(found[0]) if found else None


def champions(
    connection: duckdb.DuckDBPyConnection, model_kind: str, *, as_of: dt.date | None = None
) -> dict[str, dict]:
    """Every model's champion of one kind at once, by model_id (what a night with 500 series needs)."""
    if not store.has_tables(connection):
        return {}
    if as_of is None:
        rows = connection.execute(
            f"select * from {VERSIONS.qualified} where model_kind = ? and status = 'champion'",  # noqa: S608
            [model_kind],
        )
    else:
        rows = connection.execute(
            f"""
            with latest as (
                select model_id, arg_max(version, (logical_date, event_seq)) as version
                from {EVENTS.qualified}
                where model_kind = ? and to_status = 'champion' and logical_date <= ?
                group by model_id
            )
            select v.* from {VERSIONS.qualified} v join latest using (model_id, version)
            where v.model_kind = ?
            """,  # noqa: S608 - declared names
            [model_kind, as_of, model_kind],
        )
    return {row["model_id"]: store.parsed(row) for row in store.rows_as_dicts(rows)}


def promote(
    connection: duckdb.DuckDBPyConnection,
    model_kind: str,
    model_id: str,
    version: str,
    *,
    reason: str,
    actor: str,
    logical_date: dt.date,
    run_id: str,
) -> None:
    """Make `version` the champion; the previous champion is retired. One audit row for each status change.

    Promoting the version that already is champion changes nothing and writes no audit row.

    Raises:
        RegistryError: the version is not registered.
    """
    ensure_schema(connection)
    with transaction(connection):
        target = store.registered(connection, model_kind, model_id, version)
        if target["status"] == "champion":
            return
        current = store.current_champion_version(connection, model_kind, model_id)
        if current is not None:
            store.set_status(connection, model_kind, model_id, current, "retired")
            store.append_event(
                connection,
                {"model_kind": model_kind, "model_id": model_id, "version": current},
                "retire",
                "champion",
                "retired",
                f"replaced by {version}: {reason}",
                logical_date,
                actor,
                run_id,
            )
        store.set_status(connection, model_kind, model_id, version, "champion")
        store.append_event(
            connection, target, "promote", target["status"], "champion", reason, logical_date, actor, run_id
        )


def reject(
    connection: duckdb.DuckDBPyConnection,
    model_kind: str,
    model_id: str,
    version: str,
    *,
    reason: str,
    actor: str,
    logical_date: dt.date,
    run_id: str,
) -> None:
    """Record that a challenger was not promoted, and why; its status stays `challenger`.

    Raises:
        RegistryError: the version is not registered.
    """
    ensure_schema(connection)
    with transaction(connection):
        target = store.registered(connection, model_kind, model_id, version)
        store.append_event(
            connection,
            target,
            "reject",
            target["status"],
            target["status"],
            reason,
            logical_date,
            actor,
            run_id,
        )


def rollback(
    connection: duckdb.DuckDBPyConnection,
    model_kind: str,
    model_id: str,
    *,
    actor: str,
    logical_date: dt.date,
    run_id: str,
    reason: str = "rollback",
) -> dict:
    """Retire the current champion and restore the version that was champion before it.

    Returns:
        the restored champion's row (params and metrics parsed).

    Raises:
        RegistryError: there is no champion, or no earlier champion to go back to.
    """
    ensure_schema(connection)
    with transaction(connection):
        current = store.current_champion_version(connection, model_kind, model_id)
        if current is None:
            raise RegistryError(f"{model_kind} model {model_id!r} has no champion to roll back")
        previous = connection.execute(
            f"""
            select version from {EVENTS.qualified}
            where model_kind = ? and model_id = ? and to_status = 'champion' and version <> ?
            order by event_seq desc
            limit 1
            """,  # noqa: S608 - a declared name
            [model_kind, model_id, current],
        ).fetchone()
        if previous is None:
            raise RegistryError(f"{model_kind} model {model_id!r} has no earlier champion than {current}")
        (restored,) = previous
        restored_row = store.version_row(connection, model_kind, model_id, restored)
        store.set_status(connection, model_kind, model_id, current, "retired")
        store.append_event(
            connection,
            {"model_kind": model_kind, "model_id": model_id, "version": current},
            "rollback",
            "champion",
            "retired",
            f"{reason}: rolled back to {restored}",
            logical_date,
            actor,
            run_id,
        )
        store.set_status(connection, model_kind, model_id, restored, "champion")
        store.append_event(
            connection,
            restored_row,
            "rollback",
            restored_row["status"],
            "champion",
            f"{reason}: restored in place of {current}",
            logical_date,
            actor,
            run_id,
        )
    return champion(connection, model_kind, model_id)


def list_versions(
    connection: duckdb.DuckDBPyConnection, model_kind: str | None = None, model_id: str | None = None
) -> pd.DataFrame:
    """Registered versions, optionally of one kind and one model, oldest first."""
    return store.select(connection, VERSIONS, model_kind, model_id, "trained_for_date, version")


def list_events(
    connection: duckdb.DuckDBPyConnection, model_kind: str | None = None, model_id: str | None = None
) -> pd.DataFrame:
    """The audit log, optionally of one kind and one model, in the order the changes were made."""
    return store.select(connection, EVENTS, model_kind, model_id, "event_seq")


def latest_decision_date(connection: duckdb.DuckDBPyConnection, model_kind: str) -> dict[str, dt.date]:
    """Per model_id, the latest logical date of a promotion, rejection or rollback.

    A retrain for an earlier date than this is a backfill: it must not rewrite the champion history after it.
    """
    if not store.has_tables(connection):
        return {}
    rows = connection.execute(
        f"""
        select model_id, max(logical_date) from {EVENTS.qualified}
        where model_kind = ? and action in ('promote', 'reject', 'rollback')
        group by model_id
        """,  # noqa: S608 - a declared name
        [model_kind],
    ).fetchall()
    return dict(rows)


def decided(connection: duckdb.DuckDBPyConnection, model_kind: str, model_id: str, version: str) -> bool:
    """Whether a promotion decision (promote or reject) has already been recorded for this version."""
    if not store.has_tables(connection):
        return False
    return (
        connection.execute(
            f"select count(*) from {EVENTS.qualified} "  # noqa: S608 - a declared name
            "where model_kind = ? and model_id = ? and version = ? and action in ('promote', 'reject')",
            [model_kind, model_id, version],
        ).fetchone()[0]
        > 0
    )


def _check_kind(model_kind: str) -> None:
    if model_kind not in MODEL_KINDS:
        raise RegistryError(f"model_kind must be one of {MODEL_KINDS}, got {model_kind!r}")
