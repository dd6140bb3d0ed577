"""Trending now: the terms rising fastest, leaderboards and alerts, refreshing by themselves."""

import streamlit as st

from pipeline.app import loaders
from pipeline.app.trending import render_trending
from pipeline.app.trending_view import KIND_CHOICES, KIND_LABELS, window_choices, window_label

st.title("Trending now")

configured = loaders.app_settings().trend_params()
windows = window_choices(configured)
controls = st.columns([2, 2, 2, 2, 3])  # room for the Pause label
interval = controls[0].selectbox(
    "Refresh every",
    [2, 5, 10, 30],
    index=1,
    format_func=lambda s: f"{s} s",
    key="trending_refresh_every",
)
paused = controls[1].toggle("Pause", key="trending_paused")
kind = controls[2].selectbox(
    "Show", KIND_CHOICES, format_func=KIND_LABELS.__getitem__, key="trending_kind"
)
window = controls[3].selectbox(
    "Window",
    windows,
    index=windows.index(configured.window),
    format_func=window_label,
    key="trending_window",
    help=f"Scored against the {window_label(configured.baseline)} before the window.",
)
clock = controls[4].radio(
    "Ending at",
    ["newest post", "wall clock"],
    key="trending_clock",
    horizontal=True,
    help="Newest post: a replay of past data ends at its newest post; live data ends now.",
)


@st.fragment(run_every=None if paused else interval)
def live() -> None:
    render_trending(kind, window, clock == "wall clock")


live()
