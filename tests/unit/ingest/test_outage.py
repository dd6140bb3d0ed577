"""PatientSender's rules, list in, list out: what is sent again, what fails, when it gives up.

The client is a stand-in whose sends time out or whose deliveries fail on cue; its futures are
kafka-python's own. That Kafka really comes back and takes the records is shown against a real
broker by tests/faults/test_run_faults.py.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest
from kafka.errors import (
    InvalidProducerEpochError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotLeaderForPartitionError,
    OutOfOrderSequenceNumberError,
    UnknownProducerIdError,
)
from kafka.future import Future

from pipeline.ingest.outage import KafkaOutage, PatientSender, worth_sending_again


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class ScriptedProducer:
    """``send`` raises each queued timeout first, then returns a future; ``flush`` settles every
    open future with the next scripted outcome (None = acknowledged, else that error)."""

    def __init__(self, clock: Clock, outcomes: list[Exception | None]) -> None:
        self.clock = clock
        self.send_timeouts = 0
        self.outcomes = list(outcomes)
        self.sent: list[bytes] = []
        self.open: list[Future] = []

    def send(self, topic: str, *, key=None, value=None, partition=None, headers=None) -> Future:
        if self.send_timeouts:
            self.send_timeouts -= 1
            self.clock.now += 30  # the client waited max_block_ms
            raise KafkaTimeoutError("Failed to allocate memory within the max blocking time")
        self.sent.append(value)
        future = Future()
        self.open.append(future)
        return future

    def flush(self, timeout: float | None = None) -> None:
        while self.open:
            future = self.open.pop(0)
            outcome = self.outcomes.pop(0) if self.outcomes else None
            if outcome is None:
                future.success(None)
            else:
                self.clock.now += 120  # the batch expired after delivery_timeout_ms
                future.failure(outcome)


class Outcomes:
    def __init__(self) -> None:
        self.delivered: list[bytes] = []
        self.failed: list[tuple[bytes, str]] = []

    def send(self, sender: PatientSender, value: bytes) -> None:
        sender.send(
            "posts",
            value,
            key=b"k",
            delivered=lambda _: self.delivered.append(value),
            failed=lambda exc: self.failed.append((value, type(exc).__name__)),
        )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def outcomes() -> Iterator[Outcomes]:
    yield Outcomes()


def expired() -> KafkaTimeoutError:
    return KafkaTimeoutError("Batch for TopicPartition(topic='posts', partition=0) expired")


def test_which_errors_are_worth_sending_again() -> None:
    assert worth_sending_again(expired())
    assert worth_sending_again(NotLeaderForPartitionError())
    # A broker killed with `kill -9` forgets the producer's sequence numbers: the client fails the
    # batches in flight with these and starts a new epoch, under which a second send is taken.
    assert worth_sending_again(OutOfOrderSequenceNumberError())
    assert worth_sending_again(UnknownProducerIdError())
    assert worth_sending_again(InvalidProducerEpochError())
    assert not worth_sending_again(MessageSizeTooLargeError())
    assert not worth_sending_again(ValueError("not a Kafka error"))


def test_a_send_that_times_out_is_tried_again_and_the_wait_is_logged(
    clock: Clock, outcomes: Outcomes, caplog: pytest.LogCaptureFixture
) -> None:
    producer = ScriptedProducer(clock, [])
    producer.send_timeouts = 3
    sender = PatientSender(producer, patience_seconds=900, clock=clock)
    with caplog.at_level(logging.WARNING, logger="pipeline.ingest.outage"):
        outcomes.send(sender, b"a")
        sender.settle()
    assert producer.sent == [b"a"]
    assert outcomes.delivered == [b"a"] and outcomes.failed == []
    assert "Kafka is not taking records" in caplog.text
    assert "Kafka takes records again after 90 s" in caplog.text


def test_a_failed_delivery_is_sent_again_once_and_counted_once(
    clock: Clock, outcomes: Outcomes
) -> None:
    producer = ScriptedProducer(clock, [expired(), None, None])
    sender = PatientSender(producer, patience_seconds=900, clock=clock)
    outcomes.send(sender, b"a")
    producer.flush()  # the batch holding "a" expired while the broker was down
    outcomes.send(sender, b"b")  # "a" goes again first
    sender.settle()
    assert producer.sent == [b"a", b"a", b"b"]
    assert sorted(outcomes.delivered) == [b"a", b"b"]
    assert outcomes.failed == []
    assert sender.sent_again == 1
    assert sender.longest_outage_seconds == 120


def test_failures_at_the_end_are_sent_again_by_settle(clock: Clock, outcomes: Outcomes) -> None:
    producer = ScriptedProducer(clock, [expired(), expired(), None])
    sender = PatientSender(producer, patience_seconds=900, clock=clock)
    outcomes.send(sender, b"a")
    sender.settle()
    assert producer.sent == [b"a", b"a", b"a"]
    assert outcomes.delivered == [b"a"] and outcomes.failed == []


def test_a_record_the_broker_refuses_fails_without_a_second_try(
    clock: Clock, outcomes: Outcomes
) -> None:
    producer = ScriptedProducer(clock, [MessageSizeTooLargeError()])
    sender = PatientSender(producer, patience_seconds=900, clock=clock)
    outcomes.send(sender, b"a")
    sender.settle()
    assert producer.sent == [b"a"]
    assert outcomes.failed == [(b"a", "MessageSizeTooLargeError")]


def test_past_its_patience_the_sender_gives_up_and_counts_every_record(
    clock: Clock, outcomes: Outcomes
) -> None:
    producer = ScriptedProducer(clock, [expired()] * 10)
    sender = PatientSender(producer, patience_seconds=200, clock=clock)
    outcomes.send(sender, b"a")
    producer.flush()  # t=120: "a" waits to go again
    outcomes.send(sender, b"b")  # "a" sent again, "b" sent
    producer.flush()  # t=360: both fail past the patience
    producer.send_timeouts = 10
    with pytest.raises(KafkaOutage, match="no record for 390 s"):
        outcomes.send(sender, b"c")
    sender.settle()
    assert outcomes.delivered == []
    assert sorted(value for value, _ in outcomes.failed) == [b"a", b"b", b"c"]
    assert {why for _, why in outcomes.failed} == {"KafkaOutage"}


def test_after_ctrl_c_what_failed_is_not_waited_for_again(clock: Clock, outcomes: Outcomes) -> None:
    producer = ScriptedProducer(clock, [expired()])
    sender = PatientSender(producer, patience_seconds=900, clock=clock)
    outcomes.send(sender, b"a")
    sender.settle(send_again=False)
    assert producer.sent == [b"a"]
    assert outcomes.failed == [(b"a", "KafkaOutage")]


class StuckProducer(ScriptedProducer):
    """A client that takes records and never completes them, as kafka-python's idempotent
    sender once did after an outage; ``flush`` waits its full timeout, then times out."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock, [])
        self.closed = threading.Event()

    def flush(self, timeout: float | None = None) -> None:
        self.clock.now += timeout or 0
        raise KafkaTimeoutError("Timeout waiting for future")

    def close(self, timeout: float | None = None) -> None:
        self.closed.set()


