"""supervise() on a real Spark session: a query stuck inside one micro-batch fails the job (so
`trendoff run` restarts it), while a busy query whose batches keep finishing does not."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from pipeline.errors import TrendoffError
from pipeline.jobs.lifecycle import StopRequest, supervise

STALL_SECONDS = 6.0


def start_rate_query(spark: Any, name: str, handle_batch: Any) -> Any:
    return (
        spark.readStream.format("rate")
        .option("rowsPerSecond", 10)
        .load()
        .writeStream.queryName(name)
        .foreachBatch(handle_batch)
        .trigger(processingTime="500 milliseconds")
        .start()
    )


def test_a_query_stuck_in_one_micro_batch_fails_the_job(spark: Any) -> None:
    release = threading.Event()

    def block_on_the_second_batch(frame: Any, batch_id: int) -> None:
        if batch_id >= 1:
            release.wait(120)  # like a write parked on a wedged Cassandra session

    query = start_rate_query(spark, "stuck_query", block_on_the_second_batch)
    stop = StopRequest()
    # Without the stall check supervise would wait for good: end the wait, so the test fails.
    give_up = threading.Timer(STALL_SECONDS + 40, stop.event.set)
    give_up.start()
    try:
        with pytest.raises(TrendoffError, match="stuck_query has been inside one micro-batch"):
            supervise([query], stop, stall_seconds=STALL_SECONDS)
    finally:
        give_up.cancel()
        release.set()
        query.stop()


def test_a_busy_query_whose_batches_finish_is_left_running(spark: Any) -> None:
    batches: list[int] = []

    def slow_but_finishing(frame: Any, batch_id: int) -> None:
        batches.append(batch_id)
        time.sleep(STALL_SECONDS / 2)  # trigger active nearly all the time, yet progressing

    query = start_rate_query(spark, "busy_query", slow_but_finishing)
    stop = StopRequest()
    timer = threading.Timer(STALL_SECONDS * 4, stop.event.set)
    timer.start()
    try:
        supervise([query], stop, stall_seconds=STALL_SECONDS)  # returns: no failure raised
    finally:
        timer.cancel()
        query.stop()
    assert len(batches) >= 4
