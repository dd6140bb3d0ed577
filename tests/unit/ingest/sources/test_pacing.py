from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.ingest.model import Post, Rejected, RejectReason
from pipeline.ingest.sources import pacing
from tests.unit.ingest.conftest import make_post

START = datetime(2020, 1, 1, tzinfo=UTC)


class FakeClock:
    """A monotonic clock that only moves when slept on."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def timeline(*offsets_seconds: float) -> list[Post | Rejected]:
    return [
        make_post(post_id=str(n), created_at=START + timedelta(seconds=s))
        for n, s in enumerate(offsets_seconds)
    ]


REJECTED = Rejected(b"x", "f:1", RejectReason.BAD_ROW, "bad")


def test_rate_spaces_posts_evenly_and_rejections_take_no_time() -> None:
    clock = FakeClock()
    records = [*timeline(0, 0, 0), REJECTED, *timeline(0)]
    sent_at = [(r, clock()) for r in pacing.rate(records, 4, clock=clock, sleep=clock.sleep)]
    assert [t - 100 for _, t in sent_at] == [0, 0.25, 0.5, 0.5, 0.75]


def test_rate_catches_up_after_a_slow_consumer() -> None:
    clock = FakeClock()
    paced = pacing.rate(timeline(0, 0, 0), 1, clock=clock, sleep=clock.sleep)
    next(paced)
    clock.now += 5  # the consumer took 5 s
    next(paced)
    next(paced)
    assert clock.sleeps == []


def test_speedup_replays_gaps_faster() -> None:
    clock = FakeClock()
    records = timeline(0, 60, 60, 30, 240)  # the 30 goes back in time: sent at once
    sent = [clock() - 100 for _ in pacing.speedup(records, 60, clock=clock, sleep=clock.sleep)]
    assert sent == [0, 1, 1, 1, 4]


def test_limit_and_fast() -> None:
    records = timeline(0, 1, 2, 3)
    assert list(pacing.limit(records, 2)) == records[:2]
    assert list(pacing.as_fast_as_possible(records)) == records
    with pytest.raises(ValueError):
        pacing.limit(records, -1)


def test_retime_now_maps_the_newest_post_to_now_keeping_order_and_gaps() -> None:
    now = datetime(2030, 5, 5, 12, tzinfo=UTC)
    # Not in time order, like the dev file: the first post is not the newest (a shift taken from
    # the first post put the newest one an hour and a half in the future).
    records = [*timeline(3600, 0), REJECTED, *timeline(5400, 90)]
    newest = pacing.newest_created(records)
    assert newest == START + timedelta(seconds=5400)
    retimed = list(pacing.retime_now(records, newest, now=lambda: now))
    times = [r.created_at for r in retimed if isinstance(r, Post)]
    assert max(times) == now
    assert times == [now - timedelta(seconds=5400 - s) for s in (3600, 0, 5400, 90)]
    assert retimed[2] is REJECTED


def test_retime_now_with_speedup_dates_the_newest_post_when_it_is_sent() -> None:
    clock = FakeClock()
    wall = datetime(2030, 5, 5, 12, tzinfo=UTC)

    def wall_clock() -> datetime:
        return wall + timedelta(seconds=clock() - 100)

    records = timeline(0, 60, 600)
    newest = pacing.newest_created(records)
    assert newest is not None
    retimed = pacing.retime_now(records, newest, speedup_factor=60, now=wall_clock)
    sent = [
        (r.created_at, wall_clock())
        for r in pacing.speedup(retimed, 60, clock=clock, sleep=clock.sleep)
        if isinstance(r, Post)
    ]
    # Sent at 0, 1 and 10 s; the newest is dated exactly when it is sent, none in the future.
    assert [moment - wall for _, moment in sent] == [timedelta(seconds=s) for s in (0, 1, 10)]
    assert sent[-1][0] == sent[-1][1]
    assert all(created <= at for created, at in sent)
    gaps = [created - sent[0][0] for created, _ in sent]
    assert gaps == [timedelta(seconds=s) for s in (0, 60, 600)]


def test_retime_now_turns_an_overflowing_date_into_a_rejection() -> None:
    records = [make_post(post_id="old", created_at=datetime(1, 1, 2, tzinfo=UTC))]
    now = datetime(2030, 1, 1, tzinfo=UTC)
    future_newest = datetime(9000, 1, 1, tzinfo=UTC)
    (record,) = pacing.retime_now(records, future_newest, now=lambda: now)
    assert isinstance(record, Rejected)
    assert record.reason is RejectReason.BAD_TIME


def test_newest_created_of_no_posts_is_none() -> None:
    assert pacing.newest_created([REJECTED]) is None


@pytest.mark.parametrize("bad", [0, -1])
def test_rate_and_speedup_need_positive_values(bad: float) -> None:
    with pytest.raises(ValueError):
        list(pacing.rate(timeline(0), bad))
    with pytest.raises(ValueError):
        list(pacing.speedup(timeline(0), bad))
