"""The link store: the one place a pseudonym leads back to a source customer id.

One file per dataset, `DAYBREAK_HOME/privacy/<dataset>.links`, outside the warehouse (so no serving copy, dbt
model or analyst's query can reach it), readable by its owner only and encrypted at rest with Fernet
(`cryptography`: AES-128-CBC with an HMAC-SHA256 tag) under `DAYBREAK_LINK_STORE_KEY`. Without the key it cannot
be read, and a wrong key is refused rather than misread. It holds, per pseudonym, the source id and the business
date ingest first saw it; ingest adds links before the lake is written (so a landed line always has its link),
and an erasure removes one. Every write rewrites the whole file atomically.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken

from daybreak.core.files import write_atomic, write_private
from daybreak.core.settings import link_store_key, pseudonym_key
from daybreak.privacy.pseudonyms import pseudonym

if TYPE_CHECKING:
    from daybreak.core.settings import Settings


class LinkStoreError(RuntimeError):
    """The link store cannot be read: the key is wrong, or the file is damaged."""


def store_path(settings: Settings) -> Path:
    return settings.home / "privacy" / f"{settings.dataset_name}.links"


@dataclass
class LinkStore:
    """The links of one dataset in memory: pseudonym -> (source id, first seen business date)."""

    path: Path
    key: bytes
    links: dict[str, tuple[str, str]]

    @classmethod
    def open(cls, settings: Settings, key: bytes | None = None) -> LinkStore:
        """Read and decrypt the store (empty when none was written yet).

        Raises:
            SettingsError: `DAYBREAK_LINK_STORE_KEY` is unset (and no key was given).
            LinkStoreError: the key does not open the file.
        """

        key = key if key is not None else link_store_key()
        path = store_path(settings)
        if not path.exists():
            return cls(path, key, {})
        try:
            plain = _fernet(key).decrypt(path.read_bytes())
        except (InvalidToken, ValueError) as error:
            raise LinkStoreError(
                f"{path}: cannot decrypt the link store with DAYBREAK_LINK_STORE_KEY (wrong key or damaged file)"
            ) from error
        return cls(path, key, {p: (s, d) for p, (s, d) in json.loads(plain).items()})

    def add(self, links: dict[str, str], first_seen: dt.date) -> bool:
        """Add source id -> pseudonym links not yet stored; whether any was new."""
        new = {p: (s, first_seen.isoformat()) for s, p in links.items() if p not in self.links}
        self.links.update(new)
        return bool(new)

    def remove(self, pseudonym: str) -> bool:
        return self.links.pop(pseudonym, None) is not None

    def source_id(self, pseudonym: str) -> str | None:
        link = self.links.get(pseudonym)
        return link[0] if link else None

    def save(self) -> None:
        """Encrypt and write the whole store atomically, owner-readable only."""
        token = _fernet(self.key).encrypt(json.dumps(self.links, sort_keys=True).encode("utf-8"))
        write_atomic(self.path, lambda staging: write_private(staging, token))


def lookup(settings: Settings, source_id: str) -> dict | None:
    """A customer by source id: its pseudonym and first seen date, or None when ingest never linked it (or an
    erasure removed the link). The roles that may look customers up call this (docs/privacy.md)."""

    store = LinkStore.open(settings)
    code = pseudonym(source_id, pseudonym_key())
    link = store.links.get(code)
    if link is None or link[0] != source_id:
        return None
    return {"pseudonym": code, "first_seen": link[1]}


def _fernet(key: bytes):

    try:
        return Fernet(key)
    except ValueError as error:
        raise LinkStoreError(
            "DAYBREAK_LINK_STORE_KEY is no Fernet key (32 url-safe base64-encoded bytes; "
            "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)"
        ) from error
