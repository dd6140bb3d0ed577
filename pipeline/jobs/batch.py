"""``trendoff batch``: recompute the batch views from the master dataset into the inactive slot.

A run (0) takes the batch lease (one run at a time, see lease.py), (1) derives the high-water mark
H from the master job's progress and Kafka's offsets, refusing when that progress does not describe
the topic Kafka holds now (pipeline/merge_guard.py), (2) tags the inactive slot with its run id and
truncates it, (3) counts every post appended before H into it, and (4) flips the active slot and H
together in one single-row write, applied only while the slot's tag is still its own. Serving reads
whichever slot is active and checks its tag, so it never sees a half-written slot; a run killed
before (4) leaves the old slot serving, and the next run simply starts over.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from kafka import KafkaConsumer, TopicPartition

from pipeline.admin import describe_posts_topic
from pipeline.cassandra import as_utc, build_cluster, require_tables
from pipeline.errors import TrendoffError
from pipeline.jobs.aggregates import (
    TERM_WRITE_OPTIONS,
    account_activity,
    packed_terms,
    packed_vocabulary,
    topic_posts,
    with_terms,
    word_uses,
)
from pipeline.jobs.lease import BatchLease
from pipeline.jobs.stream import CASSANDRA_FORMAT, write_table
from pipeline.merge_guard import RESET_HINT, StoredProgress, progress_problems
from pipeline.schemas import BATCH_VIEWS, STATE_ID, TABLES
from pipeline.settings import Settings
from pipeline.spark import build_session
from pipeline.text import load_lexicon
from pipeline.tls import kafka_client_options
from pipeline.views import PartitionProgress, high_water_mark

if TYPE_CHECKING:
    from cassandra.cluster import Session
    from pyspark.sql import DataFrame, SparkSession

logger = logging.getLogger(__name__)

# Broker and batch host clocks may differ a little; a caught-up partition's bound is taken this
# much before the moment the end offsets were read.
CLOCK_SKEW_MARGIN = timedelta(seconds=2)


@dataclass(frozen=True)
class BatchState:
    active_slot: int | None
    high_water: datetime | None
    run_id: uuid.UUID | None = None


@dataclass(frozen=True)
class RunResult:
    run_id: uuid.UUID
    status: str  # succeeded | skipped
    slot: int | None
    high_water: datetime | None
    posts_counted: int
    rows_written: int
    seconds: float
    reason: str | None = None  # why a run was skipped

    def to_json(self) -> dict[str, object]:
        return {
            "run_id": str(self.run_id),
            "status": self.status,
            "slot": self.slot,
            "high_water": self.high_water.isoformat() if self.high_water else None,
            "posts_counted": self.posts_counted,
            "rows_written": self.rows_written,
            "seconds": round(self.seconds, 2),
            "reason": self.reason,
        }


def read_state(session: Session) -> BatchState:
    row = session.execute(
        "SELECT active_slot, high_water, run_id FROM batch_state WHERE id = %s", (STATE_ID,)
    ).one()
    if row is None:
        return BatchState(None, None)
    return BatchState(row.active_slot, as_utc(row.high_water), row.run_id)


def master_progress(
    session: Session, settings: Settings
) -> tuple[list[PartitionProgress], datetime, list[str]]:
    """The master job's progress against Kafka's offsets, when they were read, and why that
    progress cannot be trusted (empty when it can)."""
    written = {
        row.kafka_partition: row
        for row in session.execute(
            "SELECT kafka_partition, max_offset, max_append_time, topic_id FROM job_progress "
            "WHERE job = %s",
            ("master",),
        )
    }
    topic = describe_posts_topic(settings)
    checked_at = datetime.now(UTC) - CLOCK_SKEW_MARGIN
    consumer = KafkaConsumer(**kafka_client_options(settings))
    try:
        partitions = [
            TopicPartition(settings.posts_topic, p)
            for p in consumer.partitions_for_topic(settings.posts_topic) or set()
        ]
        ends = consumer.end_offsets(partitions)
        starts = consumer.beginning_offsets(partitions)
    finally:
        consumer.close()
    problems = progress_problems(
        [StoredProgress(p, row.max_offset, row.topic_id) for p, row in written.items()],
        topic.topic_id,
        {tp.partition: offset for tp, offset in starts.items()},
        {tp.partition: offset for tp, offset in ends.items()},
    )
    progress = []
    for topic_partition, end in ends.items():
        row = written.get(topic_partition.partition)
        progress.append(
            PartitionProgress(
                partition=topic_partition.partition,
                max_offset=row.max_offset if row else None,
                max_append_time=as_utc(row.max_append_time) if row else None,
                end_offset=end,
            )
        )
    return progress, checked_at, problems


class RunLog:
    """The run's row in ``batch_runs``, updated as it goes (the app shows it)."""

    def __init__(self, session: Session, run_id: uuid.UUID, requested_by: str) -> None:
        self.session = session
        self.run_id = run_id
        self._update = session.prepare(
            "UPDATE batch_runs SET status = ?, step = ?, slot = ?, high_water = ?, "
            "rows_written = ?, posts_counted = ?, finished_at = ?, error = ? "
            "WHERE bucket = 0 AND run_id = ?"
        )
        session.execute(
            "INSERT INTO batch_runs (bucket, run_id, status, step, started_at, requested_by) "
            "VALUES (0, %s, 'running', 'starting', %s, %s)",
            (run_id, datetime.now(UTC), requested_by),
        )

    def update(
        self,
        status: str,
        step: str,
        *,
        slot: int | None = None,
        high_water: datetime | None = None,
        rows: int | None = None,
        posts: int | None = None,
        error: str | None = None,
    ) -> None:
        finished = datetime.now(UTC) if status != "running" else None
        self.session.execute(
            self._update,
            (status, step, slot, high_water, rows, posts, finished, error, self.run_id),
        )
        logger.info("batch run %s: %s (%s)", self.run_id, step, status)


