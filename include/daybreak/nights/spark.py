"""Spark as the second engine of the same dbt models: what dbt-spark needs that dbt-duckdb finds in the warehouse.

The Python jobs write DuckDB whatever the engine (`tables.py` declares those tables once). For dbt-spark to read
them, the transform step, before every Spark build, copies each declared table from the DuckDB warehouse to one
Parquet file (`Settings.spark_dir/sources/<schema>/<table>.parquet`, replaced atomically; an absent table as an
empty file with its declared columns) and passes `dbt` the var `spark_sources`: `schema.table -> Parquet path`,
the raw lake (`raw.sales_lines`, already Parquet, partitioned by business_date) included. The `on-run-start` hook
`register_sources()` (dbt_project/macros/register_sources.sql) makes each one a view of the same name over its
Parquet in Spark's catalog, so `source()` and analysts resolve them as on DuckDB. No second list of tables: the
declarations and the lake's layout are the only ones.

The marts dbt builds on Spark are Parquet tables in Spark's warehouse (`spark_dir/warehouse`), the incremental
ones partitioned by their date column; the catalog is an embedded Derby metastore in `spark_dir/metastore`, so
incremental runs find the tables earlier nights built. Like the DuckDB file, it admits one process at a time.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from daybreak.core.files import write_atomic
from daybreak.ingest.lake import LAKE_TABLE
from daybreak.warehouse import tables
from daybreak.warehouse.connection import connect
from daybreak.warehouse.publish import LAKE_VIEW_SCHEMAS

if TYPE_CHECKING:
    from daybreak.core.settings import Settings

RAW_TABLE = "raw.sales_lines"
SHUFFLE_PARTITIONS = 4
"""Spark's shuffle partitions for the local session: its default (200) makes every small join 200 tasks."""


def sources_dir(settings: Settings) -> Path:
    return settings.spark_dir / "sources"


def source_path(settings: Settings, qualified: str) -> Path:
    """Where Spark reads `schema.table`: the lake's folder for the raw lines, else the table's Parquet copy."""
    if qualified == RAW_TABLE:
        return settings.lake_dir / LAKE_TABLE
    schema, name = qualified.split(".")
    return sources_dir(settings) / schema / f"{name}.parquet"


def export_sources(settings: Settings) -> dict[str, str]:
    """Copy every declared table from the DuckDB warehouse to its Parquet file; returns the var `spark_sources`.

    Whole tables, every build: they are the Python jobs' outputs (predictions, registry, monitoring), small next to
    the lake, and a copy is what the night's DuckDB holds, so a rerun reads the same. DuckDB writes the Parquet.
    """

    paths = {RAW_TABLE: source_path(settings, RAW_TABLE)}
    with connect(settings.warehouse_path, read_only=True) as connection:
        for qualified, declared in sorted(tables.TABLES.items()):
            frame = None if tables.exists(connection, qualified) else declared.empty()

            def write(target: Path, declared=declared, frame=frame) -> None:
                columns = ", ".join(f'"{name}"' for name in declared.column_names)
                cursor = connection.cursor()
                if frame is not None:
                    cursor.register("empty_table", frame)
                relation = declared.qualified if frame is None else "empty_table"
                query = f"select {columns} from {relation}"  # noqa: S608 - declared names only
                quoted = str(target).replace(
                    "'", "''"
                )  # COPY takes no bound parameters; the data home's path
                cursor.execute(f"copy ({query}) to '{quoted}' (format parquet)")
                cursor.close()

            path = source_path(settings, qualified)
            write_atomic(path, write)
            paths[qualified] = path
    return {qualified: str(path) for qualified, path in paths.items()}


def dbt_vars(settings: Settings) -> dict:
    """The dbt vars the engine adds to the dataset's: on Spark, the sources, exported now; nothing on DuckDB."""
    return {"spark_sources": export_sources(settings)} if settings.engine == "spark" else {}


