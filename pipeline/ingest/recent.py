"""The producer's memory of post ids it has sent, bounded so a source that runs for weeks does
not grow it without end.

It only feeds the ``duplicates_seen`` count of a run: posts are sent either way, and the master
dataset keeps one row per post id. A re-sent post whose id has already been forgotten is simply
not counted as a duplicate (README, *Duplicates*).
"""

from __future__ import annotations

from collections import OrderedDict


class RecentIds:
    """The ``capacity`` most recently seen distinct ids; the least recently seen is forgotten
    first. Ids are kept as their hash, which is all a membership check needs."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._ids: OrderedDict[int, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._ids)

    def seen_before(self, post_id: str) -> bool:
        """Remember ``post_id``; True when it was still remembered from an earlier call."""
        fingerprint = hash(post_id)
        if fingerprint in self._ids:
            self._ids.move_to_end(fingerprint)
            return True
        self._ids[fingerprint] = None
        if len(self._ids) > self.capacity:
            self._ids.popitem(last=False)
        return False


def repeats(post_ids: list[str], capacity: int) -> list[bool]:
    """For each id in order, whether a memory of ``capacity`` ids counts it as a duplicate."""
    memory = RecentIds(capacity)
    return [memory.seen_before(post_id) for post_id in post_ids]
