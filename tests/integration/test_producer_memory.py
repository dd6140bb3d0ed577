"""The producer's memory of sent post ids is bounded by a setting, on the real broker: every post
is still sent, and a re-send counts as a duplicate only while its id is remembered."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.admin import topic_offsets
from pipeline.ingest.model import Post
from pipeline.ingest.producer import produce
from pipeline.settings import Settings

pytestmark = pytest.mark.integration


def post(post_id: str) -> Post:
    return Post(
        post_id=post_id,
        source="file",
        author_id="a1",
        author_handle="a1",
        text=f"tea {post_id}",
        created_at=datetime(2020, 1, 1, tzinfo=UTC),
    )


def test_a_re_sent_post_beyond_the_bound_is_sent_and_not_counted(
    namespace_settings: Settings,
) -> None:
    ids = ["p1", "p2", "p3", "p1"]  # p1 comes back after two other ids
    remembering_two = namespace_settings.model_copy(update={"produce_remembered_ids": 2})
    forgot = produce(remembering_two, [post(post_id) for post_id in ids])
    assert (forgot.produced, forgot.duplicates_seen) == (4, 0)

    remembering_three = namespace_settings.model_copy(update={"produce_remembered_ids": 3})
    counted = produce(remembering_three, [post(post_id) for post_id in ids])
    assert (counted.produced, counted.duplicates_seen) == (4, 1)
    # Counting changes nothing that is sent: all eight posts are on the topic.
    assert topic_offsets(namespace_settings)[namespace_settings.posts_topic] == 8
