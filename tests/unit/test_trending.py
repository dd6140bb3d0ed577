"""The pure trending rules, list-in/list-out."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.text import tokenize
from pipeline.trending import (
    POSTS_PER_PACK,
    TermTally,
    TrendParams,
    buckets_between,
    burst_score,
    expected_count,
    pack_terms,
    packs_for,
    rank_top,
    rank_trending,
    tally_hour,
    tally_slices,
    term_kind,
    terms_of,
    trend_span,
    trending_of,
    unpack_terms,
    window_and_baseline,
)

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PARAMS = TrendParams()


def tally(posts: int, *authors: str) -> TermTally:
    return TermTally(posts, set(authors))


def test_a_post_counts_once_per_term_with_sigils() -> None:
    terms = terms_of(tokenize("#Coffee coffee @Bob.  COFFEE again #coffee, mail bob@example.com"))
    assert terms == {"#coffee", "coffee", "@bob", "mail", "bob"}
    assert [term_kind(t) for t in ("#coffee", "@bob", "coffee")] == ["hashtag", "mention", "word"]


def test_span_ends_with_the_bucket_holding_at() -> None:
    span = trend_span(T0 + timedelta(minutes=2, seconds=30), PARAMS)
    assert span.end == T0 + timedelta(minutes=5)
    assert span.window_start == span.end - timedelta(hours=1)
    assert span.baseline_start == span.window_start - timedelta(hours=24)
    assert len(span.window_buckets()) == 12
    assert len(span.baseline_buckets()) == 288
    assert span.buckets() == span.baseline_buckets() + span.window_buckets()


def test_window_must_be_whole_buckets() -> None:
    with pytest.raises(ValueError, match="multiple"):
        TrendParams(window=timedelta(minutes=7))


def test_score_is_a_poisson_z_score_and_absent_terms_score_their_count() -> None:
    assert expected_count(288, PARAMS) == pytest.approx(12.0)
    assert burst_score(12, 12.0) == 0.0
    assert burst_score(30, 0.0) == 30.0
    assert burst_score(20, 8.0) == pytest.approx(12 / 3)
    assert math.isclose(burst_score(5, 24.0), -19 / 5)


def test_guards_keep_one_account_and_steady_terms_out() -> None:
    voices = [f"voice_{n}" for n in range(30)]
    window = {
        "#rising": tally(30, *voices),
        "#spam": tally(200, "spammer"),
        "#steady": tally(12, "s1", "s2", "s3"),
        "#few": tally(4, "a", "b", "c", "d"),
        "@pair": tally(9, "a", "b"),
    }
    baseline = {"#steady": 288, "#rising": 0}
    ranked = rank_trending(window, baseline, PARAMS)
    assert [item.term for item in ranked] == ["#rising"]
    assert (ranked[0].count, ranked[0].authors, ranked[0].expected) == (30, 30, 0.0)


def test_ties_break_by_count_then_term() -> None:
    window = {
        "b": tally(6, "x", "y", "z"),
        "a": tally(6, "x", "y", "z"),
        "#a": tally(6, "x", "y", "z"),
    }
    ranked = rank_trending(window, {}, PARAMS)
    assert [item.term for item in ranked] == ["#a", "a", "b"]
    assert [item.term for item in rank_trending(window, {}, PARAMS, kind="word")] == ["a", "b"]


def test_window_authors_unite_across_buckets_and_layers() -> None:
    span = trend_span(T0, PARAMS)
    tallies = {
        T0: {"#x": tally(2, "a", "b")},
        T0 - timedelta(minutes=5): {"#x": tally(3, "b", "c")},
        span.baseline_start: {"#x": TermTally(7, None)},
        span.baseline_start - timedelta(minutes=5): {"#x": tally(100, "z")},  # before: ignored
    }
    window, baseline = window_and_baseline(tallies, span)
    assert window["#x"].posts == 5 and window["#x"].authors == {"a", "b", "c"}
    assert baseline == {"#x": 7}


def test_trending_answer_has_a_series_per_listed_term() -> None:
    span = trend_span(T0, PARAMS)
    tallies = {T0: {"#x": tally(5, "a", "b", "c"), "#y": tally(1, "a")}}
    answer = trending_of(tallies, span, PARAMS, "all", 20)
    assert [item.term for item in answer.terms] == ["#x"]
    series = answer.series["#x"]
    assert len(series) == 300 and series[-1] == (T0, 5) and sum(n for _, n in series) == 5


def test_packing_round_trips_including_odd_handles() -> None:
    tallies = {f"t{n}": (n + 1, {f"h {n}", 'q"uote\n'}) for n in range(4500)}
    rows = pack_terms(tallies)
    assert len(rows) == 3
    unpacked = {
        term: (posts, set(names)) for row in rows for term, posts, names in unpack_terms(*row)
    }
    assert unpacked == tallies
    terms, posts, _ = rows[0]
    assert all(names is None for _, _, names in unpack_terms(terms, posts, None))


@pytest.mark.parametrize(
    ("posts", "packs"),
    [(0, 1), (1, 1), (POSTS_PER_PACK, 1), (POSTS_PER_PACK + 1, 2), (5 * POSTS_PER_PACK, 5)],
)
def test_a_bucket_needs_enough_packs_to_hold_its_posts(posts: int, packs: int) -> None:
    assert packs_for(posts) == packs


def test_unpacking_refuses_misaligned_rows() -> None:
    with pytest.raises(ValueError, match="2 terms, 1 counts"):
        list(unpack_terms("a\nb", "1", None))


def test_leaderboard_orders_by_posts_then_authors_then_term() -> None:
    tallies = {"#a": tally(3, "x"), "#b": tally(3, "x", "y"), "@c": tally(9, "x"), "d": tally(1)}
    assert [t.term for t in rank_top(tallies, "all")] == ["@c", "#b", "#a", "d"]
    assert [t.term for t in rank_top(tallies, "hashtag", limit=1)] == ["#b"]


def test_range_buckets_start_at_the_bucket_of_since() -> None:
    buckets = buckets_between(T0 + timedelta(minutes=3), T0 + timedelta(minutes=11), 300)
    assert buckets == [T0, T0 + timedelta(minutes=5), T0 + timedelta(minutes=10)]


def test_a_day_of_buckets_reads_one_slice_per_hour_and_authors_only_for_the_window() -> None:
    span = trend_span(T0 + timedelta(minutes=2), PARAMS)  # 1 h window, 24 h baseline, 5-min buckets
    slices = tally_slices(span.buckets(), set(span.window_buckets()))
    window = [piece for piece in slices if piece.with_authors]
    baseline = [piece for piece in slices if not piece.with_authors]
    assert len(span.buckets()) == 300
    # The window (11:05 up to the bucket ending 12:05) spans the 11:00 and 12:00 partitions.
    assert [(piece.hour, piece.first, piece.last) for piece in window] == [
        (T0 - timedelta(hours=1), T0 - timedelta(minutes=55), T0 - timedelta(minutes=5)),
        (T0, T0, T0),
    ]
    assert len(baseline) == 25
    assert baseline[0].first == span.baseline_start
    assert baseline[-1].last == T0 - timedelta(hours=1)
    covered = {
        piece.first + timedelta(minutes=5 * step)
        for piece in slices
        for step in range(int((piece.last - piece.first) / timedelta(minutes=5)) + 1)
    }
    assert covered == set(span.buckets())
    assert all(tally_hour(piece.first) == tally_hour(piece.last) == piece.hour for piece in slices)


def test_slices_split_where_authors_change_and_merge_duplicates() -> None:
    buckets = [T0 + timedelta(minutes=5 * step) for step in range(4)]
    slices = tally_slices([*buckets, buckets[0]], {buckets[1]})
    assert [(piece.first, piece.last, piece.with_authors) for piece in slices] == [
        (buckets[0], buckets[0], False),
        (buckets[1], buckets[1], True),
        (buckets[2], buckets[3], False),
    ]
    assert tally_slices(buckets) == [tally_slices(buckets)[0]]
    assert tally_slices(buckets)[0].with_authors
