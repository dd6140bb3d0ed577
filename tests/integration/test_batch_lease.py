"""Issue 16 item 3 on the real stack: two batch runs never fill the same slot, and serving never
reads a slot another run is rewriting."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from pipeline.admin import drop_namespace, initialise
from pipeline.cassandra import connect
from pipeline.jobs import batch
from pipeline.jobs.batch import RunResult, SlotTakenOver, flip, tag_slot
from pipeline.jobs.lease import BatchLease
from pipeline.serving import Serving, SlotBeingRewritten
from pipeline.settings import Settings
from tests.conftest import fresh_namespace
from tests.integration.merge_helpers import (
    assert_served_equals_recount,
    dev_records,
    drain,
    job_env,
    send,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lease_settings(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    state = tmp_path_factory.mktemp("lease-state")
    settings = stack.model_copy(
        update={"namespace": fresh_namespace("bl"), "ingest_window_seconds": 1, "state_dir": state}
    )
    (state / "jvm").symlink_to(stack.state_dir / "jvm")
    initialise(settings)
    yield settings
    drop_namespace(settings)


@pytest.fixture(scope="module")
def records(lease_settings: Settings) -> list:
    posts = dev_records(600)
    send(lease_settings, posts)
    drain(lease_settings)
    time.sleep(2 * lease_settings.ingest_window_seconds + 1)
    return posts


def history(settings: Settings) -> dict[uuid.UUID, tuple[str, str]]:
    with connect(settings, keyspace=settings.keyspace) as session:
        return {
            row.run_id: (row.status, row.step or "")
            for row in session.execute(
                "SELECT run_id, status, step FROM batch_runs WHERE bucket = 0"
            )
        }


def test_two_concurrent_runs_fill_one_slot_and_the_other_skips(
    lease_settings: Settings, records: list, spark
) -> None:
    results: list[RunResult] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        start.wait()
        try:
            results.append(batch.run_once(lease_settings, spark=spark, force=True))
        except Exception as exc:  # noqa: BLE001 - reported below, with the other result
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not errors, errors
    assert sorted(result.status for result in results) == ["skipped", "succeeded"]
    skipped = next(result for result in results if result.status == "skipped")
    assert "holds the batch lease" in (skipped.reason or "")
    status, step = history(lease_settings)[skipped.run_id]
    assert status == "skipped" and "holds the batch lease" in step
    assert_served_equals_recount(lease_settings, records)

    # The lease was released: the next run takes it.
    again = batch.run_once(lease_settings, spark=spark, force=True)
    assert again.status == "succeeded"
    assert_served_equals_recount(lease_settings, records)


def test_a_live_holder_blocks_a_run_and_a_dead_one_does_not(
    lease_settings: Settings, records: list, spark
) -> None:
    with connect(lease_settings, keyspace=lease_settings.keyspace) as session:
        holder = BatchLease(session, uuid.uuid1())
        assert holder.acquire() is None
        try:
            blocked = batch.run_once(lease_settings, spark=spark, force=True)
            assert blocked.status == "skipped"
            assert str(holder.run_id) in history(lease_settings)[blocked.run_id][1]
        finally:
            holder.release()
        # A holder on this host whose process is gone (a run killed with kill -9).
        dead_pid = 2**22 + 17
        session.execute(
            "INSERT INTO batch_lease (id, run_id, host, pid, taken_at) "
            "VALUES ('batch', %s, %s, %s, toTimestamp(now())) USING TTL 600",
            (uuid.uuid1(), holder.host, dead_pid),
        )
    assert batch.run_once(lease_settings, spark=spark, force=True).status == "succeeded"
    assert_served_equals_recount(lease_settings, records)


def test_a_run_cannot_flip_a_slot_another_run_took_over(
    lease_settings: Settings, records: list
) -> None:
    with connect(lease_settings, keyspace=lease_settings.keyspace) as session:
        state = batch.read_state(session)
        inactive = 0 if state.active_slot in (None, 1) else 1
        first, second = uuid.uuid1(), uuid.uuid1()
        tag_slot(session, inactive, first, state.run_id)
        tag_slot(session, inactive, second, state.run_id)  # overlapped: took the same slot
        with pytest.raises(SlotTakenOver, match=str(second)):
            flip(session, inactive, datetime.now(UTC), first)
        assert batch.read_state(session) == state


def test_serving_refuses_the_active_slot_while_another_run_rewrites_it(
    lease_settings: Settings, records: list, spark
) -> None:
    assert batch.run_once(lease_settings, spark=spark, force=True).status == "succeeded"
    with Serving(lease_settings) as serving:
        active = serving.snapshot().slot
        assert active is not None
        serving.session.execute(
            f"UPDATE {lease_settings.keyspace}.batch_state SET slot_{active}_run = %s "
            "WHERE id = 'current'",
            (uuid.uuid1(),),
        )
        with pytest.raises(SlotBeingRewritten, match=f"slot {active} is being rewritten"):
            serving.topic_totals()
        # The Pipeline page still shows where things stand.
        assert serving.pipeline_status()["active_slot"] == active
    # The next completed run makes the state consistent again.
    assert batch.run_once(lease_settings, spark=spark, force=True).status == "succeeded"
    assert_served_equals_recount(lease_settings, records)


def test_a_run_killed_holding_the_lease_does_not_block_the_next(
    lease_settings: Settings, records: list, spark
) -> None:
    killed = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "batch", "--once", "--force"],
        env=job_env(lease_settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and killed.poll() is None:
            steps = history(lease_settings).values()
            if any(status == "running" and step.startswith("writing") for status, step in steps):
                break
            time.sleep(0.2)
        assert killed.poll() is None, "the batch finished before it could be killed"
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
    # Its lease is still in Cassandra (TTL 60 s), but its process is gone: the next run goes ahead.
    result = batch.run_once(lease_settings, spark=spark, force=True)
    assert result.status == "succeeded"
    assert "interrupted" in {status for status, _ in history(lease_settings).values()}
    assert_served_equals_recount(lease_settings, records)
