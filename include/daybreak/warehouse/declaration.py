"""What a declared table is: its columns (name, DuckDB type, meaning, and what rows written before a column existed
hold in it), its key and partition, its DDL, and how a frame is made to fit it (`conform`).

The declarations themselves are in `daybreak.warehouse.schemas` (one module per warehouse schema); how a warehouse
is brought to them is `daybreak.warehouse.tables.ensure`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Column:
    """One column: its name, DuckDB type and meaning; `nullable=False` makes it NOT NULL and tested as such.

    `backfill` is the SQL value (over the row's other columns) a row holds in this column where it is NULL because
    the row was written before the column existed; `tables.ensure` fills it in, so no reader coalesces. None: such
    rows keep NULL.
    """

    name: str
    type: str
    description: str
    nullable: bool = True
    backfill: str | None = None


@dataclass(frozen=True)
class Table:
    """One table's contract. `key` identifies a row; `partition` is the column a night replaces (None: none)."""

    schema: str
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    partition: str | None

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        unknown = [c for c in (*self.key, *([self.partition] if self.partition else [])) if c not in names]
        if unknown or len(set(names)) != len(names):
            raise ValueError(f"{self.qualified}: key or partition not a column, or a column twice: {unknown}")

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def primary_key(self) -> tuple[str, ...]:
        """The key the warehouse enforces: a partitioned table's rows are replaced by partition instead."""
        return self.key if self.partition is None else ()

    def ddl(self, name: str | None = None) -> str:
        """`create table if not exists` with the declared columns (and the primary key of an unpartitioned one),
        named `name` if given (a rebuild's staging table)."""
        parts = [f'"{c.name}" {c.type}{"" if c.nullable else " not null"}' for c in self.columns]
        if self.primary_key:
            parts.append(f"primary key ({', '.join(self.primary_key)})")
        return f"create table if not exists {name or self.qualified} ({', '.join(parts)})"

    def empty(self) -> pd.DataFrame:
        """No rows, the declared columns and types: what a night with nothing to write writes."""

        return self.conform(pd.DataFrame({name: pd.Series([], dtype=object) for name in self.column_names}))

    def conform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame` as exactly the declared columns, in order, each cast to its declared type.

        Built through Arrow, so a missing number (NaN, None, pd.NA) is stored as NULL and an empty frame still
        carries DATE, INTEGER and BOOLEAN columns. Extra columns are dropped.

        Raises:
            ValueError: a declared column is missing, or its values do not cast to its type (the message names
                the table and the column).
        """
        import pyarrow as pa

        if missing := [name for name in self.column_names if name not in frame.columns]:
            raise ValueError(f"{self.qualified}: the frame has no column(s) {missing}")
        data = {}
        for column in self.columns:
            constructor, *arguments = _ARROW_TYPES[column.type]
            arrow_type = getattr(pa, constructor)(*arguments)
            values = frame[column.name].reset_index(drop=True)
            try:
                if column.type in ("DATE", "TIMESTAMP") and not isinstance(values.dtype, pd.ArrowDtype):
                    values = pd.to_datetime(values)
                    values = values.dt.date if column.type == "DATE" else values
                array = pa.array(values, from_pandas=True)
                if array.type != arrow_type:
                    array = array.cast(arrow_type)
            except (pa.ArrowException, TypeError, ValueError) as error:
                raise ValueError(
                    f"{self.qualified}.{column.name}: values do not cast to {column.type}: {error}"
                ) from error
            data[column.name] = pd.Series(array, dtype=pd.ArrowDtype(arrow_type))
        return pd.DataFrame(data, columns=list(self.column_names))

    def check(self, rows: pd.DataFrame) -> pd.DataFrame:
        """`rows` (conformed), refused if a column declared not nullable holds NULL or the key repeats.

        What the generated dbt source tests check on the whole table (`daybreak.warehouse.dbt_sources`), checked
        on the rows as they are written: a night's build then need not test every night's partitions again
        (`jobs.transform`), and a bad write fails the job that made it.

        Raises:
            ValueError: naming the table and the column(s).
        """
        if nulls := [c.name for c in self.columns if not c.nullable and rows[c.name].isna().any()]:
            raise ValueError(f"{self.qualified}: NULL in not-nullable column(s) {nulls}")
        if len(rows) and rows.duplicated(subset=list(self.key)).any():
            raise ValueError(f"{self.qualified}: the key {list(self.key)} repeats in the rows written")
        return rows


# DuckDB type -> the pyarrow type constructor (and its arguments) that `conform` casts to
_ARROW_TYPES = {
    "DATE": ("date32",),
    "VARCHAR": ("string",),
    "INTEGER": ("int32",),
    "BIGINT": ("int64",),
    "DOUBLE": ("float64",),
    "BOOLEAN": ("bool_",),
    "TIMESTAMP": ("timestamp", "us"),
}


def column(
    name: str, type_: str, description: str, nullable: bool = True, *, backfill: str | None = None
) -> Column:
    return Column(name, type_, description, nullable, backfill)


def key(name: str, type_: str, description: str) -> Column:
    """A key column: never NULL."""
    return Column(name, type_, description, nullable=False)


AS_OF = key(
    "as_of_date", "DATE", "The night (business date) that wrote the row; the partition a rerun replaces."
)
RUN_ID = column(
    "run_id", "VARCHAR", "Lineage: the Airflow run (or CLI run) that wrote the row; reruns ignore it."
)
