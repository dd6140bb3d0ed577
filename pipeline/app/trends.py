"""The live part of the Topic trends page, as a function so tests can run it outside a fragment."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import streamlit as st

from pipeline.app import loaders
from pipeline.app.charts import share_donut, trend_lines


def step_for(window: timedelta) -> int:
    """About 60 points per line, on round steps."""
    for step in (60, 300, 900, 3600, 6 * 3600, 86400):
        if window.total_seconds() / step <= 90:
            return step
    return 86400


def render_trends(window: timedelta, wall_clock: bool, head_to_head: tuple[str, str]) -> None:
    newest = loaders.newest_post()
    if newest is None:
        st.info("No posts counted yet: start a source (`make run` starts the demo generator).")
        return
    end: datetime = loaders.now() if wall_clock else newest
    step = step_for(window)
    # Align the end to the step so the last bucket is whole, then include it.
    until = datetime.fromtimestamp((end.timestamp() // step + 1) * step, tz=end.tzinfo)
    since = until - window
    age = loaders.now() - newest
    st.caption(
        f"Newest counted post: {newest:%Y-%m-%d %H:%M:%S} UTC "
        f"({_freshness(age)}). Times are UTC; windows end at the "
        f"{'current time' if wall_clock else 'newest post'}."
    )

    totals = loaders.topic_totals()
    categories = tuple(sorted(totals))
    series = loaders.topic_series(categories, since - window, until, step)
    current = {c: sum(n for t, n in series[c] if t >= since) for c in categories}
    previous = {c: sum(n for t, n in series[c] if t < since) for c in categories}

    columns = st.columns(min(len(categories), 6) or 1)
    for index, category in enumerate(sorted(categories, key=lambda c: -current[c])):
        columns[index % len(columns)].metric(
            category,
            f"{current[category]:,}",
            delta=current[category] - previous[category],
            help=f"{totals[category]:,} posts in all",
        )

    left, right = st.columns([1, 2])
    left.altair_chart(share_donut(current), width="stretch")
    in_window = {c: [(t, n) for t, n in series[c] if t >= since] for c in categories}
    right.altair_chart(trend_lines(in_window, "Posts per category"), width="stretch")
    pair = {c: in_window[c] for c in head_to_head if c in in_window}
    st.altair_chart(trend_lines(pair, f"{head_to_head[0]} vs {head_to_head[1]}"), width="stretch")
    with st.expander("Counts as a table"):
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "category": c,
                        "in window": current[c],
                        "previous window": previous[c],
                        "all time": totals[c],
                    }
                    for c in categories
                ]
            ),
            hide_index=True,
        )


def _freshness(age: timedelta) -> str:
    if age < timedelta(0):
        return f"{_human(-age)} in the future: re-timed or future-dated input"
    return f"{_human(age)} ago"


def _human(age: timedelta) -> str:
    seconds = int(age.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"
