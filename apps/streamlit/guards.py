"""Empty states shared by every page: what to say when nothing is published yet, or a table is not there yet.

A fresh install, a night that stopped before a step, or a table a newer release adds all look the same to a page:
data it needs is absent. Each page asks here first and shows the explanation (and what to do) instead of failing.
"""

from __future__ import annotations

import data
import streamlit as st

HOURGLASS = ":material/hourglass_empty:"


def published(*required_tables: str) -> bool:
    """Whether the serving file exists and holds `required_tables`; shows the reason and the fix when not."""
    if data.serving_version() is None:
        st.info(
            "**No nightly run has published data yet.**\n\n"
            f"The dashboards read the serving file `{data.serving_path()}`, which the pipeline's publish step "
            "writes at the end of every night. To publish a demo dataset now, run `make demo` from the project "
            "root, then reload this page.",
            icon=HOURGLASS,
        )
        return False
    if missing := data.missing_tables(*required_tables):
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
    version = data.serving_version()
    if version is not None:
        st.sidebar.caption(f"Data published {version.published_at:%a %d %b %Y, %H:%M}")
