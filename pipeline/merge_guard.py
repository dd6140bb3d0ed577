"""Pure checks that keep the high-water mark H honest, with no I/O (tested list-in/list-out).

H is derived from the master job's progress rows and Kafka's offsets (see
:func:`pipeline.views.high_water_mark`). That is only sound while the progress describes the topic
Kafka holds now. Three ordinary operations break it:

- the posts topic is deleted and recreated: a new topic id, offsets restart at 0, while the stored
  progress still holds the old, larger offsets and old append times;
- retention deletes records before the master job read them (the log start passed the job's next
  offset), so the master dataset will never hold them;
- the topic's timestamps are the producer's clock (``CreateTime``) instead of the broker's
  (``LogAppendTime``), so append times do not grow along a partition.

Each check returns sentences that say what is wrong; the batch refuses to move H when there are any.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

LOG_APPEND_TIME = "LogAppendTime"
RESET_HINT = (
    "stop the jobs, then run `trendoff init --reset` (it clears progress, checkpoints and views "
    "together; the master dataset is kept) and start them again; see docs/operations.md"
)


@dataclass(frozen=True)
class StoredProgress:
    """One ``job_progress`` row as the guard needs it."""

    partition: int
    max_offset: int
    topic_id: uuid.UUID | None  # None: written before topic ids were recorded


def progress_problems(
    stored: Iterable[StoredProgress],
    topic_id: uuid.UUID | None,
    start_offsets: Mapping[int, int],
    end_offsets: Mapping[int, int],
) -> list[str]:
    """Why the stored progress does not describe the topic Kafka holds now (empty: it does).

    ``start_offsets``/``end_offsets`` map every partition of the topic to its log start and log
    end. A partition with no stored progress must still have its log start at 0: otherwise records
    the job never read are gone.
    """
    problems: list[str] = []
    seen: set[int] = set()
    for row in sorted(stored, key=lambda item: item.partition):
        seen.add(row.partition)
        if row.topic_id is not None and topic_id is not None and row.topic_id != topic_id:
            problems.append(
                f"partition {row.partition}: progress was recorded for topic id {row.topic_id}, "
                f"but the topic now has id {topic_id} (it was deleted and recreated)"
            )
            continue
        if row.partition not in end_offsets:
            problems.append(
                f"partition {row.partition}: progress exists but the topic has no such partition "
                "(it was recreated with fewer partitions)"
            )
            continue
        end = end_offsets[row.partition]
        if row.max_offset + 1 > end:
            problems.append(
                f"partition {row.partition}: progress reaches offset {row.max_offset} but the "
                f"partition ends at {end} (the topic was recreated or truncated)"
            )
            continue
        problems.extend(_retention_gap(row.partition, row.max_offset + 1, start_offsets))
    for partition in sorted(set(end_offsets) - seen):
        problems.extend(_retention_gap(partition, 0, start_offsets))
    return problems


def _retention_gap(partition: int, next_offset: int, start_offsets: Mapping[int, int]) -> list[str]:
    start = start_offsets.get(partition, 0)
    if start <= next_offset:
        return []
    return [
        f"partition {partition}: Kafka deleted offsets {next_offset}..{start - 1} (retention) "
        "before the master job read them; those posts are not in the master dataset"
    ]


def timestamp_type_problem(topic: str, timestamp_type: str | None) -> str | None:
    """Why a topic's timestamps cannot key the merge (None: they can)."""
    if timestamp_type == LOG_APPEND_TIME:
        return None
    return (
        f"topic {topic} has message.timestamp.type={timestamp_type or 'unknown'}, not "
        f"{LOG_APPEND_TIME}: the merge needs the broker's append time, which only grows along a "
        "partition"
    )


def slot_is_consistent(
    active_slot: int | None, state_run: uuid.UUID | None, slot_runs: Mapping[int, uuid.UUID | None]
) -> bool:
    """Whether the active slot still holds what the run that flipped to it wrote.

    Every run tags the slot it is about to fill with its own id before truncating it, and flips to
    it only when the tag is still its own. So the active slot's tag differs from the run named in
    ``batch_state`` exactly when some other run has begun rewriting that slot. A state written
    before slots were tagged (no tag, or no run) is taken as it is.
    """
    if active_slot is None or state_run is None:
        return True
    tag = slot_runs.get(active_slot)
    return tag is None or tag == state_run
