"""Sending through a Kafka outage: every record is kept until Kafka takes it, or until the outage
has lasted longer than the user is willing to wait.

kafka-python retries a send in flight for ``delivery_timeout_ms`` and lets ``send()`` wait
``max_block_ms`` for metadata or buffer space; past either the record fails. Left at that, a
broker restart that takes longer than those limits loses posts from a replay or stops it.
:class:`PatientSender` waits instead: a ``send()`` that times out is tried again, and a record
whose delivery failed with a retriable error (the broker gone, a leader moving, a batch expired)
is sent again, until no record has been acknowledged for ``patience_seconds``. Then it gives up
as before: what is left counts as failed, and :class:`KafkaOutage` tells the reader to stop.

A client can also get stuck: after an outage in which a batch expired, kafka-python 3.0.12's
idempotent sender was seen to stop sending for good (its producer id reset) while Kafka was back.
Given a ``renew`` factory, the sender replaces such a client: once records have waited
``stuck_after_seconds`` with none acknowledged, it asks ``renew`` for a fresh client every
``PROBE_EVERY_SECONDS`` (the factory fails while Kafka does not answer: an outage, not a stuck
client); when Kafka has answered for ``RECOVERY_GRACE_SECONDS`` and the old client still
acknowledges nothing, the fresh client takes its place and every record the old one held is sent
again through it.

Sending a record again may write it twice to the topic: the first attempt may have reached the
log just before the broker died without answering. That is safe by design: the master dataset
keeps one row per post id, and the speed layer's double count lasts only until the next batch
run (README, *Duplicates*). Posts of one author may also arrive out of order after an outage;
no view depends on the order of arrival.
"""

from __future__ import annotations

import itertools
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
# Records waiting this long with none acknowledged: the client is stuck or Kafka is away.
STUCK_AFTER_SECONDS = 60.0
# How often a stalled sender asks whether Kafka answers (by building a fresh client).
PROBE_EVERY_SECONDS = 10.0
# How long Kafka must have answered while the client still acknowledges nothing before the client
# is replaced: a healthy client reconnects within seconds of the broker's return, and replacing it
# would send its records twice.
RECOVERY_GRACE_SECONDS = 20.0

