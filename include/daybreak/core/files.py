"""Files a reader may open at any moment: written beside the target and renamed over it, never seen half-written.

The one implementation of the atomic write (lake Parquet, landed copies, models, reports, JSON summaries, the
simulator's exports) and of the JSON encoding Daybreak writes (dates as ISO text, numpy scalars as numbers).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

PRIVATE_UMASK = 0o077
"""The file-creation mask Daybreak runs under: what it creates under the data home (the warehouse, the serving
copy, the lake, reports, logs, the erasure log) is its own user's only, files 0600 and folders 0700. The data
is customer-level and pseudonymised: another account on the machine has no business reading it."""


@contextlib.contextmanager
def private_files() -> Iterator[None]:
    """Run the block under `PRIVATE_UMASK` (every `daybreak` command does, and so the processes it starts: the
    demo's Airflow and Streamlit); the mask before is restored after."""
    previous = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


def write_atomic(target: Path, write: Callable[[Path], None]) -> Path:
    """Call `write(staging)` for a temporary sibling of `target`, then rename it over `target`.

    A rename within a folder is atomic, so a reader sees the previous file or the new one; a writer killed
    half-way leaves only a hidden `.tmp` file, which the next write replaces (the name holds the process id).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = temporary_sibling(target)
    try:
        write(staging)
        os.replace(staging, target)
    finally:
        staging.unlink(missing_ok=True)
    return target


def fsync(path: Path) -> None:
    """Flush a file's data, or a folder's entries (a rename in it), to the disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def temporary_sibling(path: Path) -> Path:
    """A hidden name beside `path` for a copy being written, naming this process, so a leftover of a killed
    process can be told from a live writer's (`warehouse.remove_stale_temporaries`)."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Serialise the writers of an append-only log (the dashboard's sessions, the CLI, the night) so no appended
    line is lost: an exclusive lock on a hidden sibling file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / f".{path.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def write_private(path: Path, data: str | bytes) -> None:
    """Write `data` (text as UTF-8) to a file only its owner can read, created that way (never briefly
    world-readable): credentials, generated keys, the encrypted link store."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data.encode("utf-8") if isinstance(data, str) else data)
    path.chmod(0o600)


def write_text_atomic(target: Path, text: str) -> Path:
    """`write_atomic` for UTF-8 text, line endings as given (the same text gives the same bytes everywhere)."""
    return write_atomic(target, lambda path: path.write_text(text, encoding="utf-8", newline=""))


def write_json(target: Path, payload: Any) -> Path:
    """`payload` as indented, key-sorted JSON, atomically (the same payload always gives the same bytes)."""
    return write_text_atomic(target, dumps(payload, indent=2) + "\n")


def dumps(value: Any, **options: Any) -> str:
    """Stable JSON text (sorted keys) of values that may hold dates and numpy scalars."""
    return json.dumps(value, sort_keys=True, default=json_default, **options)


def json_default(value: Any) -> Any:
    """What `json` cannot encode itself: dates as ISO text, numpy scalars as Python numbers."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