def mark_interrupted_runs(session: Session) -> None:
    """A run still 'running' when a new one starts was killed: say so in the history."""
    for row in session.execute("SELECT run_id, status FROM batch_runs WHERE bucket = 0"):
        if row.status == "running":
            session.execute(
                "UPDATE batch_runs SET status = 'interrupted', finished_at = %s "
                "WHERE bucket = 0 AND run_id = %s",
                (datetime.now(UTC), row.run_id),
            )


class SlotTakenOver(TrendoffError):
    """Another run changed the batch state or the slot's tag while this run worked."""


def tag_slot(session: Session, slot: int, run_id: uuid.UUID, seen_run: uuid.UUID | None) -> None:
    """Tag ``slot`` with this run before it is truncated, only if no run flipped since the state
    was read (so the slot is still the inactive one)."""
    session.execute("INSERT INTO batch_state (id) VALUES (%s) IF NOT EXISTS", (STATE_ID,))
    tagged = session.execute(
        f"UPDATE batch_state SET slot_{slot}_run = %s WHERE id = %s IF run_id = %s",
        (run_id, STATE_ID, seen_run),
    ).one()
    if not tagged.applied:
        raise SlotTakenOver(
            f"batch run {tagged.run_id} flipped the slots while this run started; not touching "
            f"slot {slot}"
        )


def flip(session: Session, slot: int, high_water: datetime, run_id: uuid.UUID) -> None:
    """The flip: one single-row write, so readers see either the old slot and H or the new. It
    applies only while the slot still carries this run's tag."""
    flipped = session.execute(
        "UPDATE batch_state SET active_slot = %s, high_water = %s, run_id = %s, flipped_at = %s "
        f"WHERE id = %s IF slot_{slot}_run = %s",
        (slot, high_water, run_id, datetime.now(UTC), STATE_ID, run_id),
    ).one()
    if not flipped.applied:
        raise SlotTakenOver(
            f"slot {slot} was taken over by batch run {getattr(flipped, f'slot_{slot}_run')} "
            "while this run filled it; not flipping"
        )


