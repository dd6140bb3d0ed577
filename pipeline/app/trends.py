"""The live part of the Topic trends page, as a function so tests can run it outside a fragment."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from pipeline.app import loaders
from pipeline.app.charts import share_donut, trend_lines
from pipeline.app.html_metrics import Metric, metric_cards
from pipeline.app.html_table import Column, html_table
from pipeline.app.periods import (
    LIVE_WINDOW,
    change,
    fit_window,
    human,
    is_live,
    posts_between,
    window_label,
)
from pipeline.app.svg_chart import FULL_WIDTH, Drawing, draw_all
from pipeline.views import bucket_series

# "change" reads "+12%" or "new": text, aligned with the counts beside it.
COUNT_COLUMNS = (
    Column("category"),
    *(Column(key, numeric=True) for key in ("in window", "previous period", "change", "all time")),
)


def render_trends(
    chosen: timedelta | None, wall_clock: bool, head_to_head: tuple[str, str]
) -> None:
    """Metrics, share and trend lines over the ``chosen`` window (None: fitted to the data)."""
    span = loaders.post_span()
    if span is None:
        st.info("No posts counted yet: start a source (`make run` starts the demo generator).")
        return
    oldest, newest = span
    now = loaders.now()
    minutes = loaders.topic_minutes()
    live = is_live(
        newest,
        now,
        lambda: posts_between(minutes, newest - LIVE_WINDOW, newest + timedelta(minutes=1)),
    )
    if wall_clock and not live:
        # Asked to end at the wall clock although the data is not live: the same length, now.
        length = chosen or fit_window(oldest, newest, now, live=False).length
        window = fit_window(oldest, now, now, length, live=True)
    else:
        window = fit_window(oldest, newest, now, chosen, live=live)
    lexicon = loaders.lexicon()
    label = lexicon.label
    age = now - newest
    freshness = f"{human(age)} ago" if age >= timedelta(0) else f"{human(-age)} in the future"
    kind = "live data" if live else "a replay or past data"
    st.caption(
        f"Newest counted post: {newest:%Y-%m-%d %H:%M:%S} UTC ({freshness}; {kind}). "
        f"Showing {window_label(window.length)} up to {window.until:%Y-%m-%d %H:%M} UTC, "
        f"compared with the {window_label(window.length)} before."
    )

    categories = tuple(sorted(minutes))
    totals = {c: sum(minutes[c].values()) for c in categories}
    series = {
        c: bucket_series(
            minutes[c].items(), window.since - window.length, window.until, window.step
        )
        for c in categories
    }
    current = {c: sum(n for t, n in series[c] if t >= window.since) for c in categories}
    previous = {c: sum(n for t, n in series[c] if t < window.since) for c in categories}

    ranked = sorted(categories, key=lambda c: (-current[c], label(c)))
    metrics = [
        Metric(
            label(category),
            f"{current[category]:,}",
            delta=change(current[category], previous[category]),
            help=f"{previous[category]:,} in the previous period; "
            f"{totals[category]:,} posts in all",
        )
        for category in ranked
    ]
    st.html(metric_cards(metrics, per_row=5))

    if not any(current.values()):
        st.info(
            f"No post mentions any of the {len(categories)} categories in this window. "
            "Pick a longer window, or wait for new posts."
        )
        return
    in_window = {label(c): [(t, n) for t, n in series[c] if t >= window.since] for c in categories}
    left, right = st.columns([1, 2])
    colours = sorted(label(c) for c in categories)  # one colour per category on every chart
    # Drawn at about their columns' share of the page's width (1 : 2), then fitted to them.
    first, second = head_to_head
    pair = {label(c): in_window[label(c)] for c in (first, second) if c in categories}
    draw_all(
        [
            Drawing(
                left, share_donut({label(c): current[c] for c in ranked}, colours), FULL_WIDTH // 3
            ),
            Drawing(
                right, trend_lines(in_window, "Posts per category", colours), FULL_WIDTH * 2 // 3
            ),
            Drawing(
                st,
                trend_lines(pair, f"{label(first)} vs {label(second)}", colours),
                FULL_WIDTH,
                220,
            ),
        ]
    )
    with st.expander("Counts as a table"):
        rows = [
            {
                "category": label(c),
                "in window": current[c],
                "previous period": previous[c],
                "change": change(current[c], previous[c]) or "",
                "all time": totals[c],
            }
            for c in ranked
        ]
        st.html(html_table(rows, COUNT_COLUMNS))
