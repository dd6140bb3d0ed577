"""``trendoff topic tail``: the newest records of the posts topic (or its dead letters), decoded."""

from __future__ import annotations

import json
from collections.abc import Iterator

from kafka import KafkaConsumer, TopicPartition

from pipeline.admin import require_kafka
from pipeline.ingest.avro import AvroDecodeError, decode_post
from pipeline.settings import Settings
from pipeline.tls import kafka_client_options


def tail(settings: Settings, count: int, *, dead_letters: bool = False) -> Iterator[str]:
    """One JSON line per record, oldest first, at most ``count`` of them."""
    require_kafka(settings)
    topic = settings.dead_letter_topic if dead_letters else settings.posts_topic
    consumer = KafkaConsumer(
        **kafka_client_options(settings),
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
    )
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        ends = consumer.end_offsets(partitions)
        starts = consumer.beginning_offsets(partitions)
        for partition in partitions:
            consumer.seek(partition, max(starts[partition], ends[partition] - count))
        remaining = sum(min(count, ends[p] - starts[p]) for p in partitions)
        messages = []
        for message in consumer:
            messages.append(message)
            remaining -= 1
            if remaining <= 0:
                break
    finally:
        consumer.close()
    messages.sort(key=lambda message: (message.timestamp, message.partition, message.offset))
    for message in messages[-count:]:
        yield json.dumps(_describe(message, dead_letters), ensure_ascii=False, default=str)


def _describe(message: object, dead_letter: bool) -> dict[str, object]:
    where = {"partition": message.partition, "offset": message.offset}  # type: ignore[attr-defined]
    value: bytes = message.value  # type: ignore[attr-defined]
    if dead_letter:
        headers = {key: raw.decode(errors="replace") for key, raw in message.headers or []}  # type: ignore[attr-defined]
        return {**where, **headers, "raw": value.decode("utf-8", errors="replace")[:500]}
    try:
        return {**where, **decode_post(value)}
    except AvroDecodeError as exc:
        return {**where, "error": str(exc)}
