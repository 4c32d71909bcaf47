"""Pseudonymised customer keys: a keyed hash of the source id, computed at ingest and nowhere else.

HMAC-SHA256 under a secret key (`DAYBREAK_PSEUDONYM_KEY`), so the same customer gets the same pseudonym every
night (segments stay stable, returns stay linked to their sales) while nobody without the key can compute one
from a known id, or reverse one. Truncated to 80 bits: collisions among even millions of customers are
vanishingly unlikely, and the ids stay short enough to read in a dashboard.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from typing import TYPE_CHECKING

import pandas as pd

from daybreak.canonical import FLOAT_SUFFIX

if TYPE_CHECKING:
    from daybreak.canonical import FileResult
    from daybreak.datasets import DatasetConfig

PREFIX = "c_"
HEX_CHARS = 20


def pseudonym(source_id: str, key: bytes) -> str:
    """The pseudonym of one source customer id: `c_` and 20 hex characters of HMAC-SHA256(key, id)."""
    digest = hmac.new(key, source_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return PREFIX + digest[:HEX_CHARS]


def pseudonym_map(source_ids: pd.Series, key: bytes) -> dict[str, str]:
    """Source id -> pseudonym for every distinct non-missing id in `source_ids` (each hashed once)."""
    return {source: pseudonym(source, key) for source in source_ids.dropna().unique()}


def pseudonymise(result: FileResult, config: DatasetConfig, key: bytes) -> tuple[FileResult, dict[str, str]]:
    """A landed file's result with every customer id replaced by its pseudonym, and the links it made.

    The loaded lines' `customer_id` and, in the quarantined rows' `raw_values`, the export column the config maps
    to customer_id (the id as `to_canonical` reads it: stripped, a float's `.0` dropped) are replaced; missing
    or empty ids stay missing. A malformed row's raw text cannot be split into fields and is kept as it arrived
    (an erasure scrubs it: `daybreak.privacy.erasure`).

    Returns:
        the result, and source id -> pseudonym for every id it holds.
    """
    loaded = result.loaded
    ids = loaded["customer_id"] if "customer_id" in loaded.columns else pd.Series(dtype=object)
    links = pseudonym_map(ids, key)
    if len(loaded):
        loaded = loaded.assign(customer_id=ids.map(links))
    quarantined = result.quarantined
    column = config.columns.get("customer_id")
    if column and len(quarantined) and "raw_values" in quarantined.columns:
        values = [json.loads(text) for text in quarantined["raw_values"]]
        for row in values:
            source = canonical_id(row.get(column))
            if source is not None:
                links.setdefault(source, pseudonym(source, key))
                row[column] = links[source]
        quarantined = quarantined.assign(raw_values=[json.dumps(r, ensure_ascii=False) for r in values])
    return dataclasses.replace(result, loaded=loaded, quarantined=quarantined), links


def canonical_id(value: object) -> str | None:
    """A raw export value as the canonical mapping reads a customer id (None when missing or empty)."""
    if not isinstance(value, str) or not value.strip():
        return None
    return FLOAT_SUFFIX.sub("", value.strip())
