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


def test_retime_now_keeps_gaps() -> None:
    now = datetime(2030, 5, 5, 12, tzinfo=UTC)
    records = [*timeline(0, 90), REJECTED, *timeline(3600)]
    retimed = list(pacing.retime_now(records, now=lambda: now))
    times = [r.created_at for r in retimed if isinstance(r, Post)]
    assert times == [now, now + timedelta(seconds=90), now + timedelta(hours=1)]
    assert retimed[2] is REJECTED


@pytest.mark.parametrize("bad", [0, -1])
def test_rate_and_speedup_need_positive_values(bad: float) -> None:
    with pytest.raises(ValueError):
        list(pacing.rate(timeline(0), bad))
    with pytest.raises(ValueError):
        list(pacing.speedup(timeline(0), bad))
