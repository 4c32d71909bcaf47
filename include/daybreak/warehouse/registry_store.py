"""The registry's rows in the warehouse: the SQL that reads a version's row, writes it, changes its status, appends
an audit event and lists either table. It decides nothing: what a change means (register, promote, reject,
rollback) and when it is allowed is `daybreak.warehouse.registry`, which calls these inside its transactions.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import subprocess
from typing import TYPE_CHECKING, Any

import pandas as pd

from daybreak.core.files import dumps
from daybreak.core.settings import PROJECT_ROOT
from daybreak.warehouse import tables
from daybreak.warehouse.declaration import Table
from daybreak.warehouse.schemas.registry import MODEL_EVENTS as EVENTS
from daybreak.warehouse.schemas.registry import MODEL_VERSIONS as VERSIONS

if TYPE_CHECKING:
    import duckdb

VERSION_COLUMNS = VERSIONS.column_names
EVENT_COLUMNS = EVENTS.column_names
CONTENT_COLUMNS = tuple(c for c in VERSION_COLUMNS if c not in ("status", "run_id"))
"""What a version is made of: a rerun that changes any of these is recorded as a retrain."""


class RegistryError(ValueError):
    """A registry change that cannot be made: an unknown version, nothing to roll back to, a bad argument."""


@functools.cache
def code_version(package_version: str) -> str:
    """The package version, plus the git commit of the checkout when there is one (never a time)."""
    try:
        sha = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return package_version
    return f"{package_version}+g{sha}" if sha else package_version


def has_tables(connection: duckdb.DuckDBPyConnection) -> bool:
    return tables.exists(connection, VERSIONS.qualified) and tables.exists(connection, EVENTS.qualified)


def rows_as_dicts(cursor) -> list[dict]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def version_row(connection, model_kind: str, model_id: str, version: str) -> dict | None:
    found = rows_as_dicts(
        connection.execute(
            f"select * from {VERSIONS.qualified} where model_kind = ? and model_id = ? and version = ?",  # noqa: S608
            [model_kind, model_id, version],
        )
    )
    return found[0] if found else None


def registered(connection, model_kind: str, model_id: str, version: str) -> dict:
    """The version's row; a version that was never registered cannot change status."""
    target = version_row(connection, model_kind, model_id, version)
    if target is None:
        raise RegistryError(f"no {model_kind} model {model_id!r} version {version!r} in the registry")
    return target


def current_champion_version(connection, model_kind: str, model_id: str) -> str | None:
    found = connection.execute(
        f"select version from {VERSIONS.qualified} "  # noqa: S608 - a declared name
        "where model_kind = ? and model_id = ? and status = 'champion'",
        [model_kind, model_id],
    ).fetchone()
    return found[0] if found else None


def insert_version(connection, row: dict, status: str, run_id: str) -> None:
    """A new version's row (`row`: its content columns)."""
    values = {**row, "status": status, "run_id": run_id}
    connection.execute(
        f"insert into {VERSIONS.qualified} ({', '.join(VERSION_COLUMNS)}) "  # noqa: S608 - declared names
        f"values ({', '.join('?' * len(VERSION_COLUMNS))})",
        [values[c] for c in VERSION_COLUMNS],
    )


def update_content(connection, row: dict, run_id: str) -> None:
    """A registered version's content columns and lineage, replaced; its status is left as it is."""
    assignments = ", ".join(f"{c} = ?" for c in (*CONTENT_COLUMNS, "run_id"))
    connection.execute(
        f"update {VERSIONS.qualified} set {assignments} "  # noqa: S608 - declared names
        "where model_kind = ? and model_id = ? and version = ?",
        [*(row[c] for c in CONTENT_COLUMNS), run_id, row["model_kind"], row["model_id"], row["version"]],
    )


def set_status(connection, model_kind: str, model_id: str, version: str, status: str) -> None:
    connection.execute(
        f"update {VERSIONS.qualified} set status = ? "  # noqa: S608 - a declared name
        "where model_kind = ? and model_id = ? and version = ?",
        [status, model_kind, model_id, version],
    )


def append_event(
    connection,
    row: dict,
    action: str,
    from_status: str | None,
    to_status: str | None,
    reason: str,
    logical_date: dt.date | None,
    actor: str,
    run_id: str | None,
) -> None:
    """One audit row for the version `row` names, numbered after the model's last event."""
    (seq,) = connection.execute(
        f"select coalesce(max(event_seq), 0) + 1 from {EVENTS.qualified} "  # noqa: S608 - a declared name
        "where model_kind = ? and model_id = ?",
        [row["model_kind"], row["model_id"]],
    ).fetchone()
    values = {
        "event_seq": seq,
        "model_kind": row["model_kind"],
        "model_id": row["model_id"],
        "version": row["version"],
        "action": action,
        "from_status": from_status,
        "to_status": to_status,
        "reason": reason,
        "logical_date": logical_date,
        "actor": actor,
        "run_id": run_id,
    }
    connection.execute(
        f"insert into {EVENTS.qualified} ({', '.join(EVENT_COLUMNS)}) "  # noqa: S608 - declared names
        f"values ({', '.join('?' * len(EVENT_COLUMNS))})",
        [values[name] for name in EVENT_COLUMNS],
    )


def select(
    connection, table: Table, model_kind: str | None, model_id: str | None, order: str
) -> pd.DataFrame:
    """`table`'s rows, optionally of one kind and one model, ordered by kind, model and then `order`."""
    if not has_tables(connection):
        return pd.DataFrame({c: [] for c in table.column_names})
    sql = (
        f"select {', '.join(table.column_names)} from {table.qualified} "  # noqa: S608 - declared names
        "where (? is null or model_kind = ?) and (? is null or model_id = ?) "
        f"order by model_kind, model_id, {order}"
    )
    return connection.execute(sql, [model_kind, model_kind, model_id, model_id]).df()


def json_text(value: dict) -> str:
    """Stable JSON text (sorted keys), so an unchanged version compares equal on a rerun."""
    return dumps(value, allow_nan=True)


def normalise(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date()
    return value


def parsed(row: dict) -> dict:
    """A version's row with its params and metrics parsed from JSON."""
    out = dict(row)
    for key in ("params", "metrics"):
        if isinstance(out.get(key), str):
            out[key] = json.loads(out[key])
    return out
