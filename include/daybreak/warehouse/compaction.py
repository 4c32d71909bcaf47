"""Compaction: the warehouse rewritten into a fresh file, so what was deleted from it is gone from its bytes too.

DuckDB reuses the blocks a delete or an update frees, but does not clear them, and `VACUUM` does not either: a
customer an erasure removed from every table stays readable in the file (and in the serving copy `publish` copies
byte for byte) until those blocks happen to be overwritten. Copying the database into a new file
(`COPY FROM DATABASE`) writes only the rows that are there, so the night that carries out an erasure compacts the
warehouse before it publishes (`jobs.privacy`, docs/privacy.md).
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from daybreak.core.files import fsync, temporary_sibling
from daybreak.warehouse.connection import LOCK_WAIT_SECONDS, connect
from daybreak.warehouse.publish import remove_stale_temporaries

ALIAS = "compacted"


def compact(path: Path, *, wait_seconds: float = LOCK_WAIT_SECONDS) -> Path:
    """Rewrite the warehouse at `path` into a fresh file and rename it over `path`.

    The copy is made and renamed while this process holds the warehouse's write lock, so no writer can commit to
    the old file after it was copied: a writer waiting for the lock opens the path again and finds the new file
    (`connection.retry_while_locked`). The rename is atomic, so any process opening the path sees the old file
    or the whole new one; the new file is flushed to disk before it is renamed, and the rename after. A copy
    left by a killed compaction is removed by the next one; on any failure the old file stays as it was.
    """
    remove_stale_temporaries(path)
    staging = temporary_sibling(path)
    try:
        with connect(path, wait_seconds=wait_seconds) as connection:
            connection.execute("checkpoint")
            (database,) = connection.execute("select current_database()").fetchone()
            # ATTACH takes no parameters: the path is quoted as a SQL string, the names as identifiers
            connection.execute(f"attach {_literal(staging)} as {ALIAS}")
            try:
                connection.execute(f"copy from database {_identifier(database)} to {ALIAS}")
            finally:
                connection.execute(f"detach {ALIAS}")
            fsync(staging)
            os.replace(staging, path)
            fsync(path.parent)
    finally:
        for leftover in staging.parent.glob(glob.escape(staging.name) + "*"):
            leftover.unlink(missing_ok=True)
    return path


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