def dbt_env(settings: Settings) -> dict[str, str]:
    """The environment dbt_project/profiles.yml reads for the Spark session (its files and master); nothing on
    DuckDB."""
    if settings.engine != "spark":
        return {}
    spark_dir = settings.spark_dir
    return {
        "DAYBREAK_SPARK_MASTER": settings.spark_master,
        "DAYBREAK_SPARK_WAREHOUSE_DIR": str(spark_dir / "warehouse"),
        "DAYBREAK_SPARK_METASTORE_DIR": str(spark_dir / "metastore"),
        "DAYBREAK_SPARK_SHUFFLE_PARTITIONS": str(SHUFFLE_PARTITIONS),
    }


MARTS_SCHEMA = "marts"
DUCKDB_VIEWS = "+path:models/marts/predictions,config.materialized:view"
"""What dbt-duckdb builds in the DuckDB warehouse after a Spark build and `publish_marts`: the views over the
predictions (the dashboards' accuracy and model-health pages read them) and the staging views under them. The
Python jobs' tables they read are in DuckDB, and the marts they join are the published views, so DuckDB's
readers see every relation they see after a DuckDB build."""


def marts_dir(settings: Settings) -> Path:
    """Where Spark keeps the mart tables dbt-spark builds: the `marts` database's folder of its warehouse."""
    return settings.spark_dir / "warehouse" / f"{MARTS_SCHEMA}.db"


def file_view_schemas(settings: Settings) -> tuple[str, ...]:
    """The warehouse schemas whose views read files by design, which a publish copies as tables
    (`daybreak.warehouse.publish.publish`): the lake's, and on Spark the marts `publish_marts` made views."""

    return (*LAKE_VIEW_SCHEMAS, MARTS_SCHEMA) if settings.engine == "spark" else tuple(LAKE_VIEW_SCHEMAS)


def publish_marts(settings: Settings) -> list[str]:
    """Make each mart table the Spark build wrote a view of the same name in the DuckDB warehouse, over its
    Parquet; returns the views' names (none on DuckDB, whose build writes the marts there itself).

    The Python jobs, monitoring and the dashboards read `marts.*` from the DuckDB warehouse whatever the engine;
    after a Spark build those names read Spark's files (a partitioned table's `column=value` folders become that
    column), so the night's jobs forecast and segment from the marts Spark built, with no second copy and no
    Spark session to query them. The file list is resolved at each query, so a later build's partitions are read
    without republishing. A DuckDB table of the same name (the engine was DuckDB before) is replaced by the
    view. Only tables: the dbt views on Spark (staging, `predictions.*`) are definitions in Spark's catalog, with
    no files for DuckDB to read; a table without any data file yet is left out. With a Thrift server the tables
    are the cluster's, not under `spark_dir`, and nothing is published.
    """

    if settings.engine != "spark":
        return []
    published = []
    with connect(settings.warehouse_path) as connection:
        connection.execute(f"create schema if not exists {MARTS_SCHEMA}")
        kinds = dict(
            connection.execute(
                "select table_name, table_type from information_schema.tables where table_schema = ?",
                [MARTS_SCHEMA],
            ).fetchall()
        )
        folders = sorted(marts_dir(settings).iterdir()) if marts_dir(settings).is_dir() else []
        for folder in folders:
            if not folder.is_dir() or not next(folder.rglob("*.parquet"), None):
                continue
            name = folder.name
            if kinds.get(name) == "BASE TABLE":
                connection.execute(f'drop table {MARTS_SCHEMA}."{name}"')
            files = str(folder / "**" / "*.parquet").replace("'", "''")  # DDL takes no bound parameters
            connection.execute(
                f'create or replace view {MARTS_SCHEMA}."{name}" as '  # noqa: S608 - Spark's folder names
                f"select * from read_parquet('{files}', hive_partitioning = true)"
            )
            published.append(f"{MARTS_SCHEMA}.{name}")
    return published
