"""``trendoff batch --every 15m``: run the batch layer on a timer and on requests from the app.

Between runs it polls ``batch_requests`` every few seconds; the oldest pending request starts a run
at once and is marked with that run's id. One Spark session serves every run of the process.
While Cassandra is away the scheduler waits and asks again (a run that fails then is logged and
tried at the next interval): an outage must not stop the streams it shares a process with.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from pipeline.cassandra import CASSANDRA_UNAVAILABLE, build_cluster
from pipeline.errors import TrendoffError
from pipeline.jobs.batch import RunResult, run_once
from pipeline.settings import Settings
from pipeline.spark import build_session

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

logger = logging.getLogger(__name__)

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
POLL_SECONDS = 3.0
OUTAGE_WARN_SECONDS = 30.0


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``2h``, ``1d`` -> timedelta; anything else is a clear error."""
    match = _DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise TrendoffError(
            f"cannot read the interval {text!r}", hint="write it like 90s, 15m, 2h or 1d"
        )
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def run_every(
    settings: Settings,
    interval: timedelta,
    *,
    max_runs: int | None = None,
    spark: SparkSession | None = None,
    stop: threading.Event | None = None,
    first_run_in: timedelta = timedelta(0),
) -> None:
    """Batch runs every ``interval`` and on request, until ``stop`` is set (or ``max_runs``).
    Given ``spark``, runs in that session (``trendoff jobs`` shares its own with the streams)."""
    spark = spark or build_session(settings, "trendoff-batch")
    stop = stop or threading.Event()
    cluster = build_cluster(settings)
    session = cluster.connect(settings.keyspace)
    pending = session.prepare(
        "SELECT requested_at, requested_by, status FROM batch_requests WHERE bucket = 0"
    )
    mark = session.prepare(
        "UPDATE batch_requests SET status = ?, run_id = ? WHERE bucket = 0 AND requested_at = ?"
    )
    runs = 0
    next_due = time.monotonic() + first_run_in.total_seconds()
    last_warning = float("-inf")

    def mark_request(status: str, run_id: object, requested_at: object) -> None:
        try:
            session.execute(mark, (status, run_id, requested_at))
        except CASSANDRA_UNAVAILABLE as exc:
            logger.error("could not mark the batch request of %s %s: %s", requested_at, status, exc)

    try:
        while (max_runs is None or runs < max_runs) and not stop.is_set():
            try:
                requests = [row for row in session.execute(pending) if row.status == "pending"]
            except CASSANDRA_UNAVAILABLE as exc:
                if time.monotonic() - last_warning >= OUTAGE_WARN_SECONDS:
                    last_warning = time.monotonic()
                    logger.warning("Cassandra is unavailable; the batch scheduler waits: %s", exc)
                stop.wait(POLL_SECONDS)
                continue
            due = time.monotonic() >= next_due
            if not requests and not due:
                stop.wait(POLL_SECONDS)
                continue
            request = min(requests, key=lambda row: row.requested_at.time) if requests else None
            requested_by = request.requested_by if request else "schedule"
            if request is not None:
                mark_request("taken", None, request.requested_at)
            try:
                result: RunResult | None = run_once(
                    settings, spark=spark, force=request is not None, requested_by=requested_by
                )
            except TrendoffError as exc:
                if stop.is_set():
                    logger.info("batch run cancelled: stopping")
                    return
                logger.error("%s", exc.one_line())
                result = None
            except CASSANDRA_UNAVAILABLE as exc:
                logger.error("batch run failed, Cassandra is unavailable: %s", exc)
                result = None
            if request is not None:
                mark_request(
                    "done" if result else "failed",
                    result.run_id if result else None,
                    request.requested_at,
                )
            runs += 1
            next_due = time.monotonic() + first_run_in.total_seconds() + interval.total_seconds()
    finally:
        cluster.shutdown()
