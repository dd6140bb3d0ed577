"""Altair chart builders: plain data in, chart out (no Streamlit, no I/O), easy to inspect."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any  # altair has no type information for mypy

import altair as alt
import pandas as pd

from pipeline.views import SharedWord


def shared_words_frame(a: str, b: str, words: Sequence[SharedWord]) -> pd.DataFrame:
    rows = []
    for rank, item in enumerate(words, start=1):
        rows.append({"rank": rank, "word": item.word, "account": a, "uses": item.count_a})
        rows.append({"rank": rank, "word": item.word, "account": b, "uses": item.count_b})
    return pd.DataFrame(rows, columns=["rank", "word", "account", "uses"])


def shared_words_chart(a: str, b: str, words: Sequence[SharedWord]) -> Any:
    """Grouped bars: words along x in ranking order, one bar per account, one colour each."""
    frame = shared_words_frame(a, b, words)
    order = [item.word for item in words]
    return (
        alt.Chart(frame, title=f"Words {a} and {b} both use")
        .mark_bar()
        .encode(
            x=alt.X(
                "word:N", sort=order, title=None, axis=alt.Axis(labelAngle=-40, labelOverlap=False)
            ),
            xOffset=alt.XOffset("account:N", sort=[a, b]),
            y=alt.Y("uses:Q", title="uses", axis=alt.Axis(format="d", tickMinStep=1)),
            color=alt.Color("account:N", sort=[a, b], title="account"),
            tooltip=["word:N", "account:N", "uses:Q", "rank:Q"],
        )
    )


def share_donut(totals: Mapping[str, int]) -> Any:
    frame = pd.DataFrame(
        [{"category": category, "posts": posts} for category, posts in totals.items() if posts]
    )
    if frame.empty:
        frame = pd.DataFrame(columns=["category", "posts"])
    return (
        alt.Chart(frame, title="Market share")
        .mark_arc(innerRadius=60)
        .encode(
            theta=alt.Theta("posts:Q", stack=True),
            # Below the ring: beside it, the legend squeezes the ring out of a narrow column.
            color=alt.Color(
                "category:N", title=None, legend=alt.Legend(orient="bottom", columns=2)
            ),
            tooltip=["category:N", "posts:Q"],
        )
    )


def series_frame(series: Mapping[str, Sequence[tuple[datetime, int]]]) -> pd.DataFrame:
    rows = [
        {"category": category, "time": moment, "posts": count}
        for category, points in series.items()
        for moment, count in points
    ]
    return pd.DataFrame(rows, columns=["category", "time", "posts"])


def trend_lines(series: Mapping[str, Sequence[tuple[datetime, int]]], title: str) -> Any:
    return (
        alt.Chart(series_frame(series), title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X("time:T", title="time (UTC)"),
            y=alt.Y("posts:Q", title="posts", axis=alt.Axis(format="d", tickMinStep=1)),
            color=alt.Color("category:N", title="category"),
            tooltip=[alt.Tooltip("time:T", format="%Y-%m-%d %H:%M"), "category:N", "posts:Q"],
        )
    )
