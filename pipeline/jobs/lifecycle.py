"""Starting and stopping long-running Spark work cleanly.

Ctrl-C used to raise KeyboardInterrupt wherever the driver's Python happened to be, often in the
middle of a py4j call: the gateway connection broke, py4j logged tracebacks, and the JVM died
under a half-stopped query. Here SIGINT and SIGTERM only *ask* for a stop; the main thread sees
the request between short waits and stops every query (and the batch scheduler) in order.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any

from pipeline.errors import TrendoffError
from pipeline.jobs.stall import StallWatch, stall_message

if TYPE_CHECKING:
    from pyspark.sql.streaming.query import StreamingQuery

logger = logging.getLogger(__name__)

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
POLL_SECONDS = 0.5
STALLED_EXIT_STATUS = 75  # EX_TEMPFAIL: worth restarting
# An orderly stop takes seconds (each query gets spark.sql.streaming.stopTimeout, 5 s); after a
# stall, give it this long before the process ends itself.
STOP_AFTER_STALL_SECONDS = 30.0
# A stop asked for during a micro-batch first waits up to this long for it to finish: stopping a
# query cancels its running Spark jobs, whose aborted writes Spark logs at ERROR, and the
# micro-batch is replayed at the next start. Short enough that `trendoff run`'s grace
# (runner.STOP_GRACE_SECONDS, 9 s) still covers a stop that then has to interrupt (stopTimeout 5 s).
FINISH_BATCH_SECONDS = 3.0


class StopRequest:
    """While entered, SIGINT and SIGTERM set :attr:`event` instead of interrupting the process.

    Only the main thread can install signal handlers; elsewhere (tests calling the jobs in a
    thread) the event is still there and only set by hand."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for signum in _STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._request)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _request(self, signum: int, frame: FrameType | None) -> None:
        if not self.event.is_set():
            logger.info("%s received: stopping", signal.Signals(signum).name)
        self.event.set()

    def is_set(self) -> bool:
        return self.event.is_set()


class Worker(threading.Thread):
    """A daemon thread whose failure the supervisor can see (a plain thread dies silently)."""

    def __init__(self, name: str, target: Callable[[], None]) -> None:
        super().__init__(name=name, daemon=True)
        self._work = target
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            self._work()
        except BaseException as exc:  # noqa: BLE001  # handed to the supervisor, which reports it
            self.failure = exc


def supervise(
    queries: Sequence[StreamingQuery],
    stop: StopRequest,
    *,
    stall_seconds: float,
    workers: Sequence[Worker] = (),
    on_stop: Callable[[], None] | None = None,
    exit_after_stall_seconds: float | None = None,
    finish_batch_seconds: float = FINISH_BATCH_SECONDS,
) -> None:
    """Wait until every query has finished on its own (``availableNow``), a stop is requested,
    or a query or worker fails; then stop the rest. A failure is raised as a TrendoffError.

    A query stuck in one micro-batch for ``stall_seconds`` counts as failed (see stall.py). The
    threads it is stuck in may also hold up stopping Spark, so with ``exit_after_stall_seconds``
    the process ends itself that long after a stall, whatever is still running. A running
    micro-batch gets ``finish_batch_seconds`` to finish before its query is stopped."""
    failure: str | None = None
    watches = {query.id: StallWatch() for query in queries}
    try:
        while not stop.event.wait(POLL_SECONDS):
            for query in queries:
                if not query.isActive and query.exception() is not None:
                    failure = f"streaming query {query.name} failed: {query.exception()}"
                elif query.isActive:
                    stuck_for = _stuck_for(query, watches[query.id])
                    if stuck_for >= stall_seconds:
                        failure = stall_message(query.name, stuck_for, stall_seconds)
                        if exit_after_stall_seconds is not None:
                            _exit_after(exit_after_stall_seconds, failure)
            for worker in workers:
                if not worker.is_alive() and worker.failure is not None:
                    failure = f"{worker.name} failed: {worker.failure}"
            if failure or not any(query.isActive for query in queries):
                break
    finally:
        stop.event.set()  # workers watch it too
        if on_stop is not None:
            on_stop()
        _stop_queries([query for query in queries if query.isActive], finish_batch_seconds)
        for worker in workers:
            worker.join(timeout=10)
    if failure:
        raise TrendoffError(failure.splitlines()[0][:1000])


def _exit_after(seconds: float, reason: str) -> None:
    def exit_now() -> None:
        logger.error("still running %.0f s after: %s; exiting now", seconds, reason)
        logging.shutdown()
        os._exit(STALLED_EXIT_STATUS)

    timer = threading.Timer(seconds, exit_now)
    timer.daemon = True
    timer.start()


def _stuck_for(query: StreamingQuery, watch: StallWatch) -> float:
    progress = query.lastProgress
    last_batch = None if progress is None else (progress["batchId"], progress["timestamp"])
    return watch.observe(
        time.monotonic(),
        trigger_active=bool(query.status["isTriggerActive"]),
        last_batch=last_batch,
    )


def _stop_queries(
    queries: Sequence[StreamingQuery], finish_within: float = FINISH_BATCH_SECONDS
) -> None:
    """Stop each query between micro-batches if its running one ends within ``finish_within``
    seconds, else interrupt it. The queries stop side by side: each stop may wait for Spark
    (at most ``spark.sql.streaming.stopTimeout``), and one after the other those waits would
    add up."""
    deadline = time.monotonic() + finish_within
    pending = list(queries)
    # A backlog runs micro-batches back to back, the trigger never idle: the one running now has
    # finished once the query reports a newer batch id, and what runs then has just begun.
    running = {query.id: _last_batch_id(query) for query in pending}
    stoppers = []
    while pending:
        out_of_time = time.monotonic() >= deadline
        ready = [
            query
            for query in pending
            if out_of_time
            or not _in_micro_batch(query)
            or _last_batch_id(query) != running[query.id]
        ]
        for query in ready:
            pending.remove(query)
            logger.info("stopping %s", query.name)
            stopper = threading.Thread(target=_stop_quietly, args=(query,), daemon=True)
            stopper.start()
            stoppers.append(stopper)
        if pending:
            time.sleep(0.05)
    for stopper in stoppers:
        stopper.join()


def _last_batch_id(query: StreamingQuery) -> int | None:
    try:
        progress = query.lastProgress
    except Exception:  # noqa: BLE001  # treated as unknown: the other checks still apply
        return None
    return None if progress is None else int(progress["batchId"])


def _in_micro_batch(query: StreamingQuery) -> bool:
    try:
        return query.isActive and bool(query.status["isTriggerActive"])
    except Exception:  # noqa: BLE001  # a query that cannot answer is stopped at once
        return False


def _stop_quietly(query: StreamingQuery) -> None:
    try:
        query.stop()
    except Exception as exc:  # noqa: BLE001  # a timed-out stop is still a stop: the JVM exits next
        logger.warning(
            "%s did not stop in time (%s); its micro-batch will be replayed",
            query.name,
            str(exc).splitlines()[0][:200],
        )
