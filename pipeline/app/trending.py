"""The live part of the Trending now page, as a function so tests can run it outside a fragment.

Terms come from posts: anything that shows one in Markdown (captions, sentences) passes it through
:func:`markdown_literal`; tables, select boxes and chart titles show text as text.
"""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from pipeline.app import loaders
from pipeline.app.charts import term_timeline
from pipeline.app.html_table import Column, columns_of, html_table
from pipeline.app.params import markdown_literal
from pipeline.app.periods import LIVE_WINDOW, human, is_live, posts_between
from pipeline.app.svg_chart import FULL_WIDTH, draw
from pipeline.app.trending_view import (
    KIND_LABELS,
    ending_at,
    explanation,
    leaderboard_rows,
    quiet_sentence,
    trending_rows,
)
from pipeline.trending import HASHTAG, MENTION, Trending
from pipeline.views import floor_time

RANKING_COLUMNS = (
    Column("term"),
    Column("kind"),
    Column("count", numeric=True),
    Column("authors", numeric=True),
    Column("expected", numeric=True, help="The count the baseline predicts"),
    Column("score", numeric=True, help="(count − expected) / √(expected + 1)"),
    Column("over time", "baseline + window", sparkline=True),
)
LEADERBOARD_COLUMNS = (
    Column("term"),
    Column("posts", numeric=True),
    Column("authors", numeric=True),
)
LEADERBOARDS = ((HASHTAG, "Top hashtags"), (MENTION, "Top mentions"))


def render_trending(kind: str, window: timedelta, wall_clock: bool) -> None:
    """Rising terms of ``kind`` in the ``window`` ending now (live data or ``wall_clock``) or at
    the newest post (a replay), the hashtag and mention leaderboards of that window, and alerts."""
    span = loaders.post_span()
    if span is None:
        st.info("No posts counted yet: start a source (`make run` starts the demo generator).")
        render_alerts()
        return
    _, newest = span
    now = loaders.now()
    live = is_live(
        newest,
        now,
        lambda: posts_between(
            loaders.topic_minutes(), newest - LIVE_WINDOW, newest + timedelta(minutes=1)
        ),
    )
    params = loaders.trend_params(window)
    end = ending_at(newest, now, live=live, wall_clock=wall_clock)
    answer = loaders.trending(kind, floor_time(end, params.bucket_seconds), window)
    age = now - newest
    freshness = f"{human(age)} ago" if age >= timedelta(0) else f"{human(-age)} in the future"
    source = "live data" if live else "a replay or past data"
    st.caption(
        f"Newest counted post: {newest:%Y-%m-%d %H:%M:%S} UTC ({freshness}; {source}). "
        + explanation(params, answer.span.end)
    )
    if not answer.terms:
        st.info(quiet_sentence(params, kind))
    else:
        render_ranking(answer)
    since, until = answer.span.window_start, answer.span.end
    columns = st.columns(len(LEADERBOARDS))
    for column, (board_kind, title) in zip(columns, LEADERBOARDS, strict=True):
        column.subheader(title)
        top = loaders.top_terms(board_kind, since, until)
        if top:
            column.html(html_table(leaderboard_rows(top), LEADERBOARD_COLUMNS))
        else:
            column.info(f"No {KIND_LABELS[board_kind]} in this window.")
    render_alerts()


def render_ranking(answer: Trending) -> None:
    st.html(html_table(trending_rows(answer), RANKING_COLUMNS))
    listed = [item.term for item in answer.terms]
    chosen = st.selectbox("Timeline of", listed, index=0, key="trending_term")
    span = answer.span
    # The answer already holds each listed term's posts per bucket over baseline and window.
    points = answer.series[chosen]
    st.caption(
        f"Posts per bucket using {markdown_literal(chosen)} over the baseline and the window "
        "(shaded)."
    )
    draw(st, term_timeline(points, (span.window_start, span.end), chosen), FULL_WIDTH, height=220)


def render_alerts() -> None:
    st.subheader("Alerts")
    alerts = loaders.recent_alerts()
    if alerts:
        st.html(html_table(alerts, columns_of(alerts)))
    else:
        st.caption("No alerts yet.")
