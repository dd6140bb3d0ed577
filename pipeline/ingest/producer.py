"""Sending posts to Kafka: valid posts as Avro to ``<ns>.posts`` keyed by author (so each author's
posts stay in order on one partition), rejected input to ``<ns>.posts.dlq`` with its reason.

Delivery is acks=all with idempotence on: a retried send is never written twice. A summary counts
what was read, produced and rejected (by reason); Ctrl-C flushes what was already handed over.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

from kafka import KafkaProducer
from kafka.partitioner import DefaultPartitioner
from kafka.partitioner.default import murmur2

from pipeline.admin import require_kafka
from pipeline.ingest.avro import encode_post
from pipeline.ingest.model import Post, Rejected
from pipeline.settings import Settings

logger = logging.getLogger(__name__)

# Chosen by bench/produce.py on the dev data (see BENCHMARKS.md): none. Every codec costs Python
# CPU per batch on the producer, the one resource a producer process runs out of here, and the
# bytes saved matter little when the broker is on the same machine or the same network. Pass
# `compression=` where the network, not the CPU, is the bottleneck.
DEFAULT_COMPRESSION: str | None = None


class KeyPartitions:
    """Which of a topic's partitions each key goes to, as the default (Java-compatible murmur2)
    partitioner chooses, remembered per key.

    kafka-python hashes every key in pure Python; posts are keyed by author, and the same few
    thousand authors recur millions of times, so a lookup saves the hash on almost every send.
    """

    MAX_KEYS = 1_000_000  # bounds memory on inputs with a huge number of authors

    def __init__(self, partitions: Iterable[int]) -> None:
        self.partitions = sorted(partitions)
        if not self.partitions:
            raise ValueError("a topic has at least one partition")
        self._known: dict[bytes, int] = {}

    def __call__(self, key: bytes) -> int:
        chosen = self._known.get(key)
        if chosen is None:
            chosen = self.partitions[(murmur2(key) & 0x7FFFFFFF) % len(self.partitions)]
            if len(self._known) < self.MAX_KEYS:
                self._known[key] = chosen
        return chosen


class RememberingPartitioner(DefaultPartitioner):  # type: ignore[misc]  # untyped library
    """kafka-python's default partitioner with :class:`KeyPartitions` memory for keyed records.
    The memory is per topic and starts afresh when the topic's partition count changes."""

    def __init__(self) -> None:
        super().__init__()
        self._by_topic: dict[str, KeyPartitions] = {}

    def partition(  # type: ignore[no-untyped-def]
        self, topic, key, serialized_key, value, serialized_value, cluster
    ) -> int:
        partitions = cluster.partitions_for_topic(topic)
        if serialized_key is None or not partitions:
            chosen: int = super().partition(
                topic, key, serialized_key, value, serialized_value, cluster
            )
            return chosen
        known = self._by_topic.get(topic)
        if known is None or len(known.partitions) != len(partitions):
            known = self._by_topic[topic] = KeyPartitions(partitions)
        return known(serialized_key)


@dataclass
class ProduceSummary:
    read: int = 0
    produced: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    duplicates_seen: int = 0
    seconds: float = 0.0
    interrupted: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "read": self.read,
            "produced": self.produced,
            "rejected": dict(sorted(self.rejected.items())),
            "rejected_total": sum(self.rejected.values()),
            "duplicates_seen": self.duplicates_seen,
            "seconds": round(self.seconds, 3),
            "posts_per_second": round(self.read / self.seconds) if self.seconds else None,
            "interrupted": self.interrupted,
        }


def build_producer(settings: Settings, compression: str | None = DEFAULT_COMPRESSION) -> Any:
    require_kafka(settings)
    return KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"{settings.namespace}-producer",
        acks="all",
        enable_idempotence=True,
        compression_type=compression,
        partitioner=RememberingPartitioner(),
        linger_ms=20,
        batch_size=512 * 1024,
        max_request_size=8 * 1024 * 1024,
    )


class ProgressLine:
    """A one-line progress display on a terminal; silent when stderr is not one."""

    def __init__(self, stream: TextIO = sys.stderr, every_seconds: float = 0.5) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self.every = every_seconds
        self._last = 0.0

    def update(self, summary: ProduceSummary, started: float, *, final: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not final and now - self._last < self.every):
            return
        self._last = now
        rate = summary.read / (now - started) if now > started else 0.0
        self.stream.write(
            f"\rread {summary.read:,}  produced {summary.produced:,}  "
            f"rejected {sum(summary.rejected.values()):,}  {rate:,.0f} posts/s"
            + ("\n" if final else "")
        )
        self.stream.flush()


def produce(
    settings: Settings,
    records: Iterable[Post | Rejected],
    *,
    producer: Any | None = None,
    progress: ProgressLine | None = None,
    on_error: Callable[[Exception], None] | None = None,
    senders: int = 1,
) -> ProduceSummary:
    """Send every record; return what happened. The producer is closed unless it was passed in.

    With ``senders`` > 1, posts are sent by that many processes (:mod:`.fanout`), each owning a
    share of the partitions; dead letters are still sent from here.
    """
    if senders < 1:
        raise ValueError("senders must be at least 1")
    own_producer = producer is None
    producer = producer or build_producer(settings)
    progress = progress or ProgressLine()
    summary = ProduceSummary()
    seen: set[int] = set()
    failures: list[Exception] = []

    def failed(exc: Exception) -> None:
        failures.append(exc)
        if on_error:
            on_error(exc)

    topic, dead_letters = settings.posts_topic, settings.dead_letter_topic
    pool = None
    if senders > 1:
        from pipeline.ingest.fanout import SenderPool

        pool = SenderPool(settings, senders, producer.partitions_for(topic))
    started = time.monotonic()
    try:
        for record in records:
            summary.read += 1
            if isinstance(record, Rejected):
                summary.rejected[record.reason.value] += 1
                producer.send(
                    dead_letters,
                    value=record.raw,
                    headers=[
                        ("reason", record.reason.value.encode()),
                        ("origin", record.position.encode()),
                        ("message", record.message.encode()),
                        ("stage", b"producer"),
                    ],
                ).add_errback(failed)
            else:
                fingerprint = hash(record.post_id)
                if fingerprint in seen:
                    summary.duplicates_seen += 1
                seen.add(fingerprint)
                key, value = record.author_id.encode(), encode_post(record)
                if pool is None:
                    producer.send(topic, key=key, value=value).add_errback(failed)
                else:
                    pool.send(key, value)
                summary.produced += 1
            progress.update(summary, started)
    except KeyboardInterrupt:
        summary.interrupted = True
        logger.warning("interrupted: flushing what was already sent")
    finally:
        if pool is not None:
            failures.extend(RuntimeError(failure) for failure in pool.close())
        producer.flush()
        if own_producer:
            producer.close()
        summary.seconds = time.monotonic() - started
        progress.update(summary, started, final=True)
    if failures:
        raise RuntimeError(f"{len(failures)} sends failed; first: {failures[0]}")
    return summary
