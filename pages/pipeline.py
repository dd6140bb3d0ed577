"""Pipeline: launch a batch refresh, follow its progress, and see the health of every part."""

import hmac

import streamlit as st

from pipeline.app import loaders
from pipeline.app.pipeline_view import render_health, render_processes, render_runs
from pipeline.batch_requests import RequestRefused

st.title("Pipeline")
status = loaders.pipeline_status()
runs = status["runs"]
active = any(run["status"] == "running" for run in runs)  # type: ignore[index,union-attr]

settings = loaders.app_settings()
token_ok = True
if settings.admin_token is not None:
    token = st.text_input("Admin token", type="password", key="admin_token")
    # An empty answer never passes (settings refuse an empty token, too). The comparison takes
    # constant time: how long a wrong guess takes tells nothing about the token.
    token_ok = bool(token) and hmac.compare_digest(
        token.encode(), settings.admin_token.get_secret_value().encode()
    )
if st.button(
    "Refresh batch views now",
    disabled=active or not token_ok,
    help="Files a request; the batch scheduler runs it and this page shows its progress. "
    "One request at a time, at most one a minute.",
    key="refresh_batch",
):
    try:
        request = loaders.request_batch("app")
    except RequestRefused as refused:
        st.info(f"Not filed: {refused.message}.")
    else:
        st.success(f"Refresh requested ({request}).")

render_runs(runs)  # type: ignore[arg-type]
render_health(status)
render_processes()
