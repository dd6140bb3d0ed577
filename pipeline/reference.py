"""The reference recount: the views counted straight from input, in plain Python, with the pure
text rules: the ground truth that `trendoff query` (Kafka → Spark → Cassandra → serving) equals.

A post is counted once per post id, as the master dataset keeps it: re-sent copies of a post do not
count twice. Rejected records are not posts and count nowhere.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pipeline.ingest.model import Post, Rejected
from pipeline.text import Lexicon, categories_of, load_lexicon, tokenize, words
from pipeline.trending import (
    TermTally,
    TopTerm,
    Trending,
    TrendParams,
    buckets_between,
    rank_top,
    summed,
    terms_of,
    trend_span,
    trending_of,
)
from pipeline.views import (
    AccountTally,
    SharedWord,
    floor_time,
    rank_counts,
    rank_shared_words,
    resolve_account,
)


@dataclass
class Recount:
    lexicon: Lexicon
    words_by_author: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    topic_minutes: dict[str, Counter[datetime]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    posts_by_author: Counter[str] = field(default_factory=Counter)
    accounts: dict[str, AccountTally] = field(default_factory=dict)
    posts: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    _seen: set[str] = field(default_factory=set)

    def add(self, post: Post) -> None:
        if post.post_id in self._seen:
            return
        self._seen.add(post.post_id)
        self.posts += 1
        author = post.author_id
        self.accounts.setdefault(author, AccountTally()).add(
            1, post.created_at, post.created_at, post.author_handle
        )
        self.posts_by_author[author] += 1
        self.words_by_author[author].update(words(post.text))
        minute = floor_time(post.created_at, 60)
        for category in categories_of(post.text, self.lexicon):
            self.topic_minutes[category][minute] += 1

    def resolve(self, name: str) -> str:
        """The author id a handle or id stands for, as serving resolves it."""
        return resolve_account(name, {key: tally.handle for key, tally in self.accounts.items()})

    def shared_words(
        self, a: str, b: str, limit: int | None = 20, by: str = "both"
    ) -> list[SharedWord]:
        a, b = self.resolve(a), self.resolve(b)
        return rank_shared_words(
            self.words_by_author.get(a, Counter()),
            self.words_by_author.get(b, Counter()),
            limit,
            by,
        )

    def account_words(self, author: str, limit: int = 20) -> list[tuple[str, int]]:
        return rank_counts(self.words_by_author.get(self.resolve(author), Counter()), limit)

    def topic_totals(self) -> dict[str, int]:
        return {
            category: sum(self.topic_minutes[category].values())
            for category in sorted(self.lexicon.categories)
        }


def recount_records(records: Iterable[Post | Rejected], lexicon: Lexicon) -> Recount:
    recount = Recount(lexicon)
    for record in records:
        if isinstance(record, Rejected):
            recount.rejected[record.reason.value] += 1
        else:
            recount.add(record)
    return recount


def recount(path: str | Path, *, fmt: str = "auto", lexicon_path: Path | None = None) -> Recount:
    from pipeline.ingest.sources import open_source

    source = open_source("csv", [Path(path)], fmt=fmt)
    return recount_records(source.records(), load_lexicon(lexicon_path))


def term_tallies(
    records: Iterable[Post | Rejected], since: datetime, until: datetime, bucket_seconds: int
) -> dict[datetime, dict[str, TermTally]]:
    """Each term's posts and distinct authors per bucket, for posts created in the buckets from
    that of ``since`` up to ``until``; a post counts once per post id, as everywhere."""
    first_bucket = floor_time(since, bucket_seconds)
    tallies: dict[datetime, dict[str, TermTally]] = defaultdict(dict)
    seen: set[str] = set()
    for record in records:
        if isinstance(record, Rejected) or record.post_id in seen:
            continue
        seen.add(record.post_id)
        bucket = floor_time(record.created_at, bucket_seconds)
        if not first_bucket <= bucket < until:
            continue
        terms = tallies[bucket]
        for term in terms_of(tokenize(record.text)):
            terms.setdefault(term, TermTally()).add(1, (record.author_id,))
    return tallies


def trending(
    records: Iterable[Post | Rejected],
    params: TrendParams,
    at: datetime,
    kind: str = "all",
    limit: int | None = 20,
) -> Trending:
    span = trend_span(at, params)
    tallies = term_tallies(records, span.baseline_start, span.end, params.bucket_seconds)
    return trending_of(tallies, span, params, kind, limit)


def top_terms(
    records: Iterable[Post | Rejected],
    kind: str,
    since: datetime,
    until: datetime,
    bucket_seconds: int,
    limit: int | None = 20,
) -> list[TopTerm]:
    buckets = buckets_between(since, until, bucket_seconds)
    if not buckets:
        return []
    tallies = term_tallies(records, buckets[0], until, bucket_seconds)
    return rank_top(summed(tallies, kind), kind, limit)


def read_records(path: str | Path, *, fmt: str = "auto") -> Iterable[Post | Rejected]:
    from pipeline.ingest.sources import open_source

    return open_source("csv", [Path(path)], fmt=fmt).records()