def run_once(
    settings: Settings,
    *,
    spark: SparkSession | None = None,
    force: bool = False,
    requested_by: str = "cli",
) -> RunResult:
    started = time.monotonic()
    run_id = uuid.uuid1()
    cluster = build_cluster(settings, request_timeout=120.0)
    session = cluster.connect()
    try:
        require_tables(session, settings, TABLES)
        session.set_keyspace(settings.keyspace)
        lease = BatchLease(session, run_id)
        holder = lease.acquire()
        if holder is not None:
            state = read_state(session)
            reason = f"another run holds the batch lease: {holder}"
            RunLog(session, run_id, requested_by).update("skipped", reason)
            logger.warning("batch run %s skipped: %s holds the lease", run_id, holder)
            return _skipped(run_id, state, started, reason)
        try:
            # Holding the lease, any run still marked 'running' is one that was killed.
            mark_interrupted_runs(session)
            log = RunLog(session, run_id, requested_by)
            return _run_with_lease(settings, session, log, lease, spark, force, started)
        finally:
            lease.release()
    except TrendoffError as exc:
        _record_failure(session, run_id, exc.one_line())
        raise
    except Exception as exc:
        message = (str(exc).splitlines() or [type(exc).__name__])[0][:500]
        _record_failure(session, run_id, message)
        raise TrendoffError(f"batch run {run_id} failed: {message}") from exc
    finally:
        cluster.shutdown()


def _skipped(run_id: uuid.UUID, state: BatchState, started: float, reason: str) -> RunResult:
    """A run that changed nothing: the active slot and H stay as they were."""
    return RunResult(
        run_id,
        "skipped",
        state.active_slot,
        state.high_water,
        0,
        0,
        time.monotonic() - started,
        reason,
    )


def _record_failure(session: Session, run_id: uuid.UUID, message: str) -> None:
    # Best effort: the history says the run failed; the error itself is what the user needs.
    with contextlib.suppress(Exception):
        session.execute(
            "UPDATE batch_runs SET status = 'failed', error = %s, finished_at = %s "
            "WHERE bucket = 0 AND run_id = %s",
            (message[:500], datetime.now(UTC), run_id),
        )


def _run_with_lease(
    settings: Settings,
    session: Session,
    log: RunLog,
    lease: BatchLease,
    spark: SparkSession | None,
    force: bool,
    started: float,
) -> RunResult:
    from pyspark.sql import functions as F

    run_id = log.run_id
    state = read_state(session)
    progress, checked_at, problems = master_progress(session, settings)
    if problems:
        # Stale progress would move H past posts the master dataset does not hold.
        raise TrendoffError(
            "the master job's progress does not match the posts topic: " + "; ".join(problems),
            hint=RESET_HINT,
        )
    high_water = high_water_mark(progress, checked_at, settings.ingest_window_seconds)
    if high_water is None or (
        not force and state.high_water is not None and high_water <= state.high_water
    ):
        reason = "nothing new below the high-water mark"
        log.update("skipped", reason, high_water=high_water)
        return _skipped(run_id, state, started, reason)

    slot = 0 if state.active_slot in (None, 1) else 1
    tag_slot(session, slot, run_id, state.run_id)
    log.update("running", f"truncating slot {slot}", slot=slot, high_water=high_water)
    for view in BATCH_VIEWS:
        session.execute(f"TRUNCATE {view}_{slot}")

    spark = spark or build_session(settings, "trendoff-batch")
    lexicon = load_lexicon(settings.lexicon_path)
    posts = (
        spark.read.format(CASSANDRA_FORMAT)
        .options(keyspace=settings.keyspace, table="posts")
        .load()
        .select("author_id", "author_handle", "text", "created_at", "append_time")
        .where(F.col("append_time") < F.lit(high_water))
    )
    terms = with_terms(posts, lexicon).persist()
    try:
        counted = terms.count()
        rows = 0
        views: list[tuple[str, DataFrame, dict[str, str]]] = [
            ("batch_vocab", packed_vocabulary(word_uses(terms, []), []), {}),
            ("batch_topics", topic_posts(terms, []), {}),
            ("batch_account_tallies", account_activity(terms, []), {}),
            (
                "batch_term_tallies",
                packed_terms(terms, [], settings.trend_bucket_seconds),
                TERM_WRITE_OPTIONS,
            ),
        ]
        for view, frame, options in views:
            log.update("running", f"writing {view}_{slot}", slot=slot, high_water=high_water)
            frame = frame.persist()
            rows += frame.count()
            write_table(frame, settings, f"{view}_{slot}", **options)
            frame.unpersist()
    finally:
        terms.unpersist()

    if lease.lost:
        raise SlotTakenOver("this run lost the batch lease while it worked; not flipping")
    flip(session, slot, high_water, run_id)
    log.update(
        "succeeded", "slot flipped", slot=slot, high_water=high_water, rows=rows, posts=counted
    )
    return RunResult(
        run_id, "succeeded", slot, high_water, counted, rows, time.monotonic() - started
    )
