"""Daybreak's dashboards: the entry script that `streamlit run apps/streamlit/app.py` starts.

It only configures the app and routes: each page lives in `app_pages/`, and every query in `data.py`. Add a page
by writing `app_pages/<name>.py` and listing it in `PAGES` below.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

APP_DIR = Path(__file__).resolve().parent
if str(APP_DIR) not in sys.path:  # so pages can `import data` from any working directory
    sys.path.insert(0, str(APP_DIR))

PAGES = [
    st.Page(
        APP_DIR / "app_pages" / "overview.py",
        title="Overview",
        icon=":material/dashboard:",
        url_path="overview",
        default=True,
    ),
    st.Page(
        APP_DIR / "app_pages" / "forecast.py",
        title="Forecast explorer",
        icon=":material/show_chart:",
        url_path="forecast",
    ),
    st.Page(
        APP_DIR / "app_pages" / "segments.py", title="Segments", icon=":material/groups:", url_path="segments"
    ),
    st.Page(
        APP_DIR / "app_pages" / "model_health.py",
        title="Model health",
        icon=":material/monitor_heart:",
        url_path="model-health",
    ),
    st.Page(
        APP_DIR / "app_pages" / "review.py",
        title="Review (planners)",
        icon=":material/edit_note:",
        url_path="review",
    ),
    st.Page(
        APP_DIR / "app_pages" / "pipeline.py",
        title="Pipeline",
        icon=":material/account_tree:",
        url_path="pipeline",
    ),
]

st.set_page_config(page_title="Daybreak", page_icon=":material/wb_twilight:", layout="wide")
st.sidebar.markdown("### :material/wb_twilight: Daybreak")
st.navigation(PAGES).run()
