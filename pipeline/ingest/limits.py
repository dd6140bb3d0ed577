"""The producer's last word on each post, and the broker's message limit it needs for that.

Every post passes :func:`sendable` before it is handed to Kafka, whoever built it (a source, the
demo generator, a move in time): :func:`~pipeline.ingest.model.check_post` (field sizes, time
range), an Avro encoding (a lone surrogate cannot be encoded), and a size within the topic's
``max.message.bytes``, which :func:`topic_message_limit` reads from the broker. A post that fails
becomes a :class:`~pipeline.ingest.model.Rejected` record, so it ends as a dead letter with its
reason instead of an exception or a send the broker refuses.
"""

from __future__ import annotations

import logging

from kafka.admin import ConfigResource, ConfigResourceType
from kafka.errors import KafkaError

from pipeline.admin import admin_client
from pipeline.errors import TrendoffError
from pipeline.ingest.avro import PostEncodeError, encode_post
from pipeline.ingest.dead_letters import rejected_post
from pipeline.ingest.model import InvalidRecord, Post, Rejected, RejectReason, check_post
from pipeline.settings import Settings

logger = logging.getLogger(__name__)

# What a record adds to its key and value inside a batch (batch header 61 bytes, then per record
# length varints, offsets, timestamp and headers): generous, so a post that passes the size check
# is never refused by the broker.
RECORD_OVERHEAD_BYTES = 1024
# Kafka's default max.message.bytes, used when the topic's own value cannot be read.
DEFAULT_MESSAGE_LIMIT = 1_048_588


def topic_message_limit(settings: Settings) -> int:
    """The smallest ``max.message.bytes`` of the namespace's topics, as the broker reports it.

    Raises :class:`TrendoffError` when a topic does not exist: sending to it would only wait for
    metadata that never comes.
    """
    topics = [settings.posts_topic, settings.dead_letter_topic]
    admin = admin_client(settings)
    try:
        missing = sorted(set(topics) - set(admin.list_topics()))
        if missing:
            raise TrendoffError(
                f"Kafka topic(s) {', '.join(missing)} do not exist",
                hint="create them with `trendoff init`",
            )
        described = admin.describe_configs(
            [
                ConfigResource(ConfigResourceType.TOPIC, topic, configs=["max.message.bytes"])
                for topic in topics
            ],
            config_filter="all",
        )
    except KafkaError as exc:
        logger.warning(
            "cannot read the topics' max.message.bytes (%s); assuming Kafka's default %d",
            exc,
            DEFAULT_MESSAGE_LIMIT,
        )
        return DEFAULT_MESSAGE_LIMIT
    finally:
        admin.close()
    limits = [
        int(configs["max.message.bytes"]["value"])
        for configs in described.get("topic", {}).values()
        if "max.message.bytes" in configs
    ]
    return min(limits, default=DEFAULT_MESSAGE_LIMIT)


def sendable(post: Post, value_limit: int) -> tuple[bytes, bytes] | Rejected:
    """The key and Avro value of ``post``, or why it cannot be sent: a limit of
    :func:`~pipeline.ingest.model.check_post`, a value Avro cannot carry (a lone surrogate), or
    a record over ``value_limit`` bytes."""
    try:
        check_post(post)
        key, value = post.author_id.encode(), encode_post(post)
    except InvalidRecord as invalid:
        return rejected_post(post, invalid.reason, invalid.message)
    except (PostEncodeError, UnicodeEncodeError) as exc:
        reason = (
            RejectReason.INVALID_UTF8
            if isinstance(exc, UnicodeEncodeError) or isinstance(exc.__cause__, UnicodeEncodeError)
            else RejectReason.BAD_TYPE
        )
        return rejected_post(post, reason, str(exc))
    if len(key) + len(value) > value_limit:
        return rejected_post(
            post,
            RejectReason.RECORD_TOO_LARGE,
            f"the encoded post is {len(key) + len(value):,} bytes; the topic takes at most "
            f"{value_limit:,} (max.message.bytes less {RECORD_OVERHEAD_BYTES} for overhead)",
        )
    return key, value
