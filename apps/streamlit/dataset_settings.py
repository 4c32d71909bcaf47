"""What the pages take from the active dataset's config (`daybreak.datasets`), rather than from the published data:
the currency its money is in.

The config is read, not the serving copy, since no table records it; a config that does not load leaves the pages
as they are without it (plain numbers): the dashboards show the published data whatever the config's state, and
`daybreak config check` names the fault.
"""

from __future__ import annotations

import streamlit as st

from daybreak.core.settings import DatasetConfigError, get_settings
from daybreak.datasets import load_dataset_config

CONFIG_TTL_SECONDS = 300


@st.cache_data(ttl=CONFIG_TTL_SECONDS, show_spinner=False)
def _currency(dataset: str) -> str | None:
    try:
        return load_dataset_config(dataset).currency
    except DatasetConfigError:
        return None


def currency() -> str | None:
    """The ISO code of the dataset's currency (`currency:` in its config, `EUR`), or None when it names none."""
    return _currency(get_settings().dataset)
