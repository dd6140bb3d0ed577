"""How long a streaming query has been inside one micro-batch, from what supervise polls."""

from __future__ import annotations

from pipeline.jobs.stall import StallWatch


def observe_all(polls: list[tuple[float, bool, object]]) -> list[float]:
    watch = StallWatch()
    return [
        watch.observe(now, trigger_active=active, last_batch=batch) for now, active, batch in polls
    ]


def test_one_micro_batch_that_never_ends_keeps_counting() -> None:
    polls = [(0.0, False, 1), (1.0, True, 1), (2.0, True, 1), (61.0, True, 1), (301.0, True, 1)]
    assert observe_all(polls) == [0.0, 0.0, 1.0, 60.0, 300.0]


def test_back_to_back_micro_batches_each_start_the_clock_again() -> None:
    # A backlog keeps the trigger active at every poll, but each finished batch reports progress.
    polls = [(0.0, True, 1), (4.0, True, 1), (5.0, True, 2), (9.0, True, 2), (10.0, True, 3)]
    assert observe_all(polls) == [0.0, 4.0, 0.0, 4.0, 0.0]


def test_an_idle_poll_starts_the_clock_again() -> None:
    polls = [(0.0, True, None), (8.0, True, None), (9.0, False, None), (10.0, True, None)]
    assert observe_all(polls) == [0.0, 8.0, 0.0, 0.0]
