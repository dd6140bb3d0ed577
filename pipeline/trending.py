"""The pure rules of trending terms, with no I/O: shared by the jobs, the serving layer and the
reference recount (see docs/trending.md).

- A post's **terms** are its distinct words, ``#hashtags`` and ``@mentions`` (with their sigil);
  a post counts once per term, however often it repeats it.
- Terms are tallied per **event-time bucket**: the post's ``created_at`` floored to the bucket
  size (default 5 minutes). A tally holds the posts and the set of distinct authors.
- A term's **burst score** over a window against the baseline before it is a Poisson z-score,
  ``(c - λ) / sqrt(λ + 1)``, with λ the count the baseline's rate predicts for the window.
- Guards: a term trends only with at least ``min_count`` posts from at least ``min_authors``
  distinct authors in the window (one account cannot make a trend) and a score of at least
  ``min_score``.
- Rankings break ties by count, then by the term in code-point order, so every implementation
  lists the same terms in the same order.
"""

from __future__ import annotations

import json
import math
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from pipeline.text import Tokens
from pipeline.views import floor_time

HASHTAG, MENTION, WORD = "hashtag", "mention", "word"
KINDS = (HASHTAG, MENTION, WORD)
SIGILS = {HASHTAG: "#", MENTION: "@"}

# Packed term rows (speed_term_tallies and batch_term_tallies_N): ``terms`` and ``posts`` are
# aligned newline-joined lists (terms never hold white space), ``authors`` is a JSON array holding,
# per term, the array of its distinct authors (handles may hold any character, JSON escapes them).
TERM_SEPARATOR = "\n"
# A packed row holds at most this many terms: a few hundred kilobytes even when popular terms
# carry long author lists, far below Cassandra's mutation size limit.
TERMS_PER_CHUNK = 2000
# The Spark jobs tally a bucket's terms in memory, at most this many posts at a time: a denser
# bucket (a replay retimed to now, a burst) is split into packs by a hash of author and time,
# each packed separately, and readers add up a term's rows. Packs of this size take a few tens of
# megabytes, so a dense bucket cannot exhaust the driver's heap (one bucket of the 1.23M dev
# posts did before packs existed).
POSTS_PER_PACK = 50_000
# Term rows are partitioned by the hour of their bucket, the bucket a clustering column: a
# trending question reads ~26 partition slices per layer instead of one partition per bucket, and
# a replay of history, whose micro-batches span thousands of buckets, writes a few rows per
# partition, which the connector sends as one batch.
TALLY_PARTITION_SECONDS = 3600


