"""Daybreak's dashboards: the entry script that `streamlit run apps/streamlit/app.py` starts.

It only configures the app and routes: each page lives in `app_pages/`, its queries in `data/<name>.py` (the
read-only window on the serving copy), who is viewing in `identity.py` and the planners' one write in
`planner_overrides.py`. Add a page by writing `app_pages/<name>.py` and listing it in `PAGES` below, with its URL
and the permission it needs, if any (`daybreak.core.roles`): the menu leaves out the pages the viewer's role cannot
use, and such a page opened by its URL says which role it needs. The sidebar says who is viewing, in which role,
and offers the OIDC login when one is configured.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

from daybreak.core.roles import Permission, RolesFileError

APP_DIR = Path(__file__).resolve().parent
if str(APP_DIR) not in sys.path:  # so pages can `import data` from any working directory
    sys.path.insert(0, str(APP_DIR))

import identity  # noqa: E402 - found through the path set above

# each page (file in app_pages/, title, icon, URL) with the permission it needs (None: every role); a section may
# need more, checked where it is drawn
PAGES = (
    ("overview", "Overview", "dashboard", "overview", None),
    ("forecast", "Forecast explorer", "show_chart", "forecast", None),
    ("segments", "Segments", "groups", "segments", None),
    ("model_health", "Model health", "monitor_heart", "model-health", None),
    ("review", "Review (planners)", "edit_note", "review", Permission.OVERRIDES),
    ("pipeline", "Pipeline", "account_tree", "pipeline", None),
)


def navigation() -> list[st.Page]:
    """Every page at its own URL, `/overview` included, the root leading to the Overview. A page the viewer's role
    cannot use is left out of the menu but still registered, so its URL shows the page's own role message rather
    than "Page not found"."""
    pages = [
        st.Page(
            APP_DIR / "app_pages" / f"{name}.py",
            title=title,
            icon=f":material/{icon}:",
            url_path=url,
            visibility="visible" if needs is None or identity.can(needs) else "hidden",
        )
        for name, title, icon, url, needs in PAGES
    ]

    def start() -> None:
        st.switch_page(pages[0])

    return [st.Page(start, title="Daybreak", url_path="start", default=True, visibility="hidden"), *pages]


def sidebar_identity() -> None:
    """Who is viewing and in which role; the OIDC login or logout when a provider is configured."""
    user = identity.current_user()
    if identity.auth_configured():
        if user.source == "anonymous":
            st.sidebar.button("Log in", on_click=st.login, icon=":material/login:")
        else:
            st.sidebar.button("Log out", on_click=st.logout)
    who = user.name or "not signed in"
    st.sidebar.caption(f"Viewing as **{who}**, role **{user.role}**")


# the browser tab's icon is a file of the app: a Material icon or an emoji would be fetched from Google's servers
st.set_page_config(page_title="Daybreak", page_icon=APP_DIR / "static" / "favicon.svg", layout="wide")
st.sidebar.markdown("### :material/wb_twilight: Daybreak")
try:
    sidebar_identity()
    pages = navigation()
except RolesFileError as error:  # refuse rather than guess who may see what
    st.error(f"**The dashboards cannot tell who may see what.** {error}", icon=":material/lock:")
    st.stop()
st.navigation(pages).run()
