"""The pure rules of the lambda architecture, with no I/O: shared by the jobs, the serving layer and
the reference recount, and tested list-in/list-out.

- A post belongs to the **ingest window** of its Kafka append time (LogAppendTime floored to W).
- The batch layer counts every post appended before the **high-water mark** H; the speed layer's
  rows for windows at or after H fill in the rest. H is always a window boundary, so a speed row is
  either wholly before H (ignored: the batch has it) or wholly at/after it (used).
- Rankings break ties by the word in code-point order, so every implementation lists the same words.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

Key = TypeVar("Key", bound=Hashable)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def floor_time(moment: datetime, seconds: int) -> datetime:
    """``moment`` floored to a multiple of ``seconds`` since the epoch (UTC)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: Trendoff works in timezone-aware UTC only")
    elapsed = int((moment - EPOCH).total_seconds() // seconds) * seconds
    return EPOCH + timedelta(seconds=elapsed)


def ingest_window(append_time: datetime, window_seconds: int) -> datetime:
    return floor_time(append_time, window_seconds)


@dataclass(frozen=True)
class PartitionProgress:
    """How far the master job has written one Kafka partition, and how far the partition goes."""

    partition: int
    max_offset: int | None  # the highest offset written; None when nothing was written yet
    max_append_time: datetime | None
    end_offset: int  # Kafka's next offset (log end) when the batch asked


def high_water_mark(
    progress: Iterable[PartitionProgress], checked_at: datetime, window_seconds: int
) -> datetime | None:
    """The newest window boundary below which the master dataset holds all posts of all partitions.

    Append times only grow along a partition, so once the master job wrote a record appended at
    t, every record appended before t is written too. A partition the job has fully caught up with
    can only receive records appended after ``checked_at`` (taken *before* the end offsets were
    read). None when some partition has records the master job has not written at all, or when
    the progress reaches past the partition's end: that progress belongs to an older incarnation
    of the topic (deleted and recreated), and its append times say nothing about this one.
    """
    bounds: list[datetime] = []
    for part in progress:
        next_offset = 0 if part.max_offset is None else part.max_offset + 1
        if next_offset > part.end_offset:
            return None
        if next_offset == part.end_offset:  # caught up (or an empty partition never read)
            bounds.append(checked_at)
        elif part.max_append_time is not None:
            bounds.append(part.max_append_time)
        else:
            return None
    if not bounds:
        return None
    return floor_time(min(bounds), window_seconds)


def merge_counts(
    batch: Mapping[Key, int],
    speed: Iterable[tuple[Key, datetime, int]],
    high_water: datetime | None,
) -> dict[Key, int]:
    """Batch counts plus speed rows of windows at or after H; with no batch yet, all of speed."""
    merged: Counter[Key] = Counter(batch)
    for key, window_start, count in speed:
        if high_water is None or window_start >= high_water:
            merged[key] += count
    return {key: count for key, count in merged.items() if count}


def merge_window_counts(
    batch: Mapping[Key, int],
    speed_windows: Iterable[tuple[datetime, Mapping[Key, int]]],
    high_water: datetime | None,
) -> dict[Key, int]:
    """:func:`merge_counts` for speed rows that each hold a whole window's counts (a packed
    vocabulary row): a window is checked against H once, not once per key, which is what made
    reading a busy account's words slow (~67,000 word-window pairs for two accounts)."""
    merged: Counter[Key] = Counter(batch)
    for window_start, counts in speed_windows:
        if high_water is None or window_start >= high_water:
            merged.update(counts)
    return {key: count for key, count in merged.items() if count}


@dataclass
class AccountTally:
    """One account's posts, first and last post times, and its handle: the handle of its newest
    post (ties: the greater handle), so a renamed account shows its new name and keeps its
    history, which is keyed by the author id (a Bluesky DID never changes; a handle may)."""

    posts: int = 0
    first_post: datetime | None = None
    last_post: datetime | None = None
    handle: str | None = None

    def add(
        self,
        posts: int,
        first_post: datetime | None,
        last_post: datetime | None,
        handle: str | None,
    ) -> None:
        """Absorb a row (or a post: posts 1, first = last = its time) of the same account."""
        self.posts += posts
        if first_post is not None:
            self.first_post = min(self.first_post or first_post, first_post)
        if handle is not None and (
            self.handle is None
            or (last_post or EPOCH, handle) > (self.last_post or EPOCH, self.handle)
        ):
            self.handle = handle
        if last_post is not None:
            self.last_post = max(self.last_post or last_post, last_post)


def resolve_account(name: str, handles: Mapping[str, str | None]) -> str:
    """The account key (author id) that ``name`` means, given ``{author id: handle}``: ``name``
    itself when it is a key, else the key whose handle it is (several: the smallest key), else
    ``name`` unchanged (an unknown account, which has no posts)."""
    if name in handles:
        return name
    owners = sorted(key for key, handle in handles.items() if handle == name)
    return owners[0] if owners else name


# The batch slot stores each account's vocabulary packed into a few rows (see
# ``pipeline.jobs.aggregates.packed_vocabulary``): two aligned lists, words and their counts, each
# joined by a newline. Words never hold white space (they are runs of letters, marks, digits,
# apostrophes and ``_``), so the separator cannot occur inside one. Packing is why serving reads an
# account's batch counts in one or two round trips of a few rows instead of one row per word.
VOCABULARY_SEPARATOR = "\n"
# Words are spread over this many rows per account by a hash of the word, so no single cell grows
# with the busiest account's vocabulary beyond a fraction of Cassandra's mutation size limit.
VOCABULARY_CHUNKS = 8


def unpack_vocabulary(chunks: Iterable[tuple[str, str]]) -> dict[str, int]:
    """``{word: uses}`` from packed rows of (newline-joined words, newline-joined counts)."""
    counts: dict[str, int] = {}
    for words, uses in chunks:
        word_list = words.split(VOCABULARY_SEPARATOR)
        use_list = uses.split(VOCABULARY_SEPARATOR)
        if len(word_list) != len(use_list):
            raise ValueError(
                f"a packed vocabulary row holds {len(word_list)} words but {len(use_list)} counts"
            )
        counts.update(zip(word_list, map(int, use_list), strict=True))
    return counts


@dataclass(frozen=True)
class SharedWord:
    """A word both accounts used: their counts, and the counts of all their words (the totals)
    that make rates comparable between a busy account and a quiet one."""

    word: str
    count_a: int
    count_b: int
    total_a: int = 0
    total_b: int = 0

    @property
    def combined(self) -> int:
        return self.count_a + self.count_b

    @property
    def rate_a(self) -> float:
        """Uses per 1,000 words of account a."""
        return 1000 * self.count_a / self.total_a if self.total_a else 0.0

    @property
    def rate_b(self) -> float:
        return 1000 * self.count_b / self.total_b if self.total_b else 0.0

    @property
    def both(self) -> float:
        """How much *both* use the word: the smaller of the two rates."""
        return min(self.rate_a, self.rate_b)


SHARED_RANKINGS = ("both", "combined")


def rank_shared_words(
    a: Mapping[str, int], b: Mapping[str, int], limit: int | None, by: str = "both"
) -> list[SharedWord]:
    """Words both accounts used, highest first, ties by word (``limit`` None: all of them).

    ``by="both"`` ranks by the smaller of the two rates per 1,000 words, so a word leads only if
    each account uses it often, whatever the accounts' sizes (the busy account's favourite word,
    used once by the other, sinks); ``by="combined"`` ranks by the sum of the two counts.
    """
    if by not in SHARED_RANKINGS:
        raise ValueError(f"rank by one of {', '.join(SHARED_RANKINGS)}, not {by!r}")
    total_a, total_b = sum(a.values()), sum(b.values())
    shared = [SharedWord(word, a[word], b[word], total_a, total_b) for word in a.keys() & b.keys()]
    if by == "both":
        # min(count_a / total_a, count_b / total_b) times total_a * total_b: the same order in
        # exact integers, so every implementation lists the same words.
        shared.sort(
            key=lambda item: (
                -min(item.count_a * total_b, item.count_b * total_a),
                -item.combined,
                item.word,
            )
        )
    else:
        shared.sort(key=lambda item: (-item.combined, item.word))
    return shared if limit is None else shared[:limit]


def rank_counts(counts: Mapping[str, int], limit: int) -> list[tuple[str, int]]:
    """Highest counts first, ties by key."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]


def bucket_series(
    minute_counts: Iterable[tuple[datetime, int]],
    since: datetime,
    until: datetime,
    step_seconds: int,
) -> list[tuple[datetime, int]]:
    """Counts per step-long bucket in [since, until), every bucket listed, empty ones as 0.

    Buckets start at ``since`` floored to the step, so two charts over the same step line up.
    """
    if step_seconds <= 0:
        raise ValueError("step must be positive")
    start = floor_time(since, step_seconds)
    totals: Counter[datetime] = Counter()
    for minute, count in minute_counts:
        if since <= minute < until:
            totals[floor_time(minute, step_seconds)] += count
    series = []
    bucket = start
    while bucket < until:
        series.append((bucket, totals.get(bucket, 0)))
        bucket += timedelta(seconds=step_seconds)
    return series
