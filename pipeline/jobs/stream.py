"""What the streaming jobs share: the Kafka source, Avro decoding in the JVM, progress bookkeeping.

Messages are Avro single-object encoded: a 2-byte marker, the 8-byte schema fingerprint, then the
plain Avro body. Decoding runs in Spark's JVM with spark-avro's ``from_avro`` on the body; a
message whose header is not the known writer schema, or whose body does not decode, is set apart
as a dead letter with its reason instead of failing the job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pipeline.admin import describe_posts_topic
from pipeline.cassandra import build_cluster, require_tables
from pipeline.ingest.avro import (
    HEADER_LENGTH,
    OLDER_SCHEMA_JSONS,
    WRITER_SCHEMA,
    WRITER_SCHEMA_JSON,
    single_object_header,
)
from pipeline.jobs.lifecycle import STOP_AFTER_STALL_SECONDS, StopRequest, supervise
from pipeline.schemas import TABLES
from pipeline.settings import Settings
from pipeline.tls import spark_kafka_options

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession
    from pyspark.sql.streaming.query import StreamingQuery

logger = logging.getLogger(__name__)

SINGLE_OBJECT_HEADER = single_object_header(WRITER_SCHEMA)
# Each known writer schema by its single-object header, the current one first. Messages of an
# older schema are read with it as the writer schema and resolved to the current one (spark-avro's
# ``avroSchema`` option), so every message decodes to the same struct; messages of any other
# writer schema are dead letters here until the jobs learn that schema.
KNOWN_WRITER_SCHEMAS: tuple[tuple[bytes, str], ...] = (
    (SINGLE_OBJECT_HEADER, WRITER_SCHEMA_JSON),
    *((single_object_header(schema), schema) for schema in OLDER_SCHEMA_JSONS),
)
CASSANDRA_FORMAT = "org.apache.spark.sql.cassandra"

# Reasons a message on the posts topic is set apart by the jobs (the producer has its own).
UNKNOWN_SCHEMA = "unknown_schema"
UNDECODABLE = "undecodable_avro"


def read_posts_topic(spark: SparkSession, settings: Settings, job: str) -> DataFrame:
    return (
        spark.readStream.format("kafka")
        .options(**spark_kafka_options(settings))
        .option("subscribe", settings.posts_topic)
        .option("startingOffsets", "earliest")
        # Records gone from Kafka before a job read them would be lost counts: stop loudly.
        .option("failOnDataLoss", "true")
        .option("maxOffsetsPerTrigger", settings.stream_max_offsets_per_trigger)
        # Spark keeps offsets in its checkpoint; the prefix names each job's consumers.
        .option("groupIdPrefix", settings.consumer_group(job))
        .load()
    )


def decode(raw: DataFrame) -> DataFrame:
    """Kafka rows -> partition, offset, append_time, raw value, dead-letter reason, post struct."""
    from pyspark.sql import functions as F
    from pyspark.sql.avro.functions import from_avro

    value = F.col("value")
    header = F.substring(value, 1, HEADER_LENGTH)
    header_ok = header.isin(*[F.lit(known) for known, _ in KNOWN_WRITER_SCHEMAS])
    body = F.expr(f"substring(value, {HEADER_LENGTH + 1}, length(value))")
    post: Column | None = None
    for known, writer_json in KNOWN_WRITER_SCHEMAS:
        options = {"mode": "PERMISSIVE"}
        if writer_json != WRITER_SCHEMA_JSON:
            options["avroSchema"] = WRITER_SCHEMA_JSON  # the reader schema: today's
        decoded_post = from_avro(body, writer_json, options)
        condition = header == F.lit(known)
        post = (
            F.when(condition, decoded_post) if post is None else post.when(condition, decoded_post)
        )
    assert post is not None  # KNOWN_WRITER_SCHEMAS always holds the current schema
    decoded = raw.select(
        F.col("partition").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"),
        F.col("timestamp").alias("append_time"),
        value,
        header_ok.alias("header_ok"),
        post.alias("post"),
    )
    reason: Column = (
        F.when(~F.col("header_ok"), F.lit(UNKNOWN_SCHEMA))
        .when(F.col("post").isNull() | F.col("post.post_id").isNull(), F.lit(UNDECODABLE))
        .otherwise(F.lit(None))
    )
    return decoded.withColumn("dead_letter_reason", reason).drop("header_ok")


def every_record(decoded: DataFrame) -> DataFrame:
    """Each record's post fields (null for a dead letter), Kafka position, append time and
    dead-letter reason, without the raw message: what :meth:`ProgressWriter.measure` needs."""
    return decoded.select(
        "post.*", "kafka_partition", "kafka_offset", "append_time", "dead_letter_reason"
    )


def valid_posts(decoded: DataFrame) -> DataFrame:
    """:func:`every_record` without the dead letters (and their reason column)."""
    from pyspark.sql import functions as F

    return (
        every_record(decoded).where(F.col("dead_letter_reason").isNull()).drop("dead_letter_reason")
    )


def ingest_window_start(append_time: Column, window_seconds: int) -> Column:
    from pyspark.sql import functions as F

    seconds = F.floor(F.unix_micros(append_time) / F.lit(1_000_000 * window_seconds))
    return F.timestamp_seconds(seconds * F.lit(window_seconds))


@contextmanager
def materialised(frame: DataFrame) -> Iterator[DataFrame]:
    """``frame`` computed once and kept (memory, spilling to disk) while the caller reads it
    several times; its blocks are let go on exit.

    A local checkpoint, not ``persist()``: a DataFrame derived from a persisted one still carries
    the whole plan beneath it, which Spark analyses, optimises and matches against its cache for
    every job. Over the tokenising expressions (hundreds of nodes, the lexicon's terms among them)
    that cost each speed micro-batch ~0.7 s whatever its size (docs/performance.md). A checkpoint's
    plan is a scan of its blocks. Its blocks are not recomputed when an executor is lost: the
    micro-batch then fails and is replayed from its offsets, like any failed micro-batch."""
    local = frame.localCheckpoint(eager=True)
    try:
        yield local
    finally:
        # DataFrame.unpersist() drops only cached plans; a checkpoint's blocks would stay until
        # the JVM happened to collect its RDD. Drop them now, without waiting.
        local._jdf.queryExecution().logical().rdd().unpersist(False)


@dataclass(frozen=True)
class PartitionReached:
    """How far one micro-batch read one Kafka partition, and how many dead letters it held."""

    kafka_partition: int
    max_offset: int
    max_append_time: datetime
    records: int
    dead_letters: int


class Laps:
    """Seconds spent in each step of a micro-batch, for its log line (where the time goes)."""

    def __init__(self) -> None:
        self._started = self._last = time.perf_counter()
        self.steps: list[tuple[str, float]] = []

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.steps.append((step, now - self._last))
        self._last = now

    def summary(self) -> str:
        total = time.perf_counter() - self._started
        steps = ", ".join(f"{step} {seconds:.2f}" for step, seconds in self.steps)
        return f"{total:.2f} s ({steps})"


def write_concurrently(
    spark: SparkSession, writes: dict[str, Callable[[], None]], laps: Laps
) -> None:
    """Run ``writes`` (name -> a Spark write) at once, one thread each, and lap each by name.

    A small micro-batch's writes wait mostly on scheduling and Cassandra round trips, not on the
    CPU: side by side they take about as long as the slowest instead of the sum (issue 11's
    freshness). Each thread runs its jobs with the caller's Spark local properties (its
    scheduler pool). Returns once all have finished; raises the first failure, after the others
    ended, so the micro-batch fails whole and is replayed."""
    from concurrent.futures import ThreadPoolExecutor

    context = spark.sparkContext
    pool = context.getLocalProperty("spark.scheduler.pool")
    started = time.perf_counter()

    def timed(write: Callable[[], None]) -> float:
        context.setLocalProperty("spark.scheduler.pool", pool)  # type: ignore[arg-type]
        write()
        return time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=len(writes), thread_name_prefix="view-write") as threads:
        futures = {name: threads.submit(timed, write) for name, write in writes.items()}
    for name, future in futures.items():
        laps.steps.append((name, future.result()))
    laps.lap("writes")


class ProgressWriter:
    """Records, per Kafka partition, how far a job has written (after its writes succeeded)."""

    def __init__(self, settings: Settings, job: str) -> None:
        self.job = job
        # The topic incarnation the offsets belong to: the batch recognises progress left over
        # from a deleted and recreated topic by it (pipeline/merge_guard.py).
        self.topic_id = describe_posts_topic(settings).topic_id
        self._cluster = build_cluster(settings)
        self._session = self._cluster.connect()
        require_tables(self._session, settings, TABLES)
        self._session.set_keyspace(settings.keyspace)
        self._upsert = self._session.prepare(
            "INSERT INTO job_progress (job, kafka_partition, max_offset, max_append_time, "
            "micro_batch, updated_at, topic_id) VALUES (?, ?, ?, ?, ?, ?, ?)"
        )

    @staticmethod
    def measure(decoded: DataFrame) -> list[PartitionReached]:
        """Where the micro-batch ends on each partition. It reads the whole batch: keep the
        batch (:func:`materialised`, or persisted) for the writes that follow."""
        from pyspark.sql import functions as F

        rows = (
            decoded.groupBy("kafka_partition")
            .agg(
                F.max("kafka_offset").alias("max_offset"),
                F.max("append_time").alias("max_at"),
                F.count(F.lit(1)).alias("records"),
                F.count("dead_letter_reason").alias("dead"),
            )
            .collect()
        )
        return [
            PartitionReached(row.kafka_partition, row.max_offset, row.max_at, row.records, row.dead)
            for row in rows
        ]

    def save(self, reached: list[PartitionReached], micro_batch: int) -> None:
        now = datetime.now(UTC)
        futures = [
            self._session.execute_async(
                self._upsert,
                (
                    self.job,
                    part.kafka_partition,
                    part.max_offset,
                    part.max_append_time,
                    micro_batch,
                    now,
                    self.topic_id,
                ),
            )
            for part in reached
        ]
        for future in futures:
            future.result()

    def close(self) -> None:
        self._cluster.shutdown()


def write_table(frame: DataFrame, settings: Settings, table: str, **options: str) -> None:
    writer = frame.write.format(CASSANDRA_FORMAT).options(keyspace=settings.keyspace, table=table)
    for key, value in options.items():
        writer = writer.option(key, value)
    writer.mode("append").save()


MicroBatchHandler = Callable[["DataFrame", int, ProgressWriter], None]


def start_query(
    spark: SparkSession,
    settings: Settings,
    job: str,
    handle_batch: MicroBatchHandler,
    progress: ProgressWriter,
    *,
    available_now: bool,
    trigger_seconds: float | None = None,
) -> StreamingQuery:
    """Start ``job``'s streaming query over the posts topic. ``handle_batch`` gets each
    micro-batch, its id and the job's progress writer, which it calls after its own writes
    succeeded. Micro-batches start every ``trigger_seconds`` (default the
    ``stream_trigger_seconds`` setting). The query runs in the Spark scheduler pool set on the
    calling thread, if any."""
    decoded = decode(read_posts_topic(spark, settings, job))
    writer = (
        decoded.writeStream.queryName(f"{settings.namespace}-{job}")
        .option("checkpointLocation", str(settings.checkpoint_dir(job)))
        .foreachBatch(lambda frame, batch_id: handle_batch(frame, batch_id, progress))
    )
    if available_now:
        writer = writer.trigger(availableNow=True)
    else:
        # A micro-batch that takes longer than the interval is followed by the next at once.
        seconds = settings.stream_trigger_seconds if trigger_seconds is None else trigger_seconds
        interval_ms = round(seconds * 1000)
        writer = writer.trigger(processingTime=f"{interval_ms} milliseconds")
    return writer.start()


def run_job(
    settings: Settings, job: str, handle_batch: MicroBatchHandler, *, available_now: bool
) -> None:
    """Run one job's streaming query in a Spark application of its own until it stops
    (``available_now``: once it has drained what Kafka holds) or SIGINT/SIGTERM asks it to.
    ``trendoff jobs`` hosts both queries in one application instead (see application.py)."""
    from pipeline.spark import build_session

    spark = build_session(settings, f"trendoff-{job}")
    # After the session: PySpark installs a SIGINT handler of its own when it starts.
    with StopRequest() as stop:
        progress = ProgressWriter(settings, job)
        try:
            query = start_query(
                spark, settings, job, handle_batch, progress, available_now=available_now
            )
            supervise(
                [query],
                stop,
                stall_seconds=settings.stream_stall_seconds,
                exit_after_stall_seconds=STOP_AFTER_STALL_SECONDS,
            )
        finally:
            progress.close()
