"""Cached data loaders for the Streamlit pages.

They live in this imported module, not in page bodies: Streamlit keys its caches by function
identity, and two pages defining look-alike functions would otherwise share or clash.
"""

from __future__ import annotations

import streamlit as st

from pipeline.settings import Settings, get_settings
from pipeline.stack import manager


@st.cache_resource
def app_settings() -> Settings:
    return get_settings()


@st.cache_data(ttl=5, show_spinner=False)
def stack_health() -> list[dict[str, object]]:
    return [status.to_json() for status in manager.status(app_settings())]
