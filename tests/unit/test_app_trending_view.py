"""What the Trending now page offers and says: windows, where the window ends, the quiet-state
sentence and the table rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.app.trending_view import (
    ending_at,
    leaderboard_rows,
    quiet_sentence,
    trending_rows,
    window_choices,
    window_label,
    with_window,
)
from pipeline.trending import (
    TermTally,
    TopTerm,
    TrendParams,
    trend_span,
    trending_of,
)

NOW = datetime(2030, 6, 1, 12, 0, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_the_picker_offers_one_six_and_24_hours_and_the_configured_window() -> None:
    assert window_choices(TrendParams()) == [HOUR, 6 * HOUR, 24 * HOUR]
    odd = TrendParams(window=timedelta(minutes=90))
    assert window_choices(odd) == [HOUR, timedelta(minutes=90), 6 * HOUR, 24 * HOUR]


def test_the_picker_offers_only_windows_of_whole_buckets() -> None:
    # 7-minute buckets: 1 h, 6 h and 24 h are not whole multiples; the configured 70 min is.
    params = TrendParams(bucket_seconds=420, window=timedelta(minutes=70), baseline=420 * HOUR)
    assert window_choices(params) == [timedelta(minutes=70)]
    # 15-minute buckets divide them all.
    assert window_choices(TrendParams(bucket_seconds=900)) == [HOUR, 6 * HOUR, 24 * HOUR]


def test_another_window_keeps_the_configured_baseline_and_guards() -> None:
    params = TrendParams(min_count=7, min_authors=4, min_score=2.5, baseline=48 * HOUR)
    assert with_window(params, 6 * HOUR) == TrendParams(
        window=6 * HOUR, min_count=7, min_authors=4, min_score=2.5, baseline=48 * HOUR
    )


@pytest.mark.parametrize(
    ("live", "wall_clock", "expected"),
    [(False, False, "newest"), (True, False, "now"), (False, True, "now"), (True, True, "now")],
)
def test_the_window_ends_at_the_newest_post_only_on_a_replay(
    live: bool, wall_clock: bool, expected: str
) -> None:
    newest = NOW - timedelta(days=400)
    moments = {"newest": newest, "now": NOW}
    assert ending_at(newest, NOW, live=live, wall_clock=wall_clock) == moments[expected]


def test_the_quiet_sentence_names_every_guard_and_the_kind() -> None:
    params = TrendParams(min_count=5, min_authors=3, min_score=3.0)
    sentence = quiet_sentence(params, "hashtag")
    assert sentence.startswith("Nothing is trending: no hashtag passes the guards")
    assert "at least 5 posts from at least 3 different accounts" in sentence
    assert "in the last 1 hour and a burst score of at least 3 against the 24 hours before" in (
        sentence
    )
    assert "no term passes" in quiet_sentence(params, "all")


@pytest.mark.parametrize(
    ("length", "shown"),
    [
        (HOUR, "1 hour"),
        (6 * HOUR, "6 hours"),
        (24 * HOUR, "24 hours"),
        (timedelta(minutes=90), "90 minutes"),
        (72 * HOUR, "3 days"),
    ],
)
def test_window_labels(length: timedelta, shown: str) -> None:
    assert window_label(length) == shown


def test_rows_carry_the_numbers_and_each_term_s_posts_per_bucket() -> None:
    params = TrendParams(window=timedelta(minutes=10), baseline=timedelta(minutes=20))
    span = trend_span(NOW, params)
    buckets = span.buckets()
    assert len(buckets) == 6
    tallies = {
        buckets[0]: {"#calm": TermTally(1, None)},
        buckets[5]: {"#rising": TermTally(6, {"a", "b", "c"}), "#calm": TermTally(1, {"a"})},
    }
    answer = trending_of(tallies, span, params, "all", None)
    rows = trending_rows(answer)
    assert rows == [
        {
            "term": "#rising",
            "kind": "hashtag",
            "count": 6,
            "authors": 3,
            "expected": 0.0,
            "score": 6.0,
            "over time": [0, 0, 0, 0, 0, 6],
        }
    ]
    top = [TopTerm("#rising", "hashtag", 6, 3), TopTerm("#calm", "hashtag", 2, 1)]
    assert leaderboard_rows(top) == [
        {"term": "#rising", "posts": 6, "authors": 3},
        {"term": "#calm", "posts": 2, "authors": 1},
    ]