def packs_for(posts: int) -> int:
    """How many packs hold ``posts`` posts of one bucket, :data:`POSTS_PER_PACK` at most each."""
    return max(1, -(-posts // POSTS_PER_PACK))


def term_kind(term: str) -> str:
    if term.startswith("#"):
        return HASHTAG
    if term.startswith("@"):
        return MENTION
    return WORD


def terms_of(tokens: Tokens) -> set[str]:
    """A post's distinct terms: its words, ``#`` + hashtags and ``@`` + mentions."""
    return {
        *tokens.words,
        *(SIGILS[HASHTAG] + tag for tag in tokens.hashtags),
        *(SIGILS[MENTION] + handle for handle in tokens.mentions),
    }


def kind_matches(term: str, kind: str) -> bool:
    """True when ``term`` is of ``kind`` (``all`` matches every term)."""
    return kind == "all" or term_kind(term) == kind


@dataclass
class TermTally:
    """Posts using a term in some set of buckets, and their distinct authors (None when the
    authors were not read: baseline buckets need counts only)."""

    posts: int = 0
    authors: set[str] | None = field(default_factory=set)

    def add(self, posts: int, authors: Iterable[str] | None) -> None:
        self.posts += posts
        if authors is None or self.authors is None:
            self.authors = None
        else:
            self.authors.update(authors)


def unpack_terms(
    terms: str, posts: str, authors: str | None
) -> Iterable[tuple[str, int, list[str] | None]]:
    """(term, posts, authors or None) of one packed row; ``authors`` None when not read."""
    term_list = terms.split(TERM_SEPARATOR)
    post_list = posts.split(TERM_SEPARATOR)
    author_lists: list[list[str]] | list[None] = (
        json.loads(authors) if authors is not None else [None] * len(term_list)
    )
    if not len(term_list) == len(post_list) == len(author_lists):
        raise ValueError(
            f"a packed term row holds {len(term_list)} terms, {len(post_list)} counts and "
            f"{len(author_lists)} author lists"
        )
    return zip(term_list, map(int, post_list), author_lists, strict=True)


def pack_terms(tallies: Mapping[str, tuple[int, Iterable[str]]]) -> list[tuple[str, str, str]]:
    """Packed rows (terms, posts, authors) of ``{term: (posts, authors)}``, at most
    :data:`TERMS_PER_CHUNK` terms each: the layout the Spark jobs write (tests build rows
    with it)."""
    ordered = sorted(tallies)
    rows = []
    for start in range(0, len(ordered), TERMS_PER_CHUNK):
        chunk = ordered[start : start + TERMS_PER_CHUNK]
        rows.append(
            (
                TERM_SEPARATOR.join(chunk),
                TERM_SEPARATOR.join(str(tallies[term][0]) for term in chunk),
                json.dumps([sorted(tallies[term][1]) for term in chunk], ensure_ascii=False),
            )
        )
    return rows


@dataclass(frozen=True)
class TrendParams:
    """What "trending" means: bucket size, window and baseline lengths, and the guards."""

    bucket_seconds: int = 300
    window: timedelta = timedelta(hours=1)
    baseline: timedelta = timedelta(hours=24)
    min_count: int = 5
    min_authors: int = 3
    min_score: float = 3.0

    def __post_init__(self) -> None:
        if self.bucket_seconds <= 0:
            raise ValueError("the bucket size must be positive")
        for name, length in (("window", self.window), ("baseline", self.baseline)):
            seconds = length.total_seconds()
            if seconds <= 0 or seconds % self.bucket_seconds:
                raise ValueError(
                    f"the {name} ({length}) must be a positive multiple of the "
                    f"{self.bucket_seconds} s bucket"
                )


@dataclass(frozen=True)
class TrendSpan:
    """The buckets a trending question reads: baseline [baseline_start, window_start), window
    [window_start, end). ``end`` is the end of the bucket holding ``at``, so the posts of the
    current, still filling bucket count at once."""

    baseline_start: datetime
    window_start: datetime
    end: datetime
    bucket_seconds: int

    def buckets(self, since: datetime | None = None) -> list[datetime]:
        step = timedelta(seconds=self.bucket_seconds)
        bucket, found = since or self.baseline_start, []
        while bucket < self.end:
            found.append(bucket)
            bucket += step
        return found

    def window_buckets(self) -> list[datetime]:
        return self.buckets(self.window_start)

    def baseline_buckets(self) -> list[datetime]:
        return [bucket for bucket in self.buckets() if bucket < self.window_start]


def trend_span(at: datetime, params: TrendParams) -> TrendSpan:
    end = floor_time(at, params.bucket_seconds) + timedelta(seconds=params.bucket_seconds)
    window_start = end - params.window
    return TrendSpan(window_start - params.baseline, window_start, end, params.bucket_seconds)


def buckets_between(since: datetime, until: datetime, bucket_seconds: int) -> list[datetime]:
    """The buckets holding posts created in [since, until): from the bucket of ``since`` to the
    one before ``until`` (a range counts whole buckets; docs/trending.md)."""
    step = timedelta(seconds=bucket_seconds)
    bucket, found = floor_time(since, bucket_seconds), []
    while bucket < until:
        found.append(bucket)
        bucket += step
    return found


def tally_hour(bucket: datetime) -> datetime:
    """The partition (an hour) holding the term rows of ``bucket``."""
    return floor_time(bucket, TALLY_PARTITION_SECONDS)


@dataclass(frozen=True)
class TallySlice:
    """One read of term rows: the buckets ``first``..``last`` of the partition ``hour``, with or
    without their authors."""

    hour: datetime
    first: datetime
    last: datetime
    with_authors: bool


def tally_slices(
    buckets: Iterable[datetime], authors_of: Container[datetime] | None = None
) -> list[TallySlice]:
    """The partition slices holding ``buckets``: per hour partition, runs of requested buckets
    that agree on whether their authors are read (all are when ``authors_of`` is None). A slice
    may span buckets that were not requested when the request has gaps: readers keep only the
    requested ones."""
    slices: list[TallySlice] = []
    for bucket in sorted(set(buckets)):
        hour = tally_hour(bucket)
        with_authors = authors_of is None or bucket in authors_of
        if slices and slices[-1].hour == hour and slices[-1].with_authors == with_authors:
            slices[-1] = replace(slices[-1], last=bucket)
        else:
            slices.append(TallySlice(hour, bucket, bucket, with_authors))
    return slices


def expected_count(baseline_posts: int, params: TrendParams) -> float:
    """λ: the posts the baseline's rate predicts for a window."""
    return baseline_posts * (params.window / params.baseline)


def burst_score(count: int, expected: float) -> float:
    """The Poisson z-score ``(c - λ) / sqrt(λ + 1)``; the +1 keeps a term absent from the
    baseline (λ = 0) finite: its score is its count."""
    return (count - expected) / math.sqrt(expected + 1)


@dataclass(frozen=True)
class TrendingTerm:
    term: str
    kind: str
    count: int
    authors: int
    expected: float
    score: float

    def to_json(self) -> dict[str, object]:
        return {
            "term": self.term,
            "kind": self.kind,
            "count": self.count,
            "authors": self.authors,
            "expected": round(self.expected, 6),
            "score": round(self.score, 6),
        }


def rank_trending(
    window: Mapping[str, TermTally],
    baseline: Mapping[str, int],
    params: TrendParams,
    kind: str = "all",
    limit: int | None = 20,
) -> list[TrendingTerm]:
    """Terms of ``kind`` that pass the guards, best score first (ties: count, then term).

    ``window`` holds each term's posts and distinct authors over the window, ``baseline`` its
    posts over the baseline."""
    found = []
    for term, tally in window.items():
        if not kind_matches(term, kind):
            continue
        if tally.authors is None:
            raise ValueError("the window's tallies need their authors")
        if tally.posts < params.min_count or len(tally.authors) < params.min_authors:
            continue
        expected = expected_count(baseline.get(term, 0), params)
        score = burst_score(tally.posts, expected)
        if score >= params.min_score:
            found.append(
                TrendingTerm(
                    term, term_kind(term), tally.posts, len(tally.authors), expected, score
                )
            )
    found.sort(key=lambda item: (-item.score, -item.count, item.term))
    return found if limit is None else found[:limit]


@dataclass(frozen=True)
class TopTerm:
    term: str
    kind: str
    count: int
    authors: int

    def to_json(self) -> dict[str, object]:
        return {"term": self.term, "kind": self.kind, "count": self.count, "authors": self.authors}


def rank_top(
    tallies: Mapping[str, TermTally], kind: str = "all", limit: int | None = 20
) -> list[TopTerm]:
    """The leaderboard: terms of ``kind`` by posts, then distinct authors, then term."""
    found = [
        TopTerm(term, term_kind(term), tally.posts, len(tally.authors or ()))
        for term, tally in tallies.items()
        if kind_matches(term, kind)
    ]
    found.sort(key=lambda item: (-item.count, -item.authors, item.term))
    return found if limit is None else found[:limit]


def term_series(
    bucket_counts: Mapping[datetime, Mapping[str, int]], term: str, buckets: list[datetime]
) -> list[tuple[datetime, int]]:
    """One term's posts per bucket, every bucket listed (0 where it was not used)."""
    return [(bucket, bucket_counts.get(bucket, {}).get(term, 0)) for bucket in buckets]


BucketTallies = Mapping[datetime, Mapping[str, TermTally]]


def window_and_baseline(
    tallies: BucketTallies, span: TrendSpan, kind: str = "all"
) -> tuple[dict[str, TermTally], dict[str, int]]:
    """Per-bucket tallies summed into the window's tallies (authors united) and the baseline's
    counts, for terms of ``kind``."""
    window: dict[str, TermTally] = {}
    baseline: dict[str, int] = {}
    for bucket, terms in tallies.items():
        in_window = span.window_start <= bucket < span.end
        if not in_window and not span.baseline_start <= bucket < span.window_start:
            continue
        for term, tally in terms.items():
            if not kind_matches(term, kind):
                continue
            if in_window:
                window.setdefault(term, TermTally()).add(tally.posts, tally.authors)
            else:
                baseline[term] = baseline.get(term, 0) + tally.posts
    return window, baseline


def summed(tallies: BucketTallies, kind: str = "all") -> dict[str, TermTally]:
    """All buckets' tallies of ``kind`` summed per term (authors united): the leaderboard input."""
    total: dict[str, TermTally] = {}
    for terms in tallies.values():
        for term, tally in terms.items():
            if kind_matches(term, kind):
                total.setdefault(term, TermTally()).add(tally.posts, tally.authors)
    return total


@dataclass(frozen=True)
class Trending:
    """A trending answer: the buckets it read, the ranked terms, and each listed term's posts per
    bucket over the baseline and the window (the sparklines)."""

    span: TrendSpan
    terms: list[TrendingTerm]
    series: dict[str, list[tuple[datetime, int]]]

    def to_json(self) -> list[dict[str, object]]:
        return [term.to_json() for term in self.terms]


def trending_of(
    tallies: BucketTallies, span: TrendSpan, params: TrendParams, kind: str, limit: int | None
) -> Trending:
    """The trending answer of per-bucket tallies: shared by serving and the reference recount,
    so both rank, score and draw from the same code."""
    window, baseline = window_and_baseline(tallies, span, kind)
    ranked = rank_trending(window, baseline, params, kind, limit)
    listed = {item.term for item in ranked}
    counts = {
        bucket: {term: tally.posts for term, tally in terms.items() if term in listed}
        for bucket, terms in tallies.items()
    }
    buckets = span.buckets()
    return Trending(span, ranked, {term: term_series(counts, term, buckets) for term in listed})
