"""Sending posts to Kafka: valid posts as Avro to ``<ns>.posts`` keyed by author (so each author's
posts stay in order on one partition), rejected input to ``<ns>.posts.dlq`` with its reason.

Delivery is acks=all with idempotence on: a retried send is never written twice. A summary counts
what was read, produced and rejected (by reason); Ctrl-C flushes what was already handed over.

Nothing is dropped silently. Every post passes :func:`~pipeline.ingest.model.check_post` (field
sizes, time range) and must encode to Avro and fit the topic's ``max.message.bytes`` (read from
the broker at start); otherwise it becomes a dead letter with its reason. A Kafka outage is
waited out (:mod:`.outage`): records are kept and sent again until Kafka takes them, for up to
``TRENDOFF_PRODUCE_OUTAGE_SECONDS``; a send that still fails then (or that the broker refuses) is
counted in ``failed`` and logged, and the CLI exits with status 1.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError
from kafka.partitioner import DefaultPartitioner
from kafka.partitioner.default import murmur2

from pipeline.admin import require_kafka
from pipeline.ingest.dead_letters import dead_letter
from pipeline.ingest.limits import (
    DEFAULT_MESSAGE_LIMIT,
    RECORD_OVERHEAD_BYTES,
    sendable,
    topic_message_limit,
)
from pipeline.ingest.model import Post, Rejected
from pipeline.ingest.outage import (
    DELIVERY_TIMEOUT_MS,
    MAX_BLOCK_MS,
    KafkaOutage,
    PatientSender,
)
from pipeline.ingest.recent import RecentIds
from pipeline.ingest.report import ProduceSummary, ProgressLine, SendFailures
from pipeline.settings import Settings
from pipeline.tls import kafka_client_options

logger = logging.getLogger(__name__)

# Chosen by bench/produce.py on the dev data (see BENCHMARKS.md): none. Every codec costs Python
# CPU per batch on the producer, the one resource a producer process runs out of here, and the
# bytes saved matter little when the broker is on the same machine or the same network. Pass
# `compression=` where the network, not the CPU, is the bottleneck.
DEFAULT_COMPRESSION: str | None = None
# Records are batched up to this many bytes per partition (fewer requests, less Python per post),
# or up to the topic's message limit when that is smaller: a batch is one message to the broker.
BATCH_BYTES = 512 * 1024


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


def build_producer(
    settings: Settings,
    compression: str | None = DEFAULT_COMPRESSION,
    *,
    message_limit: int = DEFAULT_MESSAGE_LIMIT,
) -> Any:
    require_kafka(settings)
    return KafkaProducer(
        **kafka_client_options(settings),
        client_id=f"{settings.namespace}-producer",
        acks="all",
        enable_idempotence=True,
        compression_type=compression,
        partitioner=RememberingPartitioner(),
        linger_ms=20,
        batch_size=max(1024, min(BATCH_BYTES, message_limit - RECORD_OVERHEAD_BYTES)),
        max_request_size=8 * 1024 * 1024,
        delivery_timeout_ms=DELIVERY_TIMEOUT_MS,
        max_block_ms=MAX_BLOCK_MS,
    )


def fresh_producer(settings: Settings, *, message_limit: int = DEFAULT_MESSAGE_LIMIT) -> Any:
    """A new client that has fetched the posts topic's metadata, which proves Kafka answers; it
    replaces a stuck one (:class:`~pipeline.ingest.outage.PatientSender`). Raises while Kafka is
    away."""
    producer = build_producer(settings, message_limit=message_limit)
    try:
        producer.partitions_for(settings.posts_topic)  # waits at most MAX_BLOCK_MS
    except BaseException:
        producer.close(timeout=0)
        raise
    return producer


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

    Never raises for a record or a failed send: bad records become dead letters, failed sends are
    counted in the summary (``failed_posts``, ``failed_dead_letters``, the first ``failures``).
    With ``senders`` > 1, posts are sent by that many processes (:mod:`.fanout`), each owning a
    share of the partitions; dead letters are still sent from here.
    """
    if senders < 1:
        raise ValueError("senders must be at least 1")
    message_limit = topic_message_limit(settings)
    value_limit = message_limit - RECORD_OVERHEAD_BYTES
    own_producer = producer is None
    producer = producer or build_producer(settings, message_limit=message_limit)
    progress = progress or ProgressLine()
    summary = ProduceSummary()
    seen = RecentIds(settings.produce_remembered_ids)
    failures = SendFailures(on_error)
    post_failed, dead_letter_failed = failures.errback("post"), failures.errback("dead letter")
    delivered = 0

    def post_delivered(_: Any) -> None:  # runs on the producer's one I/O thread
        nonlocal delivered
        delivered += 1

    topic, dead_letters = settings.posts_topic, settings.dead_letter_topic
    pool = None
    if senders > 1:
        from pipeline.ingest.fanout import SenderPool

        pool = SenderPool(
            settings, senders, producer.partitions_for(topic), message_limit=message_limit
        )

    # A client passed in is the caller's: it is never replaced behind the caller's back.
    sender = PatientSender(
        producer,
        settings.produce_outage_seconds,
        renew=(lambda: fresh_producer(settings, message_limit=message_limit))
        if own_producer
        else None,
    )

    def stop(exc: Exception) -> None:
        outage = isinstance(exc, KafkaOutage)
        summary.stopped = str(exc) if outage else f"{type(exc).__name__}: {exc}"
        logger.error("stopped reading: %s", summary.stopped)

    def dead_letter_delivered(_: Any) -> None:
        pass

    def send_dead_letter(rejected: Rejected) -> bool:
        summary.rejected[rejected.reason.value] += 1
        value, headers = dead_letter(rejected)
        try:
            sender.send(
                dead_letters,
                value,
                headers=headers,
                delivered=dead_letter_delivered,
                failed=dead_letter_failed,
            )
        except KafkaOutage as exc:  # counted as a failed dead letter by the sender
            stop(exc)
            return False
        except KafkaError as exc:
            dead_letter_failed(exc)
            stop(exc)
            return False
        return True

    handed_over = 0
    started = time.monotonic()
    try:
        for record in records:
            summary.read += 1
            if isinstance(record, Rejected):
                if not send_dead_letter(record):
                    break
                progress.update(summary, started)
                continue
            checked = sendable(record, value_limit)
            if isinstance(checked, Rejected):
                if not send_dead_letter(checked):
                    break
                progress.update(summary, started)
                continue
            if seen.seen_before(record.post_id):
                summary.duplicates_seen += 1
            key, value = checked
            handed_over += 1
            if pool is None:
                try:
                    sender.send(topic, value, key=key, delivered=post_delivered, failed=post_failed)
                except KafkaOutage as exc:  # Kafka is gone for good: reading on would only fail
                    stop(exc)
                    break
                except KafkaError as exc:
                    post_failed(exc)
                    stop(exc)
                    break
            else:
                try:
                    pool.send(key, value)
                except RuntimeError as exc:  # a sender stopped: reading on would only fail
                    summary.stopped = str(exc)
                    logger.error("stopped reading: %s", exc)
                    break
            summary.produced = delivered if pool is None else handed_over
            progress.update(summary, started)
    except KeyboardInterrupt:
        summary.interrupted = True
        logger.warning("interrupted: flushing what was already sent")
    finally:
        pool_failures = pool.close() if pool is not None else []
        # After Ctrl-C, what failed during an outage is not waited for again.
        sender.settle(send_again=not summary.interrupted)
        if own_producer:
            sender.producer.close()
        summary.seconds = time.monotonic() - started
        summary.sent_again = sender.sent_again + (pool.sent_again if pool is not None else 0)
    if pool is None:
        # Acknowledged posts are counted one by one; whatever else was handed over failed, with
        # an error (counted by the errback) or without one (never completed).
        summary.produced = delivered
        unexplained = handed_over - delivered - failures.posts
        if unexplained > 0:
            failures.add_counted("post", unexplained, [f"{unexplained} sends never completed"])
    else:
        failures.add_counted("post", pool.failed_posts, pool_failures)
        summary.produced = handed_over - pool.failed_posts
    summary.failed_posts = failures.posts
    summary.failed_dead_letters = failures.dead_letters
    summary.failures = failures.first
    progress.update(summary, started, final=True)
    if summary.failed:
        logger.error(
            "%d posts and %d dead letters could not be sent; first: %s",
            summary.failed_posts,
            summary.failed_dead_letters,
            summary.failures[0] if summary.failures else "?",
        )
    return summary
