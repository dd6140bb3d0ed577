"""Altair chart builders: plain data in, chart out (no Streamlit, no I/O), easy to inspect."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any  # altair has no type information for mypy

import altair as alt
import pandas as pd

from pipeline.views import SharedWord

# Times are drawn in UTC whatever the time zone of the process that draws them (Vega's default
# is local time, and the axes say UTC).
UTC_SCALE = alt.Scale(type="utc")
# Each mark's hover text (pipeline/app/svg_chart.py shows it as the mark's SVG title), written
# here as "field: value; …" rather than left to Vega-Lite, which repeats axis titles and
# formats times in local time.
HOVER = "hover"


def hover_text(fields: Mapping[str, object]) -> str:
    """``{"word": "tea", "uses": 3}`` -> ``"word: tea; uses: 3"``."""
    return "; ".join(f"{name}: {value}" for name, value in fields.items())


def utc_minute(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def significant(value: float, digits: int = 3) -> float:
    """``value`` to ``digits`` significant digits: a rate of 0.0004 stays above zero."""
    return float(f"{value:.{digits}g}")


def shared_words_frame(a: str, b: str, words: Sequence[SharedWord]) -> pd.DataFrame:
    """Long form, one row per word and account: the chart's data and the CSV download."""
    rows = []
    for rank, item in enumerate(words, start=1):
        for account, uses, rate in ((a, item.count_a, item.rate_a), (b, item.count_b, item.rate_b)):
            rows.append(
                {
                    "rank": rank,
                    "word": item.word,
                    "account": account,
                    "uses": uses,
                    "per 1,000 words": significant(rate),
                }
            )
    return pd.DataFrame(rows, columns=["rank", "word", "account", "uses", "per 1,000 words"])


def shared_words_table(a: str, b: str, words: Sequence[SharedWord]) -> list[dict[str, object]]:
    """Wide form for people: counts with the rates beside them, one row per word."""
    return [
        {
            "word": item.word,
            a: item.count_a,
            f"{a} per 1,000": significant(item.rate_a),
            b: item.count_b,
            f"{b} per 1,000": significant(item.rate_b),
            "combined": item.combined,
        }
        for item in words
    ]


def shared_words_chart(
    a: str, b: str, words: Sequence[SharedWord], *, log_scale: bool = True
) -> Any:
    """Grouped bars: words along x in ranking order, one bar per account, one colour each.

    Bars are rates (uses per 1,000 words of each account), so a small account's bars are not
    dwarfed by a big one's; the log scale keeps a rate of 0.2 readable next to one of 20."""
    frame = shared_words_frame(a, b, words)
    hover_fields = ["word", "account", "uses", "per 1,000 words", "rank"]
    frame[HOVER] = [hover_text(row) for row in frame[hover_fields].to_dict("records")]
    order = [item.word for item in words]
    scale = alt.Scale()
    rates = [rate for rate in frame["per 1,000 words"] if rate > 0]
    if log_scale and rates:
        # A log scale cannot hold zero: bars start at the power of ten below the smallest rate.
        floor = 10 ** math.floor(math.log10(min(rates)))
        scale = alt.Scale(type="log", domainMin=floor)
    return (
        alt.Chart(frame, title=f"Words {a} and {b} both use")
        .mark_bar()
        .encode(
            x=alt.X(
                "word:N", sort=order, title=None, axis=alt.Axis(labelAngle=-40, labelOverlap=False)
            ),
            xOffset=alt.XOffset("account:N", sort=[a, b]),
            y=alt.Y(
                "per 1,000 words:Q",
                stack=None,
                title="uses per 1,000 words" + (" (log scale)" if log_scale else ""),
                scale=scale,
            ),
            color=alt.Color(
                "account:N",
                sort=[a, b],
                title=None,
                legend=alt.Legend(orient="top", labelLimit=0),
            ),
            description=f"{HOVER}:N",
        )
    )


def share_donut(totals: Mapping[str, int], domain: Sequence[str] | None = None) -> Any:
    """Each category's share of the posts; only categories with posts (callers draw no donut
    when there are none: an empty arc chart makes Vega warn about an infinite extent).
    ``domain`` fixes each category's colour, so it matches the trend lines'."""
    frame = pd.DataFrame(
        [{"category": category, "posts": posts} for category, posts in totals.items() if posts],
        columns=["category", "posts"],
    )
    frame[HOVER] = [hover_text(row) for row in frame.to_dict("records")]
    return (
        alt.Chart(frame, title="Share of posts")
        .mark_arc(innerRadius=60)
        .encode(
            theta=alt.Theta("posts:Q", stack=True),
            # Below the ring: beside it, the legend squeezes the ring out of a narrow column.
            color=alt.Color(
                "category:N",
                title=None,
                sort=list(frame["category"]),
                scale=alt.Scale(domain=list(domain)) if domain else alt.Undefined,
                legend=alt.Legend(orient="bottom", columns=2, labelLimit=0),
            ),
            description=f"{HOVER}:N",
        )
    )


