"""Topic trends: counts, market share and trend lines per category, refreshing by themselves."""

from datetime import timedelta

import streamlit as st

from pipeline.app import loaders
from pipeline.app.periods import window_label
from pipeline.app.trends import render_trends

WINDOWS: list[timedelta | None] = [
    None,
    timedelta(hours=1),
    timedelta(hours=6),
    timedelta(days=1),
    timedelta(days=7),
    timedelta(days=30),
    timedelta(days=365),
]

st.title("Topic trends")

controls = st.columns([2, 2, 2, 3])
interval = controls[0].selectbox(
    "Refresh every", [2, 5, 10, 30], index=1, format_func=lambda s: f"{s} s", key="refresh_every"
)
paused = controls[1].toggle("Pause", key="paused")
window = controls[2].selectbox(
    "Window",
    WINDOWS,
    index=0,
    format_func=lambda d: "fit to the data" if d is None else window_label(d),
    key="window",
    help="Fit to the data: the last hour of live data, or a replay's whole span.",
)
clock = controls[3].radio("Ending at", ["newest post", "wall clock"], key="clock", horizontal=True)

lexicon = loaders.lexicon()
categories = sorted(lexicon.categories, key=lexicon.label)
pair = st.columns(2)
first = pair[0].selectbox(
    "Head to head", categories, index=0, format_func=lexicon.label, key="h2h_a"
)
second = pair[1].selectbox(
    "against",
    categories,
    index=min(1, len(categories) - 1),
    format_func=lexicon.label,
    key="h2h_b",
)


@st.fragment(run_every=None if paused else interval)
def live() -> None:
    render_trends(window, clock == "wall clock", (first, second))


live()
