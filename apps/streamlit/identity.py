"""Who is viewing the dashboards, their role, and the checks every customer-level read and every write makes.

Roles are enforced in the data access, not in the pages (`daybreak.core.roles`): every function that returns
customer-level rows (customer ids, one customer's segments, quarantined raw rows, Evidently reports that profile
the customer column) and every override write calls `require` first, which raises `PermissionDenied` without the
permission; a page that forgot to hide a section therefore shows a refusal, never the data. Pages ask `can(...)`
to hide what the role cannot use.

Who is viewing (`current_user`): the OIDC login when `[auth]` is configured in `.streamlit/secrets.toml`; else,
behind the production reverse proxy (`DAYBREAK_USER_HEADER` set), the user the proxy authenticated, from that
request header; else, a local single-user app, `DAYBREAK_USER` or the operating-system user. The roles file gives
the role; anyone it does not list is a viewer. Any client can send a header, so with `DAYBREAK_PROXY_SECRET` set
(docker-compose.yml sets it) the user header counts only on a request that also carries that secret in
`X-Daybreak-Proxy-Secret`, which the proxy adds and a client reaching Streamlit some other way cannot know: such
a client is nobody, a viewer.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st

from daybreak.core import roles
from daybreak.core.roles import Permission
from daybreak.core.settings import PROXY_SECRET_HEADER, get_settings, proxy_secret

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True)
class User:
    """Who is viewing, how they were identified, and their role.

    Attributes:
        name: the login's e-mail, the proxy's user or the local user; None when nobody is identified (an OIDC
            app before login, a proxy request without the header), who is a viewer.
        source: `login`, `proxy`, `local` or `anonymous`.
        role: from the roles file.
    """

    name: str | None
    source: str
    role: roles.Role


def auth_configured() -> bool:
    """Whether an identity provider is configured for `st.login` (an `[auth]` section in secrets.toml)."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        return False


def _request_headers() -> Mapping[str, str]:
    """The headers of the browser session's first request (through the proxy, with the header it sets)."""
    return st.context.headers


def current_user() -> User:
    """Who is viewing now, and their role (see the module's docstring for the order the sources are tried in).

    Raises:
        RolesFileError: the roles file is not valid.
    """
    settings = get_settings()
    if auth_configured():
        name = (st.user.get("email") or st.user.get("name")) if st.user.get("is_logged_in", False) else None
        source = "login"
    elif settings.user_header:
        headers = _request_headers()
        name = (headers.get(settings.user_header) or None) if _through_the_proxy(headers) else None
        source = "proxy"
    else:
        name, source = roles.local_user(settings), "local"
    if not name:
        return User(None, "anonymous", roles.LEAST)
    return User(str(name), source, roles.role_of(str(name), settings.roles_path))


def _through_the_proxy(headers: Mapping[str, str]) -> bool:
    """Whether the request carries the proxy's secret (compared in constant time); True when none is set."""
    expected = proxy_secret()
    if expected is None:
        return True
    return hmac.compare_digest(headers.get(PROXY_SECRET_HEADER, "").encode(), expected.encode())


def can(permission: Permission) -> bool:
    """Whether the viewing user's role grants `permission` (for pages deciding what to show)."""
    return roles.allows(current_user().role, permission)


def require(permission: Permission) -> User:
    """The viewing user, when their role grants `permission`: what a customer-level read or a write calls first.

    Raises:
        PermissionDenied: naming the user, the role and the permission.
    """
    user = current_user()
    roles.require(user.role, permission, user.name or "an anonymous user")
    return user
