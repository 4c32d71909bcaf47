"""The raw lake's layout: where a landed file's bytes and its valid lines live, and how they are written.

* the file's bytes, exactly as they arrived: `lake/<dataset>/landed/business_date=<D>/<sha256>/<name>` (read-only);
* its valid lines: `lake/<dataset>/sales_lines/business_date=<D>/<sha256>.parquet`, one Parquet file per landed
  file, named by the landed file's checksum, written once, atomically (staged, then renamed), with one fixed
  schema, and removed only when a later delivery replaces its file (`landing.corrections: replace`);
* `raw.sales_lines`, the warehouse's view over those Parquet files, by their path relative to the data home, which
  dbt's `raw` source reads.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from daybreak.core.files import temporary_sibling, write_atomic
from daybreak.ingest.exports.listing import list_exports
from daybreak.warehouse.publish import remove_stale_temporaries

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from daybreak.core.settings import Settings
    from daybreak.datasets import DatasetConfig

# fsspec and pyarrow are imported inside the functions that use them: the layout's names and paths are read by
# modules that need neither library (the nightly steps, `daybreak.nights.spark`), and neither is cheap to import
LAKE_TABLE = "sales_lines"
LANDED_FOLDER = "landed"


def partition_dir(settings: Settings, business_date: dt.date) -> Path:
    """The lake partition of one business day's valid lines."""
    return settings.lake_dir / LAKE_TABLE / f"business_date={business_date.isoformat()}"


def lake_file(settings: Settings, business_date: dt.date, file_sha256: str) -> Path:
    """Where the valid lines of one landed file live: one Parquet file per landed file, named by its checksum."""
    return partition_dir(settings, business_date) / f"{file_sha256}.parquet"


def landed_copy(settings: Settings, business_date: dt.date, file_sha256: str, name: str) -> Path:
    """Where the landed file's own bytes are kept, exactly as they arrived."""
    return (
        settings.lake_dir / LANDED_FOLDER / f"business_date={business_date.isoformat()}" / file_sha256 / name
    )


def find_exports(settings: Settings, config: DatasetConfig, business_date: dt.date) -> list[str]:
    """The day's export files (local paths, or URLs when the landing folder is object storage), sorted."""
    return list_exports(str(settings.landing_dir / business_date.isoformat()), config.landing_glob)


