"""Each champion's reference: the sample of the data it was trained on, stored once when it is promoted.

Drift is only meaningful against what a model learned from, so monitoring compares every night with the serving
champion's own training data rather than with "the weeks before". When a version is promoted, `store` writes a
deterministic sample of its training rows to `<DAYBREAK_HOME>/references/<dataset>/<kind>/<version>.parquet` (one
file per kind and version; a `model_id` column says which model a row belongs to) and one
`monitoring.model_references` row per model naming the window and the sampling rule. A rerun of the night finds
the rows and writes nothing, so the reference of a version never changes once stored.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from daybreak.core.files import write_atomic
from daybreak.warehouse import tables
from daybreak.warehouse.schemas.monitoring import MODEL_REFERENCES as TABLE

if TYPE_CHECKING:
    import duckdb

    from daybreak.core.settings import Settings

SEED = "daybreak-refs-v1"
"""The sampling seed: 16 characters, the hash key pandas' `hash_array` takes."""


def directory(settings: Settings) -> Path:
    """Where a dataset's reference samples live: `<DAYBREAK_HOME>/references/<dataset>`."""
    return settings.home / "references" / settings.dataset_name


def sampling_rule(rows: int, key: str) -> str:
    """The rule in words, stored beside the sample so anyone can redraw it."""
    return (
        f"the {rows} rows with the smallest pandas.util.hash_array(str({key}), hash_key={SEED!r}); "
        "all rows when fewer"
    )


def sample(frame: pd.DataFrame, rows: int, key: str) -> pd.DataFrame:
    """At most `rows` rows of `frame`, chosen by the hash of `key` (the same rows on every run), in key order.

    Args:
        frame: the training rows.
        rows: the most rows kept.
        key: the column (or columns joined) identifying a row, e.g. `customer_id`.
    """
    if len(frame) <= rows:
        return frame.reset_index(drop=True)
    keys = frame[key].astype(str).to_numpy()
    hashes = pd.util.hash_array(keys, hash_key=SEED)
    chosen = frame.iloc[sorted(hashes.argsort(kind="stable")[:rows])]
    return chosen.reset_index(drop=True)


def store(
    connection: duckdb.DuckDBPyConnection,
    directory: Path,
    *,
    model_kind: str,
    version: str,
    frame: pd.DataFrame,
    window: tuple[dt.date, dt.date],
    rule: str,
    source_rows: int,
    promoted_on: dt.date,
    run_id: str,
) -> int:
    """Store the promoted models' reference sample once; returns how many models got a new reference.

    Args:
        directory: `<DAYBREAK_HOME>/references/<dataset>`.
        frame: the sample, with a `model_id` column (one value per promoted model).
        window: the first and last day the sample was drawn from.
        rule: `sampling_rule(...)`.
        source_rows: rows the sample was drawn from.
    """
    tables.ensure(connection, TABLE)
    known = {
        row[0]
        for row in connection.execute(
            f"select model_id from {TABLE.qualified} where model_kind = ? and version = ?",  # noqa: S608
            [model_kind, version],
        ).fetchall()
    }
    new = frame[~frame["model_id"].isin(known)]
    if new.empty:
        return 0
    path = directory / model_kind / f"{version}.parquet"
    # a night that promoted in two steps keeps the earlier models' rows and adds the new ones
    new_all = pd.concat([pd.read_parquet(path), new], ignore_index=True) if path.exists() else new
    write_atomic(path, lambda staging: new_all.to_parquet(staging, index=False))
    counts = new.groupby("model_id").size()
    rows = pd.DataFrame(
        {
            "model_kind": model_kind,
            "model_id": counts.index.astype(str),
            "version": version,
            "reference_start": window[0],
            "reference_end": window[1],
            "sampling_rule": rule,
            "source_rows": source_rows,
            "sample_rows": counts.to_numpy(),
            "path": str(path),
            "promoted_on": promoted_on,
            "run_id": run_id,
        }
    )
    connection.register("new_references", TABLE.check(TABLE.conform(rows)))
    try:
        connection.execute(f"insert into {TABLE.qualified} select * from new_references")  # noqa: S608
    finally:
        connection.unregister("new_references")
    return len(counts)


def load(
    connection: duckdb.DuckDBPyConnection, model_kind: str, versions: dict[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The references of the given champions.

    Args:
        versions: model_id -> the champion's version.

    Returns:
        the `monitoring.model_references` rows found, and their samples concatenated (column `model_id`); models
        without a stored reference are absent from both.
    """
    if not versions or not tables.exists(connection, TABLE.qualified):
        return TABLE.empty(), pd.DataFrame()
    rows = connection.execute(
        f"select * from {TABLE.qualified} where model_kind = ? order by model_id, version",  # noqa: S608
        [model_kind],
    ).df()
    rows = rows[[versions.get(m) == v for m, v in zip(rows["model_id"], rows["version"], strict=True)]].copy()
    for column in ("reference_start", "reference_end", "promoted_on"):
        rows[column] = pd.to_datetime(rows[column]).dt.date
    samples = []
    for path, group in rows.groupby("path", sort=True):
        sample_frame = read_sample(Path(path))
        samples.append(sample_frame[sample_frame["model_id"].isin(set(group["model_id"]))])
    return rows.reset_index(drop=True), (pd.concat(samples, ignore_index=True) if samples else pd.DataFrame())


_SAMPLES: dict[tuple[str, int, int], pd.DataFrame] = {}
"""Reference samples read in this process, by path (one per kind and version), modification time and size."""


def read_sample(path: Path) -> pd.DataFrame:
    """A version's stored sample, read once per process: every night of a backfill run in one process compares with
    the same champions' samples. Keyed by the file's version path and its modification time and size, so a sample
    a later promotion step added models to (`store`) is read again. Callers get a copy to change as they like."""
    status = path.stat()
    key = (str(path), status.st_mtime_ns, status.st_size)
    if key not in _SAMPLES:
        for stale in [k for k in _SAMPLES if k[0] == key[0]]:
            del _SAMPLES[stale]
        _SAMPLES[key] = pd.read_parquet(path)
    return _SAMPLES[key].copy()
