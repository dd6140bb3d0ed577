"""How fast records flow: wrappers over any iterator of posts and rejections.

Without a wrapper records come as fast as they are read. :func:`rate` spaces them evenly,
:func:`speedup` replays the gaps between posts' ``created_at`` times faster (or slower),
:func:`limit` stops after n records and :func:`retime_now` moves posts in time so the newest one is
"now". Rejections pass through every wrapper and take no time. Clocks and sleeping are parameters
so tests run instantly.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta

from pipeline.ingest.model import Post, Rejected, RejectReason

Record = Post | Rejected
Clock = Callable[[], float]  # seconds, monotonic
Sleep = Callable[[float], None]


def as_fast_as_possible(records: Iterable[Record]) -> Iterator[Record]:
    """The default pace: no waiting at all."""
    return iter(records)


def limit(records: Iterable[Record], count: int) -> Iterator[Record]:
    """At most ``count`` records (rejections included: they are input read, too)."""
    if count < 0:
        raise ValueError("limit must not be negative")
    return itertools.islice(records, count)


def rate(
    records: Iterable[Record],
    posts_per_second: float,
    *,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> Iterator[Record]:
    """Posts spaced evenly at ``posts_per_second``. The schedule is absolute (post n is due at
    start + n / rate), so time lost on a slow consumer is made up instead of accumulating."""
    if posts_per_second <= 0:
        raise ValueError("the rate must be positive")
    interval = 1.0 / posts_per_second
    started = clock()
    sent = 0
    for record in records:
        if isinstance(record, Post):
            wait = started + sent * interval - clock()
            if wait > 0:
                sleep(wait)
            sent += 1
        yield record


def speedup(
    records: Iterable[Record],
    factor: float,
    *,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> Iterator[Record]:
    """Posts at their original pace compressed ``factor`` times: a post created one minute after
    the first is sent 60 / factor seconds after it. Posts that go back in time (input not in time
    order) are sent at once, without waiting."""
    if factor <= 0:
        raise ValueError("the speed-up factor must be positive")
    first_created: datetime | None = None
    started = 0.0
    for record in records:
        if isinstance(record, Post):
            if first_created is None:
                first_created, started = record.created_at, clock()
            else:
                offset = (record.created_at - first_created).total_seconds() / factor
                wait = started + offset - clock()
                if wait > 0:
                    sleep(wait)
        yield record


def newest_created(records: Iterable[Record]) -> datetime | None:
    """``created_at`` of the newest post (rejections ignored); None when there is no post."""
    return max((r.created_at for r in records if isinstance(r, Post)), default=None)


def retime_now(
    records: Iterable[Record],
    newest: datetime,
    *,
    speedup_factor: float | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Iterator[Record]:
    """Posts shifted in time so the newest post of the input (``newest``, found by a first pass
    over it: :func:`newest_created`) is created "now"; order and gaps between posts are kept.

    "Now" is read when the first post arrives. Replayed with :func:`speedup`, the newest post is
    sent ``(newest - first) / factor`` seconds after the first one, so it is dated then: every
    post is dated at or before the moment it is sent (for a factor of 1 or more), never in the
    future. A post the shift would move out of the datetime range becomes a rejection.
    """
    if speedup_factor is not None and speedup_factor <= 0:
        raise ValueError("the speed-up factor must be positive")
    shift: timedelta | None = None
    for record in records:
        if isinstance(record, Post):
            if shift is None:
                arrives = now()
                if speedup_factor is not None:
                    delay = (newest - record.created_at).total_seconds() / speedup_factor
                    arrives += timedelta(seconds=max(delay, 0.0))
                shift = arrives - newest
            try:
                record = record._replace(created_at=record.created_at + shift)
            except OverflowError:
                record = Rejected(
                    raw=repr(record.post_id).encode(),
                    position=record.post_id,
                    reason=RejectReason.BAD_TIME,
                    message=f"--retime now moves {record.created_at.isoformat()} out of range",
                )
        yield record
