"""Sending posts from several processes at once (``trendoff produce --senders N``).

kafka-python does its per-record work (record accumulator, batch builder) in pure Python and under
the GIL, so one process tops out near 24,000 sends/s on the development machine while parsing and
encoding alone run at 130,000 posts/s (BENCHMARKS.md). Here the reading process keeps parsing,
validating, encoding and choosing each post's partition, and hands the encoded posts in batches to
sender processes, each with its own idempotent producer. Sender ``i`` owns the partitions ``p``
with ``p % senders == i``: all posts of an author (one key, one partition) pass through one sender,
in input order, so per-author order holds exactly as with a single producer.

Each sender reports how many posts Kafka acknowledged; the pool counts every post it handed over
and not acknowledged as failed (:attr:`SenderPool.failed_posts`), so nothing is lost unnoticed.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import signal
from collections.abc import Iterable
from typing import Any

from pipeline.ingest.limits import DEFAULT_MESSAGE_LIMIT
from pipeline.ingest.outage import KafkaOutage, PatientSender
from pipeline.ingest.producer import KeyPartitions, build_producer, fresh_producer
from pipeline.ingest.report import REPORTED_FAILURES
from pipeline.settings import Settings

logger = logging.getLogger(__name__)

# Posts per hand-over: large enough that pickling and the queue cost little per post, small
# enough that a sender starts early and an interrupted run has little in flight.
BATCH_POSTS = 2_000
# Hand-overs waiting per sender: bounds memory when senders fall behind the reader.
QUEUED_BATCHES = 8
# How long to wait for a sender that has stopped taking batches before asking whether it lives.
LIVENESS_SECONDS = 1.0

Batch = list[tuple[int, bytes, bytes]]  # (partition, key, Avro value)
# (sender index, posts Kafka acknowledged, first failures, failure count, posts sent again)
Report = tuple[int, int, list[str], int, int]


class SenderPool:
    """Sender processes for one topic. ``send`` routes a post; ``close`` flushes and stops them."""

    def __init__(
        self,
        settings: Settings,
        senders: int,
        partitions: Iterable[int],
        *,
        message_limit: int = DEFAULT_MESSAGE_LIMIT,
    ) -> None:
        if senders < 2:
            raise ValueError("a sender pool has at least two senders; use one producer otherwise")
        self.topic = settings.posts_topic
        self._partition_of = KeyPartitions(partitions)
        # spawn, not fork: the reading process may already run threads (its own producer's), and
        # a forked copy of a thread's locks can deadlock.
        context = multiprocessing.get_context("spawn")
        self._inboxes = [context.Queue(maxsize=QUEUED_BATCHES) for _ in range(senders)]
        self._reports: Any = context.Queue()
        self._processes = [
            context.Process(
                target=run_sender,
                args=(settings, index, inbox, self._reports, message_limit),
                name=f"trendoff-sender-{index}",
                daemon=True,
            )
            for index, inbox in enumerate(self._inboxes)
        ]
        for process in self._processes:
            process.start()
        self._pending: list[Batch] = [[] for _ in range(senders)]
        self._handed = [0] * senders  # posts handed over to each sender
        self._early_reports: list[Report] = []
        self._closed = False
        self.failed_posts = 0  # known after close(): handed over but never acknowledged
        self.sent_again = 0  # known after close(): posts the senders sent again after an outage

    def send(self, key: bytes, value: bytes) -> None:
        partition = self._partition_of(key)
        owner = partition % len(self._inboxes)
        pending = self._pending[owner]
        pending.append((partition, key, value))
        if len(pending) >= BATCH_POSTS:
            self._hand_over(owner, pending)
            self._pending[owner] = []

    def close(self) -> list[str]:
        """Hand over what is pending, let every sender flush and stop; the failures they saw.
        Afterwards :attr:`failed_posts` counts the posts handed over and not acknowledged."""
        if self._closed:
            return []
        self._closed = True
        failures: list[str] = []
        reported: set[int] = set()
        unsent = 0  # pending posts a stopped sender never took
        for owner, pending in enumerate(self._pending):
            try:
                if pending:
                    self._hand_over(owner, pending)
                self._hand_over(owner, None)
            except RuntimeError as exc:  # that sender is gone; the others still flush
                failures.append(str(exc))
                unsent += len(pending)
        acknowledged = [0] * len(self._processes)

        def absorb(report: Report) -> None:
            index, delivered, errors, error_count, sent_again = report
            reported.add(index)
            self.sent_again += sent_again
            acknowledged[index] = delivered
            failures.extend(errors)
            if error_count > len(errors):
                failures.append(f"… and {error_count - len(errors)} more in sender {index}")
            logger.debug("sender %d delivered %d posts", index, delivered)

        for report in self._early_reports:
            absorb(report)
        while len(reported) < len(self._processes):
            try:
                absorb(self._reports.get(timeout=LIVENESS_SECONDS))
                continue
            except queue.Empty:
                pass
            dead = [
                index
                for index, process in enumerate(self._processes)
                if index not in reported and not process.is_alive()
            ]
            if not dead:
                continue
            # A sender reports before it exits; a report may still be on its way.
            try:
                absorb(self._reports.get(timeout=LIVENESS_SECONDS))
                continue
            except queue.Empty:
                pass
            for index in dead:
                process = self._processes[index]
                failures.append(
                    f"{process.name} exited ({process.exitcode}) without a report; the "
                    f"{self._handed[index]:,} posts handed to it count as failed"
                )
                reported.add(index)
        for process in self._processes:
            process.join()
        for inbox in self._inboxes:
            # Every sender has stopped: whatever a queue still buffers for a sender that died can
            # never be read, and waiting at exit to flush it into a full pipe would hang for ever.
            inbox.cancel_join_thread()
            inbox.close()
        self.failed_posts = unsent + sum(
            handed - delivered for handed, delivered in zip(self._handed, acknowledged, strict=True)
        )
        return failures

    def _hand_over(self, owner: int, batch: Batch | None) -> None:
        while True:
            try:
                self._inboxes[owner].put(batch, timeout=LIVENESS_SECONDS)
                if batch is not None:
                    self._handed[owner] += len(batch)
                return
            except queue.Full:
                process = self._processes[owner]
                if not process.is_alive():
                    raise RuntimeError(f"{process.name} stopped: {self._why(owner)}") from None

    def _why(self, owner: int) -> str:
        """The first failure a stopped sender reported (it reports before it exits)."""
        while True:
            try:
                self._early_reports.append(self._reports.get(timeout=LIVENESS_SECONDS / 5))
            except queue.Empty:
                break
        for index, _, errors, _, _ in self._early_reports:
            if index == owner and errors:
                return errors[0]
        return f"it exited with code {self._processes[owner].exitcode} and no report"


def run_sender(
    settings: Settings,
    index: int,
    inbox: Any,
    reports: Any,
    message_limit: int = DEFAULT_MESSAGE_LIMIT,
) -> None:
    """A sender process: send every batch from ``inbox`` to its partitions until ``None``, flush,
    report ``(index, posts acknowledged, first failures, failure count, posts sent again)``.
    Kafka outages are waited out as by a single producer (:mod:`.outage`)."""
    # Ctrl-C reaches every process of the terminal's group; the reading process decides when to
    # stop, and a sender must first send and flush what it was handed.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    errors: list[str] = []
    error_count = 0
    delivered = 0

    def failed(exc: Exception) -> None:
        nonlocal error_count
        error_count += 1
        if len(errors) < REPORTED_FAILURES:
            errors.append(f"{type(exc).__name__}: {exc}")

    def acknowledged(_: Any) -> None:  # runs on the producer's one I/O thread
        nonlocal delivered
        delivered += 1

    producer = sender = None
    try:
        producer = build_producer(settings, message_limit=message_limit)
        sender = PatientSender(
            producer,
            settings.produce_outage_seconds,
            renew=lambda: fresh_producer(settings, message_limit=message_limit),
        )
        topic = settings.posts_topic
        while (batch := inbox.get()) is not None:
            for partition, key, value in batch:
                sender.send(
                    topic,
                    value,
                    key=key,
                    partition=partition,
                    delivered=acknowledged,
                    failed=failed,
                )
        sender.settle()
    except KafkaOutage:
        pass  # the post that met it is counted by `failed`; the reader learns it from the report
    except Exception as exc:  # noqa: BLE001 - reported to the reading process
        failed(exc)
    finally:
        if sender is not None:
            sender.settle(send_again=False)
        if sender is not None:
            sender.producer.close()  # waits for what is in flight, so every callback has run
        elif producer is not None:
            producer.close()
        sent_again = sender.sent_again if sender is not None else 0
        reports.put((index, delivered, errors, error_count, sent_again))
