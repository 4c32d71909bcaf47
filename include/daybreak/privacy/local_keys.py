"""The privacy keys of a local demo: generated once for a fresh data home, kept beside the demo's other secrets.

A deployment sets `DAYBREAK_PSEUDONYM_KEY` and `DAYBREAK_LINK_STORE_KEY` itself (docker compose passes them from
`.env`). `daybreak demo` on a laptop should need nothing, so for a data home that has never ingested anything it
generates both keys into `DAYBREAK_HOME/secrets/` (owner-readable only, outside the warehouse and the lake) and
puts them into this process's environment, which Airflow's components inherit. A data home that already holds
pseudonyms but has lost its key file gets an error instead of a new key: a new key would give every customer a
second pseudonym.
"""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet

from daybreak.core.environment import read
from daybreak.core.files import write_private
from daybreak.core.settings import LINK_STORE_KEY, PSEUDONYM_KEY, SettingsError

if TYPE_CHECKING:
    from pathlib import Path

    from daybreak.core.settings import Settings


def _new_fernet_key() -> str:

    return Fernet.generate_key().decode()


GENERATORS = {PSEUDONYM_KEY: lambda: secrets.token_hex(32), LINK_STORE_KEY: _new_fernet_key}


def key_file(settings: Settings, variable: str) -> Path:
    return settings.home / "secrets" / variable.lower()


def ensure_local_keys(settings: Settings) -> dict[str, str]:
    """Set each privacy key in the environment: as already set, else from its file, else newly generated (only
    for a data home without a lake). Returns where each came from (`environment`, the file, or `generated`).

    Raises:
        SettingsError: a key is in neither the environment nor its file, but the lake already holds data.
    """
    fresh = not settings.lake_dir.exists()
    origin = {}
    for variable, generate in GENERATORS.items():
        if read(variable):
            origin[variable] = "environment"
            continue
        path = key_file(settings, variable)
        if path.exists():
            origin[variable] = str(path)
        elif fresh:
            write_private(path, generate() + "\n")
            origin[variable] = "generated"
        else:
            raise SettingsError(
                f"{variable} is not set and {path} does not exist, but {settings.lake_dir} already holds data: "
                "set the key it was ingested with (a new key would give every customer a second pseudonym), or "
                "start from a fresh home (`make clean-data`; a home ingested before pseudonyms holds source ids)"
            )
        os.environ[variable] = path.read_text().strip()
    return origin
