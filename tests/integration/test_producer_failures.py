"""The producer against the real broker: a record over the topic's message limit is a dead
letter, a send the broker refuses is counted and reported (summary, log, exit status), never a
traceback and never a silent loss."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from kafka.admin import ConfigResource, ConfigResourceType

from pipeline.admin import admin_client
from pipeline.ingest.avro import decode_post
from pipeline.ingest.limits import RECORD_OVERHEAD_BYTES, topic_message_limit
from pipeline.ingest.model import Post
from pipeline.ingest.producer import produce
from pipeline.logs import configure_logging
from pipeline.settings import Settings
from tests.integration.test_ingest_roundtrip import consume_all

pytestmark = pytest.mark.integration

SMALL_LIMIT = 16 * 1024


def post(number: int, text_bytes: int) -> Post:
    return Post(
        post_id=f"p{number}",
        source="file",
        author_id=f"a{number % 7}",
        author_handle=f"a{number % 7}",
        text="t" * text_bytes,
        created_at=datetime(2020, 1, 1, tzinfo=UTC),
    )


def set_topic_limit(settings: Settings, topic: str, limit: int) -> None:
    admin = admin_client(settings)
    try:
        admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, configs={"max.message.bytes": limit})]
        )
    finally:
        admin.close()
    deadline = time.monotonic() + 30
    while topic_message_limit(settings) != limit and time.monotonic() < deadline:
        time.sleep(0.2)
    assert topic_message_limit(settings) == limit


def test_a_post_over_the_topics_message_limit_is_a_dead_letter(
    namespace_settings: Settings,
) -> None:
    settings = namespace_settings
    set_topic_limit(settings, settings.posts_topic, SMALL_LIMIT)
    records = [post(0, 100), post(1, SMALL_LIMIT), post(2, 100)]

    summary = produce(settings, records)

    assert summary.produced == 2
    assert dict(summary.rejected) == {"record_too_large": 1}
    assert summary.failed == 0
    delivered = [
        decode_post(m.value)["post_id"] for m in consume_all(settings, settings.posts_topic)
    ]
    assert sorted(delivered) == ["p0", "p2"]
    [letter] = consume_all(settings, settings.dead_letter_topic)
    headers = dict(letter.headers)
    assert headers["reason"] == b"record_too_large"
    assert f"at most {SMALL_LIMIT - RECORD_OVERHEAD_BYTES:,}".encode() in headers["message"]
    assert b'"post_id": "p1"' in letter.value


def test_sends_the_broker_refuses_are_counted_logged_and_reported(
    namespace_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """The issue's failure: the broker refuses records (MessageSizeTooLarge). Here the topic's
    limit is lowered after the producer has read it, so the posts pass the producer's own size
    check and only the broker can refuse them."""
    settings = namespace_settings
    configure_logging("INFO")
    caplog.set_level(logging.WARNING)
    small, big = 50, 20

    def records() -> Iterator[Post]:
        for number in range(small):
            yield post(number, 100)
        time.sleep(1)  # the small posts' batches leave first (linger is 20 ms)
        set_topic_limit(settings, settings.posts_topic, 2048)
        for number in range(small, small + big):
            yield post(number, 8 * 1024)

    summary = produce(settings, records())

    assert summary.read == small + big
    assert summary.produced == small
    assert summary.failed_posts == big
    assert summary.to_json()["failed"] == big
    assert summary.failures and "MessageSizeTooLarge" in summary.failures[0]
    assert len(consume_all(settings, settings.posts_topic)) == small
    logged = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert any("could not be sent" in record.getMessage() for record in logged)
    # The Kafka client's own account of the refusal is not muted either.
    assert any(record.name.startswith("kafka.producer") for record in caplog.records)