Renew = Callable[[], Any]
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
    With ``renew``, a stuck client is replaced (module docstring); :attr:`producer` is the client
    in use, for the caller to close.
    """

    def __init__(
        self,
        producer: Any,
        patience_seconds: float,
        *,
        renew: Renew | None = None,
        stuck_after_seconds: float = STUCK_AFTER_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._producer = producer
        self.patience_seconds = patience_seconds
        self._renew = renew
        self.stuck_after_seconds = stuck_after_seconds
        self._clock = clock
        self._to_send_again: deque[_Pending] = deque()
        # The outage clock and the records in flight are touched by the client's I/O thread.
        self._lock = threading.Lock()
        self._trouble_since: float | None = None
        self._last_warning = float("-inf")
        self._last_acknowledged = clock()
        # Handed to the current client, not yet acknowledged or failed: ticket -> (when, record),
        # oldest first. Callbacks from a replaced client (an older generation) are ignored.
        self._in_flight: dict[int, tuple[float, _Pending]] = {}
        self._tickets = itertools.count()
        self._generation = 0
        self._next_probe = float("-inf")
        self._answering_since: float | None = None
        self.sent_again = 0
        self.renewals = 0
        self.longest_outage_seconds = 0.0

    @property
    def producer(self) -> Any:
        """The client in use (a fresh one after a stuck client was replaced)."""
        return self._producer

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
        self._renew_if_stuck()
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
            self._flush(renewing=send_again)
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

    def _flush(self, *, renewing: bool) -> None:
        """Wait for the records in flight, at most ``patience_seconds``. With a ``renew`` factory
        the wait is cut into probes: a client found stuck is replaced and the wait ends, so that
        what it held is sent again through the fresh one."""
        if self._renew is None or not renewing:
            flush_fully(self._producer, self.patience_seconds)
            return
        deadline = self._clock() + self.patience_seconds
        while self._clock() < deadline:
            try:
                self._producer.flush(timeout=PROBE_EVERY_SECONDS)
                return
            except KafkaError as exc:
                if not isinstance(exc, KafkaTimeoutError):  # a split batch: flush again
                    logger.warning("flushing again after %s: %s", type(exc).__name__, exc)
            if self._renew_if_stuck():
                return
        logger.error("gave up waiting for sends in flight after %.0f s", self.patience_seconds)

    def _renew_if_stuck(self) -> bool:
        """Replace the client when it holds records, has acknowledged none for
        ``stuck_after_seconds``, and Kafka has answered a fresh client for
        ``RECOVERY_GRACE_SECONDS``; its records join those to send again. True when replaced."""
        if self._renew is None:
            return False
        now = self._clock()
        # Cheap checks first: this runs for every record sent.
        if now - self._last_acknowledged < self.stuck_after_seconds or now < self._next_probe:
            return False
        with self._lock:
            if not self._in_flight:
                return False
            oldest_handed_over, _ = next(iter(self._in_flight.values()))
            stalled = now - max(self._last_acknowledged, oldest_handed_over)
        if stalled < self.stuck_after_seconds:
            return False
        self._next_probe = now + PROBE_EVERY_SECONDS
        try:
            fresh = self._renew()
        except Exception as exc:  # noqa: BLE001 - Kafka does not answer: an outage, not a stuck client
            self._answering_since = None
            logger.debug("Kafka does not answer a fresh client yet: %s", exc)
            return False
        if self._answering_since is None or now - self._answering_since < RECOVERY_GRACE_SECONDS:
            # Kafka is back, perhaps only just: give the client time to reconnect by itself.
            if self._answering_since is None:
                self._answering_since = now
            _close_in_background(fresh)
            return False
        with self._lock:
            stuck, self._producer = self._producer, fresh
            self._generation += 1
            stranded = [pending for _, pending in self._in_flight.values()]
            self._in_flight.clear()
        self._answering_since = None
        self.renewals += 1
        logger.warning(
            "Kafka answers, but the client has had no record acknowledged for %.0f s: it is "
            "replaced, and the %d records it held are sent again through a new one",
            stalled,
            len(stranded),
        )
        self._to_send_again.extendleft(reversed(stranded))
        _close_in_background(stuck)
        return True

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
                self._renew_if_stuck()  # a stuck client's buffer never drains
                continue
            ticket = next(self._tickets)
            with self._lock:
                self._in_flight[ticket] = (self._clock(), pending)
                generation = self._generation
            future.add_callback(self._acknowledged, ticket, generation)
            future.add_errback(self._delivery_failed, ticket, generation)
            return

    def _send_failed_again(self) -> None:
        while self._to_send_again:
            pending = self._to_send_again.popleft()
            self.sent_again += 1
            self._hand_over(pending)

    def _settled(self, ticket: int, generation: int) -> _Pending | None:
        """The record a callback is about, unless a replaced client's callback comes late (the
        record went to the new client)."""
        if generation != self._generation:
            return None
        entry = self._in_flight.pop(ticket, None)
        return entry[1] if entry is not None else None

    def _acknowledged(self, ticket: int, generation: int, metadata: Any) -> None:
        with self._lock:
            pending = self._settled(ticket, generation)
            if pending is None:
                return
            if self._trouble_since is not None:
                lasted = self._clock() - self._trouble_since
                self.longest_outage_seconds = max(self.longest_outage_seconds, lasted)
                logger.warning("Kafka takes records again after %.0f s", lasted)
            self._trouble_since = None
            self._answering_since = None
            self._last_acknowledged = self._clock()
        pending.delivered(metadata)

    def _delivery_failed(self, ticket: int, generation: int, exc: Exception) -> None:
        with self._lock:
            pending = self._settled(ticket, generation)
        if pending is None:
            return
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


def _close_in_background(producer: Any) -> None:
    """Close a client without waiting for it: a stuck one may not finish closing promptly. Its
    unfinished records fail, and their callbacks are ignored (a newer generation sends them)."""

    def close() -> None:
        try:
            producer.close(timeout=0)
            return
        except Exception as exc:  # noqa: BLE001 - a stuck client cannot flush; see below
            logger.debug("closing a replaced Kafka client: %s", exc)
        # kafka-python 3.0.12's close() flushes first and, when a stuck client cannot, raises
        # before it stops the client's I/O thread: that thread would run on, and the client's
        # __del__ would try (and fail) again at exit. Finish the close the way close() would.
        io_thread = getattr(producer, "_sender", None)
        if io_thread is not None and hasattr(io_thread, "force_close"):
            io_thread.force_close()
        if hasattr(producer, "_closed"):
            producer._closed = True

    threading.Thread(target=close, name="close-kafka-client", daemon=True).start()


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
