"""The merge guard's pure rules, list-in/list-out: stale progress, retention gaps, timestamp types
and slot tags."""

from __future__ import annotations

import uuid

from pipeline.merge_guard import (
    LOG_APPEND_TIME,
    StoredProgress,
    progress_problems,
    slot_is_consistent,
    timestamp_type_problem,
)

OLD_TOPIC = uuid.UUID("948d5b0b-22e5-424e-b3cd-729f37521c46")
NEW_TOPIC = uuid.UUID("0a6f3c1e-5b7d-4f21-9c3e-2d8b1a4e6f70")


def test_progress_that_matches_the_topic_has_no_problems() -> None:
    stored = [StoredProgress(0, 9, NEW_TOPIC), StoredProgress(1, 4, NEW_TOPIC)]
    assert progress_problems(stored, NEW_TOPIC, {0: 0, 1: 3}, {0: 12, 1: 5}) == []
    # Rows written before topic ids were recorded are judged by their offsets alone.
    assert progress_problems([StoredProgress(0, 9, None)], NEW_TOPIC, {0: 0}, {0: 10}) == []
    # A new, empty partition without progress is fine.
    assert progress_problems([], NEW_TOPIC, {0: 0}, {0: 0}) == []


def test_progress_of_a_deleted_and_recreated_topic_is_named_by_its_topic_id() -> None:
    stored = [StoredProgress(0, 9, OLD_TOPIC), StoredProgress(1, 4, NEW_TOPIC)]
    problems = progress_problems(stored, NEW_TOPIC, {0: 0, 1: 0}, {0: 50, 1: 5})
    assert len(problems) == 1
    assert "partition 0" in problems[0]
    assert str(OLD_TOPIC) in problems[0] and "deleted and recreated" in problems[0]


def test_progress_past_the_partition_end_is_stale_even_without_topic_ids() -> None:
    problems = progress_problems([StoredProgress(2, 99, None)], None, {2: 0}, {2: 7})
    assert problems == [
        "partition 2: progress reaches offset 99 but the partition ends at 7 "
        "(the topic was recreated or truncated)"
    ]


def test_progress_for_a_partition_the_topic_no_longer_has_is_stale() -> None:
    problems = progress_problems([StoredProgress(3, 5, None)], None, {0: 0}, {0: 0})
    assert len(problems) == 1 and "no such partition" in problems[0]


def test_retention_that_deleted_unread_records_is_named_with_the_lost_offsets() -> None:
    stored = [StoredProgress(0, 9, NEW_TOPIC)]
    problems = progress_problems(stored, NEW_TOPIC, {0: 15, 1: 4}, {0: 30, 1: 8})
    assert problems == [
        "partition 0: Kafka deleted offsets 10..14 (retention) before the master job read them; "
        "those posts are not in the master dataset",
        "partition 1: Kafka deleted offsets 0..3 (retention) before the master job read them; "
        "those posts are not in the master dataset",
    ]
    # Retention of records the job had already read loses nothing.
    assert progress_problems(stored, NEW_TOPIC, {0: 10}, {0: 30}) == []


def test_only_log_append_time_can_key_the_merge() -> None:
    assert timestamp_type_problem("ns.posts", LOG_APPEND_TIME) is None
    create_time = timestamp_type_problem("ns.posts", "CreateTime")
    assert create_time is not None and "message.timestamp.type=CreateTime" in create_time
    assert "unknown" in (timestamp_type_problem("ns.posts", None) or "")


def test_the_active_slot_must_carry_the_tag_of_the_run_that_flipped_to_it() -> None:
    flipped_by, rewriting = uuid.uuid1(), uuid.uuid1()
    assert slot_is_consistent(1, flipped_by, {0: rewriting, 1: flipped_by})
    assert not slot_is_consistent(1, flipped_by, {0: flipped_by, 1: rewriting})
    # No batch yet, or a state written before slots were tagged: nothing to check.
    assert slot_is_consistent(None, None, {0: None, 1: None})
    assert slot_is_consistent(0, flipped_by, {0: None, 1: None})
