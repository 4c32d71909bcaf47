"""Writes to declared tables as transactions that replace a partition, so a killed task changes nothing.

`replace_partition` deletes the rows of one key (an as-of date) and inserts the new ones in a single transaction,
so a killed task leaves the table as it was and a rerun converges on the same rows. Tables and their types come
from their declarations (`daybreak.warehouse.tables`), never from the first frame written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from daybreak.warehouse import tables
from daybreak.warehouse.connection import transaction
from daybreak.warehouse.declaration import Table

if TYPE_CHECKING:
    import duckdb
    import pandas as pd


def replace_partition(
    connection: duckdb.DuckDBPyConnection,
    table: Table | str,
    frame: pd.DataFrame,
    *,
    key_column: str,
    key_value: object,
) -> int:
    """Replace the rows of `table` whose `key_column` equals `key_value` with `frame`, atomically.

    `table` is a declaration of `daybreak.warehouse.tables` (or its qualified name): the table is created from it, and
    `frame` is conformed to its columns and types; values are bound as parameters.

    Returns:
        the number of rows written.
    """
    return replace_partitions(connection, [(table, frame, key_column, key_value)])[_declared(table).qualified]


def replace_partitions(
    connection: duckdb.DuckDBPyConnection, writes: Sequence[tuple[Table | str, pd.DataFrame, str, object]]
) -> dict[str, int]:
    """`replace_partition` for several tables in one transaction: a job's outputs land together or not at all.

    Args:
        writes: `(table, frame, key_column, key_value)` per table.

    Returns:
        rows written per table (by qualified name).
    """
    conformed = []
    for table, frame, key_column, key_value in writes:
        declared = _declared(table)
        rows = declared.check(declared.conform(frame))
        if key_column not in rows.columns:
            raise ValueError(f"{declared.qualified}: declares no column {key_column!r}")
        if len(rows) and (rows[key_column] != key_value).any():
            raise ValueError(
                f"{declared.qualified}: frame holds rows for another {key_column} than {key_value!r}"
            )
        conformed.append((declared, rows, key_column, key_value))
    tables.ensure(connection, *(declared for declared, *_ in conformed))
    incoming = [f"_incoming_{i}" for i in range(len(conformed))]
    for name, (_, rows, *_) in zip(incoming, conformed, strict=True):
        connection.register(name, rows)
    try:
        with transaction(connection):
            for name, (declared, _, key_column, key_value) in zip(incoming, conformed, strict=True):
                # code-declared names; the key value is bound
                connection.execute(f"delete from {declared.qualified} where {key_column} = ?", [key_value])  # noqa: S608
                connection.execute(f"insert into {declared.qualified} by name select * from {name}")  # noqa: S608
    finally:
        for name in incoming:
            connection.unregister(name)
    return {declared.qualified: len(rows) for declared, rows, *_ in conformed}


def replace_table(connection: duckdb.DuckDBPyConnection, table: Table | str, frame: pd.DataFrame) -> int:
    """Replace every row of a declared table with `frame`, atomically: for tables that are whole copies of a
    source outside the warehouse (the calendar, the planners' override log), not per-date partitions.

    Returns:
        the rows written.
    """
    declared = _declared(table)
    rows = declared.check(declared.conform(frame))
    tables.ensure(connection, declared)
    connection.register("_incoming_table", rows)
    try:
        with transaction(connection):
            connection.execute(f"delete from {declared.qualified}")  # noqa: S608 - a declared name
            connection.execute(f"insert into {declared.qualified} by name select * from _incoming_table")  # noqa: S608
    finally:
        connection.unregister("_incoming_table")
    return len(rows)


def _declared(table: Table | str) -> Table:
    return table if isinstance(table, Table) else tables.table(table)
