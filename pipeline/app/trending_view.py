"""What the Trending now page shows, as plain functions (no Streamlit, no I/O): the windows it
offers, where its window ends, the sentences of its quiet states and the rows of its tables."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta

from pipeline.app.periods import window_label as minutes_or_longer
from pipeline.trending import TopTerm, Trending, TrendParams

KIND_CHOICES = ("all", "hashtag", "mention", "word")
KIND_LABELS = {"all": "all terms", "hashtag": "hashtags", "mention": "mentions", "word": "words"}
# What one term of a kind is called in a sentence ("no hashtag passes …").
KIND_SINGULAR = {"all": "term", "hashtag": "hashtag", "mention": "mention", "word": "word"}
OFFERED_WINDOWS = (timedelta(hours=1), timedelta(hours=6), timedelta(hours=24))


def window_label(length: timedelta) -> str:
    """Whole hours as hours ("1 hour", "24 hours"); anything else as the other pages say it."""
    hours, rest = divmod(int(length.total_seconds()), 3600)
    if rest == 0 and 0 < hours < 48:
        return f"{hours} hour{'s' if hours > 1 else ''}"
    return minutes_or_longer(length)


def window_choices(params: TrendParams) -> list[timedelta]:
    """The windows the picker offers: 1 h, 6 h and 24 h, plus the configured window, keeping only
    whole multiples of the bucket (a window must cover whole buckets)."""
    offered = {*OFFERED_WINDOWS, params.window}
    return sorted(
        length
        for length in offered
        if length.total_seconds() % params.bucket_seconds == 0 and length.total_seconds() > 0
    )


def with_window(params: TrendParams, window: timedelta) -> TrendParams:
    """The configured rules with another window; the baseline and guards stay the settings'."""
    return dataclasses.replace(params, window=window)


def ending_at(newest: datetime, now: datetime, *, live: bool, wall_clock: bool) -> datetime:
    """Where the window ends: the wall clock for live data or when asked; otherwise (a replay or
    past data) the newest post, so replayed history shows its own "now", not an empty hour."""
    return now if live or wall_clock else newest


def quiet_sentence(params: TrendParams, kind: str) -> str:
    """Why the list is empty while posts exist: no term of ``kind`` passes the guards, named."""
    noun = KIND_SINGULAR[kind]
    return (
        f"Nothing is trending: no {noun} passes the guards in this window. A {noun} trends with "
        f"at least {params.min_count:,} posts from at least {params.min_authors:,} different "
        f"accounts in the last {window_label(params.window)} and a burst score of at least "
        f"{params.min_score:g} against the {window_label(params.baseline)} before."
    )


def explanation(params: TrendParams, end: datetime) -> str:
    return (
        f"Terms rising in the {window_label(params.window)} up to {end:%Y-%m-%d %H:%M} UTC, "
        f"against the {window_label(params.baseline)} before. Score: (count − expected) / "
        "√(expected + 1), where expected is the count the baseline's rate predicts; the line "
        "is the term's posts per bucket over the baseline and the window."
    )


def trending_rows(answer: Trending) -> list[dict[str, object]]:
    """One row per ranked term, best first, with its posts per bucket for the sparkline."""
    return [
        {
            "term": item.term,
            "kind": item.kind,
            "count": item.count,
            "authors": item.authors,
            "expected": round(item.expected, 2),
            "score": round(item.score, 2),
            "over time": [posts for _, posts in answer.series.get(item.term, [])],
        }
        for item in answer.terms
    ]


def leaderboard_rows(top: Sequence[TopTerm]) -> list[dict[str, object]]:
    return [{"term": item.term, "posts": item.count, "authors": item.authors} for item in top]
