"""Pseudonymised customer keys: a keyed hash of the source id, computed at ingest and nowhere else.

HMAC-SHA256 under a secret key (`DAYBREAK_PSEUDONYM_KEY`), so the same customer gets the same pseudonym every
night (segments stay stable, returns stay linked to their sales) while nobody without the key can compute one
from a known id, or reverse one. Truncated to 80 bits: collisions among even millions of customers are
vanishingly unlikely, and the ids stay short enough to read in a dashboard.
"""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd

from daybreak.core.vocabulary import FLOAT_SUFFIX

PREFIX = "c_"
HEX_CHARS = 20


def pseudonym(source_id: str, key: bytes) -> str:
    """The pseudonym of one source customer id: `c_` and 20 hex characters of HMAC-SHA256(key, id)."""
    digest = hmac.new(key, source_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return PREFIX + digest[:HEX_CHARS]


def pseudonym_map(source_ids: pd.Series, key: bytes) -> dict[str, str]:
    """Source id -> pseudonym for every distinct non-missing id in `source_ids` (each hashed once)."""
    return {source: pseudonym(source, key) for source in source_ids.dropna().unique()}


def canonical_id(value: object) -> str | None:
    """A raw export value as the canonical mapping reads a customer id (None when missing or empty)."""
    if not isinstance(value, str) or not value.strip():
        return None
    return FLOAT_SUFFIX.sub("", value.strip())
