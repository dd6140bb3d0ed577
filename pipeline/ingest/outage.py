"""Sending through a Kafka outage: every record is kept until Kafka takes it, or until the outage
has lasted longer than the user is willing to wait.

kafka-python retries a send in flight for ``delivery_timeout_ms`` and lets ``send()`` wait
``max_block_ms`` for metadata or buffer space; past either the record fails. Left at that, a
broker restart that takes longer than those limits loses posts from a replay or stops it.
:class:`PatientSender` waits instead: a ``send()`` that times out is tried again, and a record
whose delivery failed with a retriable error (the broker gone, a leader moving, a batch expired)
is sent again, until no record has been acknowledged for ``patience_seconds``. Then it gives up
as before: what is left counts as failed, and :class:`KafkaOutage` tells the reader to stop.

Sending a record again may write it twice to the topic: the first attempt may have reached the
log just before the broker died without answering. That is safe by design: the master dataset
keeps one row per post id, and the speed layer's double count lasts only until the next batch
run (README, *Duplicates*). Posts of one author may also arrive out of order after an outage;
no view depends on the order of arrival.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from kafka.errors import (
    InvalidProducerEpochError,
    KafkaError,
    KafkaTimeoutError,
    OutOfOrderSequenceNumberError,
    UnknownProducerIdError,
)

logger = logging.getLogger(__name__)

# How long a send may take, retries included, before kafka-python fails it (and it is sent again).
DELIVERY_TIMEOUT_MS = 120_000
# How long send() may wait for topic metadata or buffer space before it raises (and is tried again).
MAX_BLOCK_MS = 30_000
# While Kafka is away, one warning per this many seconds says so.
WARN_EVERY_SECONDS = 30.0

Delivered = Callable[[Any], None]
Failed = Callable[[Exception], None]
Headers = Sequence[tuple[str, bytes]]


class KafkaOutage(RuntimeError):
    """Kafka acknowledged nothing for longer than the producer's patience."""


class _Pending(NamedTuple):
    topic: str
    key: bytes | None
    value: bytes
    partition: int | None
    headers: Headers | None
    delivered: Delivered
    failed: Failed


# The broker lost or no longer accepts the idempotent producer's sequence state, as after a
# `kill -9` took its producer snapshot with it. kafka-python (3.0.12) fails every batch in flight
# with one of these, not retriable in its own terms, and bumps its producer epoch (KIP-360): a
# record sent again goes out under the new epoch and is taken.
_LOST_PRODUCER_STATE = (
    OutOfOrderSequenceNumberError,
    UnknownProducerIdError,
    InvalidProducerEpochError,
)


def worth_sending_again(exc: Exception) -> bool:
    """A delivery error that a later attempt may not meet: the broker was unreachable, a batch
    expired, a leader moved, the broker lost the producer's sequence state. Not a record the
    broker refuses (too large, a bad topic)."""
    return isinstance(exc, (KafkaTimeoutError, *_LOST_PRODUCER_STATE)) or bool(
        getattr(exc, "retriable", False)
    )


