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
from pipeline.text import Lexicon, categories_of, load_lexicon, words
from pipeline.views import SharedWord, floor_time, rank_counts, rank_shared_words


@dataclass
class Recount:
    lexicon: Lexicon
    words_by_author: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    topic_minutes: dict[str, Counter[datetime]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    posts_by_author: Counter[str] = field(default_factory=Counter)
    posts: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    _seen: set[str] = field(default_factory=set)

    def add(self, post: Post) -> None:
        if post.post_id in self._seen:
            return
        self._seen.add(post.post_id)
        self.posts += 1
        author = post.author_handle
        self.posts_by_author[author] += 1
        self.words_by_author[author].update(words(post.text))
        minute = floor_time(post.created_at, 60)
        for category in categories_of(post.text, self.lexicon):
            self.topic_minutes[category][minute] += 1

    def shared_words(
        self, a: str, b: str, limit: int | None = 20, by: str = "both"
    ) -> list[SharedWord]:
        return rank_shared_words(
            self.words_by_author.get(a, Counter()),
            self.words_by_author.get(b, Counter()),
            limit,
            by,
        )

    def account_words(self, author: str, limit: int = 20) -> list[tuple[str, int]]:
        return rank_counts(self.words_by_author.get(author, Counter()), limit)

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
