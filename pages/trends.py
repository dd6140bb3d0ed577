"""Topic trends: counts, market share and trend lines per category, refreshing by themselves."""

from datetime import timedelta

import streamlit as st

from pipeline.app import loaders
from pipeline.app.trends import render_trends

st.title("Topic trends")

controls = st.columns([2, 2, 2, 2])
interval = controls[0].selectbox(
    "Refresh every", [2, 5, 10, 30], index=1, format_func=lambda s: f"{s} s", key="refresh_every"
)
paused = controls[1].toggle("Pause", key="paused")
window = controls[2].selectbox(
    "Window",
    [
        timedelta(hours=1),
        timedelta(hours=6),
        timedelta(days=1),
        timedelta(days=7),
        timedelta(days=30),
        timedelta(days=365),
    ],
    index=4,
    format_func=lambda d: (
        f"{d.days} days" if d.days > 1 else ("1 day" if d.days else f"{d.seconds // 3600} h")
    ),
    key="window",
)
clock = controls[3].radio(
    "Relative to", ["newest post", "wall clock"], key="clock", horizontal=True
)

categories = sorted(loaders.topic_totals())
pair = st.columns(2)
first = pair[0].selectbox("Head to head", categories, index=0, key="h2h_a")
second = pair[1].selectbox("against", categories, index=min(1, len(categories) - 1), key="h2h_b")


@st.fragment(run_every=None if paused else interval)
def live() -> None:
    render_trends(window, clock == "wall clock", (first, second))


live()