class PatientSender:
    """Sends through a ``KafkaProducer``, riding out outages of up to ``patience_seconds``.

    The outage clock starts at the first failed send or delivery after an acknowledgement and
    stops at the next acknowledgement. ``send()`` blocks while Kafka is away (the client's own
    wait, ``max_block_ms`` at a time); ``settle()`` at the end flushes and sends again whatever
    failed on the way, so that when it returns every record has been acknowledged or failed.
    """

    def __init__(
        self,
        producer: Any,
        patience_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._producer = producer
        self.patience_seconds = patience_seconds
        self._clock = clock
        self._to_send_again: deque[_Pending] = deque()
        self._lock = threading.Lock()  # the outage clock is touched by the producer's I/O thread
        self._trouble_since: float | None = None
        self._last_warning = float("-inf")
        self._last_acknowledged = clock()
        self.sent_again = 0
        self.longest_outage_seconds = 0.0

    def send(
        self,
        topic: str,
        value: bytes,
        *,
        key: bytes | None = None,
        partition: int | None = None,
        headers: Headers | None = None,
        delivered: Delivered,
        failed: Failed,
    ) -> None:
        """Hand one record to the client. Raises :class:`KafkaOutage` when the patience has run
        out (the record is then counted as failed), and any error the client raises for the record
        itself (too large): the caller decides about those."""
        pending = _Pending(topic, key, value, partition, headers, delivered, failed)
        if self._to_send_again:
            try:
                self._send_failed_again()
            except KafkaOutage as outage:
                failed(outage)
                raise
        self._hand_over(pending)

    def settle(self, *, send_again: bool = True) -> None:
        """Wait for every record in flight; send again what failed, until each is acknowledged or
        the patience runs out. With ``send_again`` False (Ctrl-C), what failed stays failed."""
        while True:
            flush_fully(self._producer, self.patience_seconds)
            if not self._to_send_again:
                return
            if not send_again:
                self._give_up_on_waiting(KafkaOutage("stopped before Kafka took them again"))
                return
            try:
                self._send_failed_again()
            except KafkaOutage as exc:
                self._give_up_on_waiting(exc)
                flush_fully(self._producer, self.patience_seconds)
                return

    def _hand_over(self, pending: _Pending) -> None:
        while True:
            try:
                future = self._producer.send(
                    pending.topic,
                    key=pending.key,
                    value=pending.value,
                    partition=pending.partition,
                    headers=pending.headers,
                )
            except KafkaTimeoutError as exc:  # no metadata or buffer space within MAX_BLOCK_MS
                try:
                    self._trouble(exc, waited_seconds=MAX_BLOCK_MS / 1000)
                except KafkaOutage as outage:
                    pending.failed(outage)
                    raise
                continue
            future.add_callback(self._acknowledged, pending.delivered)
            future.add_errback(self._delivery_failed, pending)
            return

    def _send_failed_again(self) -> None:
        while self._to_send_again:
            pending = self._to_send_again.popleft()
            self.sent_again += 1
            self._hand_over(pending)

    def _acknowledged(self, delivered: Delivered, metadata: Any) -> None:
        with self._lock:
            if self._trouble_since is not None:
                lasted = self._clock() - self._trouble_since
                self.longest_outage_seconds = max(self.longest_outage_seconds, lasted)
                logger.warning("Kafka takes records again after %.0f s", lasted)
            self._trouble_since = None
            self._last_acknowledged = self._clock()
        delivered(metadata)

    def _delivery_failed(self, pending: _Pending, exc: Exception) -> None:
        if not worth_sending_again(exc):
            pending.failed(exc)
            return
        try:
            self._trouble(exc, waited_seconds=DELIVERY_TIMEOUT_MS / 1000)
        except KafkaOutage as outage:
            pending.failed(outage)
            return
        self._to_send_again.append(pending)

    def _trouble(self, exc: Exception, *, waited_seconds: float) -> None:
        """Note that Kafka did not take a record after the client waited ``waited_seconds`` for
        it; raise KafkaOutage once the patience runs out."""
        with self._lock:
            now = self._clock()
            if self._trouble_since is None:
                # The trouble began when the client started waiting, but not before the last
                # acknowledgement: an idle producer has not been in an outage all along.
                self._trouble_since = max(self._last_acknowledged, now - waited_seconds)
            lasted = now - self._trouble_since
            warn = now - self._last_warning >= WARN_EVERY_SECONDS
            if warn:
                self._last_warning = now
        if lasted > self.patience_seconds:
            raise KafkaOutage(
                f"Kafka acknowledged no record for {lasted:.0f} s "
                f"(TRENDOFF_PRODUCE_OUTAGE_SECONDS={self.patience_seconds:.0f}): "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if warn:
            logger.warning(
                "Kafka is not taking records (%s: %s); waiting, every record is kept "
                "(%.0f s so far, giving up after %.0f s)",
                type(exc).__name__,
                exc,
                lasted,
                self.patience_seconds,
            )

    def _give_up_on_waiting(self, why: Exception) -> None:
        while self._to_send_again:
            self._to_send_again.popleft().failed(why)


def flush_fully(producer: Any, within_seconds: float = DELIVERY_TIMEOUT_MS / 1000 + 30) -> None:
    """``producer.flush()``, repeated when it stops early, for at most ``within_seconds``.

    kafka-python (3.0.12) splits a batch the broker refuses as too large and sends the halves
    again, but a flush already waiting on the old batch then raises ``UnknownError('Future not
    done')``; the halves are still in flight. The bound matters too: after an outage in which a
    batch expired, that client's idempotent sender was once seen to stop sending for good (its
    producer id reset), and an unbounded flush would have waited for ever; records still in
    flight when the bound passes are counted as never completed."""
    deadline = time.monotonic() + within_seconds
    while True:
        try:
            producer.flush(timeout=max(1.0, deadline - time.monotonic()))
            return
        except KafkaError as exc:
            if time.monotonic() > deadline:
                logger.error("gave up waiting for sends in flight: %s", exc)
                return
            logger.warning("flushing again after %s: %s", type(exc).__name__, exc)
