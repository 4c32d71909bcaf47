"""Empty states shared by every page: what to say when nothing is published yet, a table is not there yet, or
the viewer's role does not include a section.

A fresh install, a night that stopped before a step, or a table a newer release adds all look the same to a page:
data it needs is absent. Each page asks here first and shows the explanation (and what to do) instead of failing.
A section its viewer's role cannot see says so in its place (`allowed`); the data access enforces the same
permission (`identity.require`), so a page that skipped the question would show a refusal, never the data.
"""

from __future__ import annotations

import identity
import streamlit as st
from data import serving

from daybreak.core.roles import GRANTS, Permission, Role

HOURGLASS = ":material/hourglass_empty:"
LOCK = ":material/lock:"


def published(*required_tables: str) -> bool:
    """Whether the serving file exists and holds `required_tables`; shows the reason and the fix when not."""
    if serving.serving_version() is None:
        st.info(
            "**No nightly run has published data yet.**\n\n"
            f"The dashboards read the serving file `{serving.serving_path()}`, which the pipeline's publish step "
            "writes at the end of every night. To publish a demo dataset now, run `make demo` from the project "
            "root, then reload this page.",
            icon=HOURGLASS,
        )
        return False
    if missing := serving.missing_tables(*required_tables):
        st.info(
            f"**The published data has no {', '.join(f'`{t}`' for t in missing)} yet.** The last nightly run "
            "stopped before writing it, or the step that writes it has not run yet; this page fills in after the "
            "next complete run (or `make demo`).",
            icon=HOURGLASS,
        )
        return False
    return True


def nothing_yet(what: str, fix: str) -> None:
    """A table exists but holds nothing for this view."""
    st.info(f"**{what}**\n\n{fix}", icon=HOURGLASS)


def published_caption() -> None:
    """The sidebar line saying when the data was published."""
    version = serving.serving_version()
    if version is not None:
        st.sidebar.caption(f"Data published {version.published_at:%a %d %b %Y, %H:%M}")


def allowed(permission: Permission, what: str) -> bool:
    """Whether the viewer's role grants `permission`; when not, says in place of the section which role would
    (`what` names the section), or asks an OIDC user who has not signed in yet to sign in."""
    if identity.can(permission):
        return True
    user = identity.current_user()
    holders = " or ".join(f"**{role}**" for role in Role if permission in GRANTS[role])
    if user.source == "anonymous" and identity.auth_configured():
        st.info(f"**Sign in** (in the sidebar) to see {what}.", icon=LOCK)
    else:
        st.info(
            f"**{what[0].upper()}{what[1:]}: not for your role.** You are **{user.name or 'not signed in'}**, "
            f"role **{user.role}**; it needs the permission `{permission}` ({permission.description}), which "
            f"{holders} have. An admin grants roles in the roles file (docs/privacy.md).",
            icon=LOCK,
        )
    return False
