"""`daybreak airflow-init`: what the deployment's init service does before any other Airflow component starts.

It checks that every secret is set (a missing one stops startup here, naming it, instead of an Airflow component
failing later with a stack trace), migrates Airflow's metadata database, creates the writer pool, and writes the
two credential files the running services read, each readable by its owner only:

* the Airflow admin's password, for the simple auth manager (`AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE`);
* the dashboards' basic-auth file for the nginx proxy in front of Streamlit (salted SHA-1, `{SSHA}`, a format
  nginx reads natively; Streamlit itself has no login);
* the proxy's secret header, an nginx `proxy_set_header` line it includes, so Streamlit can tell a request that came
  through the proxy (with the user it authenticated) from one sent to it directly (`apps/streamlit/identity.py`).

Nothing has a default: the passwords come from the environment (docker-compose.yml takes them from `.env`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
from pathlib import Path

from daybreak.core.files import write_private
from daybreak.core.settings import PROXY_SECRET, PROXY_SECRET_HEADER
from daybreak.platform.airflow_env import prepare_metadata

REQUIRED = {
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "the metadata database's URL",
    "AIRFLOW__API_AUTH__JWT_SECRET": "the secret the api-server signs tokens with (shared by every component)",
    "AIRFLOW__CORE__FERNET_KEY": "the key Airflow encrypts connections and variables with",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": "where the admin's password is written",
    "AIRFLOW_ADMIN_PASSWORD": "the Airflow UI's admin password",
    "DASHBOARD_PASSWORD": "the dashboards' password (user `dashboards`)",
    "DASHBOARD_HTPASSWD_FILE": "where the dashboards' basic-auth file is written",
    "DAYBREAK_PSEUDONYM_KEY": "the key ingest pseudonymises customer ids with (docs/privacy.md)",
    "DAYBREAK_LINK_STORE_KEY": "the Fernet key of the customer link store (docs/privacy.md)",
    PROXY_SECRET: "the secret the dashboards' proxy proves itself to Streamlit with",
    "DASHBOARD_PROXY_FILE": "where the proxy's secret header line is written",
}
SECRET_FORMAT = re.compile(r"[A-Za-z0-9_-]{32,}")
"""What `secrets.token_urlsafe(32)` gives: safe to write into an nginx directive as is."""


class MissingSecretError(RuntimeError):
    """A variable the deployment needs is unset or empty."""


def check_environment(env: dict[str, str]) -> None:
    missing = [f"{name} ({why})" for name, why in REQUIRED.items() if not env.get(name)]
    if missing:
        raise MissingSecretError("cannot start: set these in .env (see .env.example): " + "; ".join(missing))
    if not SECRET_FORMAT.fullmatch(env[PROXY_SECRET]):
        raise MissingSecretError(
            f"cannot start: {PROXY_SECRET} must be at least 32 letters, digits, '-' or '_' "
            '(python -c "import secrets; print(secrets.token_urlsafe(32))")'
        )


def proxy_secret_line(secret: str) -> str:
    """The nginx directive that sends the proxy's secret to Streamlit (replacing any value a client sent)."""
    return f'proxy_set_header {PROXY_SECRET_HEADER} "{secret}";\n'


def ssha_entry(user: str, password: str, salt: bytes | None = None) -> str:
    """An htpasswd line in nginx's `{SSHA}` format: base64(sha1(password + salt) + salt)."""
    salt = salt if salt is not None else secrets.token_bytes(8)
    digest = hashlib.sha1(password.encode() + salt).digest()  # noqa: S324 - the format nginx reads
    return f"{user}:{{SSHA}}{base64.b64encode(digest + salt).decode()}\n"


def init_deployment(env: dict[str, str] | None = None) -> dict[str, str]:
    """Check the secrets, migrate, create the pool, write the credential files; what was written."""
    env = dict(os.environ if env is None else env)
    check_environment(env)
    prepare_metadata(env)
    passwords = Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
    write_private(passwords, json.dumps({"admin": env["AIRFLOW_ADMIN_PASSWORD"]}))
    htpasswd = Path(env["DASHBOARD_HTPASSWD_FILE"])
    write_private(htpasswd, ssha_entry("dashboards", env["DASHBOARD_PASSWORD"]))
    proxy = Path(env["DASHBOARD_PROXY_FILE"])
    write_private(proxy, proxy_secret_line(env[PROXY_SECRET]))
    return {
        "airflow_passwords": str(passwords),
        "dashboard_htpasswd": str(htpasswd),
        "dashboard_proxy": str(proxy),
    }
