"""The whole dev file through the producer and back out of Kafka: nothing lost, nothing doubled,
every rejected row accounted for by reason — checked against a count that shares no code with
the CSV source."""

from __future__ import annotations

import csv
import gzip
import hashlib
import sys
from collections import Counter
from datetime import UTC, datetime

import pytest
from kafka import KafkaConsumer, TopicPartition

from pipeline.ingest.avro import decode_post
from pipeline.ingest.producer import produce
from pipeline.ingest.sources import open_source
from tests.conftest import DEV_TWEETS

pytestmark = pytest.mark.integration

MAX_TEXT_BYTES = 64 * 1024


def fingerprint(author: str, created_at: datetime, text: str) -> int:
    digest = hashlib.blake2b(
        f"{author}\x1f{created_at.isoformat()}\x1f{text}".encode(), digest_size=8
    )
    return int.from_bytes(digest.digest(), "big")


def independent_count() -> tuple[Counter[str], int, Counter[str]]:
    """Per-author valid rows, an order-independent checksum, and invalid rows by reason."""
    csv.field_size_limit(sys.maxsize)
    authors: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    checksum = 0
    with gzip.open(DEV_TWEETS, "rt", encoding="utf-8", newline="") as text:
        for row in csv.DictReader(text):
            author, content = row["author_id"].strip(), row["content"]
            stamp = row["publish_date"].strip()
            if not author:
                rejected["missing_author"] += 1
            elif not content.strip():
                rejected["missing_text"] += 1
            elif not stamp:
                rejected["missing_time"] += 1
            elif len(content.encode()) > MAX_TEXT_BYTES:
                rejected["text_too_long"] += 1
            else:
                try:
                    created = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
                except ValueError:
                    rejected["bad_time"] += 1
                    continue
                authors[author] += 1
                checksum = (checksum + fingerprint(author, created, content)) % 2**64
    return authors, checksum, rejected


def consume_all(settings, topic: str) -> list:
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        ends = consumer.end_offsets(partitions)
        messages = []
        remaining = {p for p in partitions if ends[p] > 0}
        while remaining:
            for partition, batch in consumer.poll(timeout_ms=5000, max_records=50_000).items():
                messages.extend(batch)
                if consumer.position(partition) >= ends[partition]:
                    remaining.discard(partition)
        return messages
    finally:
        consumer.close()


def test_whole_dev_file_round_trips_exactly(namespace_settings) -> None:
    settings = namespace_settings
    summary = produce(settings, open_source("csv", [DEV_TWEETS], fmt="ira").records())
    authors, checksum, rejected = independent_count()

    assert summary.produced == sum(authors.values())
    assert dict(summary.rejected) == dict(rejected)

    seen_authors: Counter[str] = Counter()
    seen_checksum = 0
    for message in consume_all(settings, settings.posts_topic):
        post = decode_post(message.value)
        assert message.key == post["author_id"].encode()
        seen_authors[post["author_handle"]] += 1
        seen_checksum = (
            seen_checksum + fingerprint(post["author_handle"], post["created_at"], post["text"])
        ) % 2**64
    assert seen_authors == authors
    assert seen_checksum == checksum

    reasons = Counter(
        dict(message.headers)["reason"].decode()
        for message in consume_all(settings, settings.dead_letter_topic)
    )
    assert reasons == rejected
