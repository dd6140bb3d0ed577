"""The producer's bounded memory of post ids: what it counts as a duplicate, and that it never
holds more than its capacity."""

from __future__ import annotations

import pytest

from pipeline.ingest.recent import RecentIds, repeats


def test_an_id_within_the_bound_is_a_duplicate() -> None:
    assert repeats(["a", "b", "a", "c", "b"], capacity=3) == [False, False, True, False, True]


def test_an_id_forgotten_beyond_the_bound_is_not_counted() -> None:
    # Capacity 2: by the second "a", "b" and "c" have pushed it out.
    assert repeats(["a", "b", "c", "a"], capacity=2) == [False, False, False, False]


def test_a_repeat_refreshes_the_id_so_the_least_recently_seen_goes_first() -> None:
    # "a" seen again before "c" arrives: "b" is the one forgotten, "a" is still remembered.
    assert repeats(["a", "b", "a", "c", "a", "b"], capacity=2) == [
        False,
        False,
        True,
        False,
        True,
        False,
    ]


def test_memory_never_exceeds_its_capacity() -> None:
    memory = RecentIds(1000)
    sizes = set()
    for number in range(10_000):
        memory.seen_before(f"post-{number}")
        sizes.add(len(memory))
    assert max(sizes) == 1000
    assert len(memory) == 1000


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RecentIds(0)