def sha256_of(path: str | Path) -> str:
    """The file's SHA-256, which identifies it whatever its name or folder."""
    import fsspec

    digest = hashlib.sha256()
    with fsspec.open(str(path), "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def size_and_time_of(path: str | Path) -> tuple[int, float]:
    """A file's size, and when it was last written (POSIX seconds; 0 where the storage does not say): a delivery's
    time, which orders corrections of one day found by the same night (`night_plan.corrections_of`)."""
    import fsspec

    fs, root = fsspec.core.url_to_fs(str(path))
    try:
        modified = fs.modified(root).timestamp()
    except (NotImplementedError, AttributeError, KeyError, OSError):
        modified = 0.0
    return int(fs.size(root)), modified


def lake_schema():
    """The lake's column types, fixed so every partition reads alike: a day whose customer ids are all missing
    still has a string column, and timestamps are microseconds, which Spark and DuckDB both read.

    `extra_values` (JSON text of the export's unmapped columns, null when there are none) and `revenue` (an
    aggregated row's total; null on sales lines, whose revenue is quantity * unit_price) came later: lake files
    landed before them lack the columns, so the view over a lake that has such files unions by name
    (`ensure_raw_view`)."""
    import pyarrow as pa

    return pa.schema(
        [
            ("order_id", pa.string()),
            ("ordered_at", pa.timestamp("us")),
            ("customer_id", pa.string()),
            ("product_id", pa.string()),
            ("product_name", pa.string()),
            ("location", pa.string()),
            ("quantity", pa.float64()),
            ("unit_price", pa.float64()),
            ("revenue", pa.float64()),
            ("source_file", pa.string()),
            ("source_row", pa.int64()),
            ("file_sha256", pa.string()),
            ("extra_values", pa.string()),
        ]
    )


def stage_lake_file(target: Path, lines: pd.DataFrame, source_file: str) -> Path:
    """Write one landed file's valid lines, with the fixed lake schema, beside their lake file `target` under a
    temporary name (`daybreak.core.files.temporary_sibling`, which no reader's `*.parquet` glob matches); the night
    renames it over `target` once their links are stored (`daybreak.ingest.day`), or removes it. The name also
    holds a digest of `source_file`: two files of one day with the same bytes stage apart (one of them is a
    duplicate, and its lines name the other file).

    Returns:
        the staged file."""
    writer = StagedLakeFile(target, source_file)
    writer.write(lines)
    return writer.close()


class StagedLakeFile:
    """A landed file's staged lake file written a batch of lines at a time (`stage_lake_file` writes one batch):
    a file read in batches (`daybreak.ingest.streaming`) never holds all its lines at once."""

    def __init__(self, target: Path, source_file: str) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(target)  # what a killed ingest staged for the same file
        staged = temporary_sibling(target)
        self.staged = staged.with_name(
            f"{staged.name}-{hashlib.sha256(source_file.encode()).hexdigest()[:12]}"
        )
        self.schema = lake_schema()
        self._writer = (
            None  # opened by the first batch, with its schema's pandas metadata, as pq.write_table does
        )

    def write(self, lines: pd.DataFrame) -> None:
        """Append lines (the lake's columns, any order) to the staged file."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        # one thread: the columns are mostly Python strings, converted under the GIL, and pyarrow would start and
        # join a thread pool for every file (about 2 ms each, 731 times in a two-year history)
        table = pa.Table.from_pandas(
            lines[self.schema.names], schema=self.schema, preserve_index=False, safe=False, nthreads=1
        )
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.staged, table.schema, compression="zstd")
        self._writer.write_table(table)

    def close(self) -> Path:
        """Finish the staged file (at least one batch was written); returns its path."""
        self._writer.close()
        return self.staged

    def discard(self) -> None:
        """Close and remove the staged file (a file whose reading was abandoned)."""
        if self._writer is not None:
            self._writer.close()
        self.staged.unlink(missing_ok=True)


def keep_landed_copy(source: str, target: Path) -> None:
    """Copy the landed file's bytes into the lake (read-only, its owner's only), unless an earlier run already
    did."""
    import fsspec

    if target.exists():
        return

    def copy(path: Path) -> None:
        with fsspec.open(source, "rb") as reader, open(path, "wb") as writer:
            shutil.copyfileobj(reader, writer, 1 << 20)
        path.chmod(0o400)

    write_atomic(target, copy)


def ensure_raw_view(connection: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Create `raw.sales_lines`, the warehouse's view of the lake, for dbt's source to read.

    The view names the lake by its path relative to the data home (`lake/<dataset>/sales_lines/*/*.parquet`),
    which every connection to the warehouse reads from (`daybreak.warehouse.connection.connect`), so a data home
    moved or restored elsewhere reads its own lake. It reads the lake's files when queried, so a new file needs no
    new view: it is only (re)created when missing or naming another lake folder (a warehouse from before the
    relative path named its lake by an absolute one, which is read until this replaces it)."""
    lake_glob = (settings.lake_dir / LAKE_TABLE / "*" / "*.parquet").relative_to(settings.home).as_posix()
    lake_glob = lake_glob.replace("'", "''")
    existing = connection.execute(
        "select sql from duckdb_views() where schema_name = 'raw' and view_name = 'sales_lines'"
    ).fetchall()
    if existing and f"read_parquet('{lake_glob}'" in existing[0][0]:
        return
    if not any((settings.lake_dir / LAKE_TABLE).glob("*/*.parquet")):
        return  # nothing landed yet: a view over no file cannot be created
    connection.execute("create schema if not exists raw")
    # union by name only over a lake landed before `lake_schema`'s last columns: it makes every read of the view,
    # even of one day, open every file's footer first (0.26 s against 0.06 s for a day of the demo's 727 files)
    by_name = ", union_by_name = true" if has_older_files(connection, lake_glob) else ""
    # a view's definition cannot take bound parameters; the path comes from settings and is quoted above
    connection.execute(
        "create or replace view raw.sales_lines as select * from read_parquet("  # noqa: S608
        f"'{lake_glob}', hive_partitioning = true, hive_types = {{'business_date': DATE}}{by_name})"
    )


def has_older_files(connection: duckdb.DuckDBPyConnection, lake_glob: str) -> bool:
    """Whether any lake file under `lake_glob` has other columns than `lake_schema()` (landed by an older Daybreak,
    before `revenue` or `extra_values`): the lake writer gives every new file that schema, so a lake without such
    files reads alike by position."""
    (older,) = connection.execute(
        "select count(*) from ("
        "  select file_name, list_sort(list(name)) as columns from parquet_schema(?)"
        "  where coalesce(num_children, 0) = 0 group by file_name"
        ") where columns <> list_sort(?)",
        [lake_glob.replace("''", "'"), lake_schema().names],
    ).fetchone()
    return older > 0