class Renewals:
    """A ``renew`` factory: each call takes the next scripted answer, a client or an error (Kafka
    does not answer); every client handed out is kept."""

    def __init__(self, clock: Clock, answers: list[str]) -> None:
        self.clock = clock
        self.answers = list(answers)
        self.clients: list[ScriptedProducer] = []

    def __call__(self) -> ScriptedProducer:
        if self.answers.pop(0) == "away":
            raise KafkaTimeoutError("Failed to update metadata after 30.0 secs.")
        client = ScriptedProducer(self.clock, [])
        client.close = lambda timeout=None: None  # type: ignore[method-assign]
        self.clients.append(client)
        return client


def test_a_stuck_client_is_replaced_once_kafka_answers_and_its_records_go_again(
    clock: Clock, outcomes: Outcomes
) -> None:
    stuck = StuckProducer(clock)
    renewals = Renewals(clock, ["away"] + ["answers"] * 5)
    sender = PatientSender(stuck, patience_seconds=900, renew=renewals, clock=clock)
    outcomes.send(sender, b"a")
    outcomes.send(sender, b"b")
    clock.now = 61  # nothing acknowledged for a minute: ask whether Kafka answers
    outcomes.send(sender, b"c")  # Kafka is away: an outage, the client is kept
    clock.now = 72
    outcomes.send(sender, b"d")  # Kafka answers: the client gets a grace period to reconnect
    assert sender.producer is stuck and sender.renewals == 0
    sender.settle()  # flushes 10 s at a time; at t=92, past the grace, the client is replaced
    fresh = renewals.clients[-1]
    assert sender.producer is fresh and sender.renewals == 1
    assert clock.now == 92 and len(renewals.clients) == 3  # two probes, then the replacement
    assert stuck.closed.wait(5)
    assert fresh.sent == [b"a", b"b", b"c", b"d"]
    assert sorted(outcomes.delivered) == [b"a", b"b", b"c", b"d"]
    # The stuck client's late answers are ignored: each record counts once.
    for future in stuck.open:
        future.success(None)
    assert sorted(outcomes.delivered) == [b"a", b"b", b"c", b"d"]
    assert outcomes.failed == []


def test_a_client_that_reconnects_within_the_grace_is_kept(
    clock: Clock, outcomes: Outcomes
) -> None:
    slow = StuckProducer(clock)
    renewals = Renewals(clock, ["answers"] * 5)
    sender = PatientSender(slow, patience_seconds=900, renew=renewals, clock=clock)
    outcomes.send(sender, b"a")
    clock.now = 61
    outcomes.send(sender, b"b")  # Kafka answers: the grace period starts
    for future in slow.open:  # the client reconnects by itself and delivers
        future.success(None)
    clock.now = 90
    outcomes.send(sender, b"c")
    assert sender.producer is slow and sender.renewals == 0
    assert len(renewals.clients) == 1  # one probe only: acknowledgements came back
    assert sorted(outcomes.delivered) == [b"a", b"b"]


def test_without_a_renew_factory_the_client_is_never_replaced(
    clock: Clock, outcomes: Outcomes
) -> None:
    stuck = StuckProducer(clock)
    sender = PatientSender(stuck, patience_seconds=100, clock=clock)
    outcomes.send(sender, b"a")
    clock.now = 500
    outcomes.send(sender, b"b")
    assert sender.producer is stuck and sender.renewals == 0
