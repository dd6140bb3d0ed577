"""The speed job's view writes run side by side (pipeline.jobs.stream.write_concurrently) in a real
Spark session: each runs its Spark jobs in the caller's scheduler pool, every one finishes before
the call returns, and a failing one fails the call (so the micro-batch is replayed whole)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from pipeline.jobs.stream import Laps, write_concurrently

POOL = "speed"


def test_writes_run_in_the_callers_pool_and_all_finish(spark: Any) -> None:
    context = spark.sparkContext
    context.setLocalProperty("spark.scheduler.pool", POOL)
    seen: dict[str, tuple[str | None, int, str]] = {}

    def counting(name: str, rows: int) -> Any:
        def write() -> None:
            counted = spark.range(rows).count()
            seen[name] = (
                context.getLocalProperty("spark.scheduler.pool"),
                counted,
                threading.current_thread().name,
            )

        return write

    laps = Laps()
    try:
        write_concurrently(spark, {"a": counting("a", 10), "b": counting("b", 20)}, laps)
    finally:
        context.setLocalProperty("spark.scheduler.pool", None)
    assert seen["a"][:2] == (POOL, 10) and seen["b"][:2] == (POOL, 20)
    assert seen["a"][2] != seen["b"][2]  # each in a thread of its own
    assert [name for name, _ in laps.steps] == ["a", "b", "writes"]


def test_a_failing_write_fails_the_call_after_the_others_finished(spark: Any) -> None:
    finished = []

    def slow_success() -> None:
        spark.range(1000).count()
        finished.append("slow")

    def failure() -> None:
        raise RuntimeError("Cassandra refused the write")

    with pytest.raises(RuntimeError, match="Cassandra refused"):
        write_concurrently(spark, {"ok": slow_success, "bad": failure}, Laps())
    assert finished == ["slow"]