def series_frame(series: Mapping[str, Sequence[tuple[datetime, int]]]) -> pd.DataFrame:
    rows = [
        {"category": category, "time": moment, "posts": count}
        for category, points in series.items()
        for moment, count in points
    ]
    return pd.DataFrame(rows, columns=["category", "time", "posts"])


def hover_bands(series: Mapping[str, Sequence[tuple[datetime, int]]]) -> pd.DataFrame:
    """One row per time the series share: the band around it (half way to each neighbour) and
    every series' count there as hover text ("time: …; Beer: 3; Tea: 0")."""
    times = sorted({moment for points in series.values() for moment, _ in points})
    counts = {name: dict(points) for name, points in series.items()}
    steps = [later - earlier for earlier, later in pairwise(times)]
    half = (min(steps) if steps else timedelta(minutes=1)) / 2
    rows = [
        {
            "start": moment - half,
            "end": moment + half,
            HOVER: hover_text(
                {"time": utc_minute(moment)}
                | {name: by_time.get(moment, 0) for name, by_time in counts.items()}
            ),
        }
        for moment in times
    ]
    return pd.DataFrame(rows, columns=["start", "end", HOVER])


def trend_lines(
    series: Mapping[str, Sequence[tuple[datetime, int]]],
    title: str,
    domain: Sequence[str] | None = None,
) -> Any:
    """A line per series; hovering anywhere above a time shows every series' count there.

    The hover text sits on one invisible band per time rather than on a point per series and
    time: a live hour of ten categories is 60 bands instead of 600 points, and a replay's
    "Posts per category" 47 kB of SVG instead of 170 kB, which the browser parses and React
    builds node by node (docs/performance.md, "Topic trends' chart markup")."""
    frame = series_frame(series)
    single_time = frame["time"].nunique() < 2  # a line through one point draws nothing
    lines = (
        alt.Chart(frame)
        .mark_line(aria=False, point=alt.OverlayMarkDef(aria=False) if single_time else False)
        .encode(
            x=alt.X("time:T", title="time (UTC)", scale=UTC_SCALE),
            y=alt.Y("posts:Q", title="posts", axis=alt.Axis(format="d", tickMinStep=1)),
            color=alt.Color(
                "category:N",
                title=None,
                scale=alt.Scale(domain=list(domain)) if domain else alt.Undefined,
                # Below the plot, as many columns as fit: full names, never cut. Thick
                # strokes: without points a line's legend symbol is a hairline otherwise.
                legend=alt.Legend(
                    orient="bottom", columns=4, labelLimit=0, symbolStrokeWidth=4, symbolSize=120
                ),
            ),
        )
    )
    bands = (
        alt.Chart(hover_bands(series))
        .mark_rect(opacity=0)  # invisible, yet under the pointer: browsers show its title
        .encode(x=alt.X("start:T"), x2=alt.X2("end:T"), description=f"{HOVER}:N")
    )
    return alt.layer(lines, bands, title=title)


def term_timeline(
    points: Sequence[tuple[datetime, int]], window: tuple[datetime, datetime], title: str
) -> Any:
    """One term's posts per bucket, with the ``window`` (start, end) shaded so the burst reads
    against its baseline. ``title`` is shown as text (Vega does not render Markdown)."""
    frame = pd.DataFrame(
        [{"time": moment, "posts": posts} for moment, posts in points], columns=["time", "posts"]
    )
    shade = (
        alt.Chart(pd.DataFrame([{"start": window[0], "end": window[1]}]))
        .mark_rect(opacity=0.12, aria=False)  # no hover text: the caption says what it is
        .encode(x=alt.X("start:T", scale=UTC_SCALE), x2=alt.X2("end:T"))
    )
    line = (
        alt.Chart(frame)
        # A line has one hover text, its first point's: none rather than a misleading one.
        .mark_line(aria=False)
        .encode(
            x=alt.X("time:T", title="time (UTC)", scale=UTC_SCALE),
            y=alt.Y("posts:Q", title="posts per bucket", axis=alt.Axis(format="d", tickMinStep=1)),
        )
    )
    return alt.layer(shade, line, title=title)
