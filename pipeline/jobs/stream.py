"""What the streaming jobs share: the Kafka source, Avro decoding in the JVM, progress bookkeeping.

Messages are Avro single-object encoded: a 2-byte marker, the 8-byte schema fingerprint, then the
plain Avro body. Decoding runs in Spark's JVM with spark-avro's ``from_avro`` on the body; a
message whose header is not the known writer schema, or whose body does not decode, is set apart
as a dead letter with its reason instead of failing the job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pipeline.cassandra import build_cluster, require_tables
from pipeline.ingest.avro import (
    HEADER_LENGTH,
    OLDER_SCHEMA_JSONS,
    WRITER_SCHEMA,
    WRITER_SCHEMA_JSON,
    single_object_header,
)
from pipeline.schemas import TABLES
from pipeline.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

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
        .option("kafka.bootstrap.servers", settings.kafka_bootstrap_servers)
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


def valid_posts(decoded: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    return decoded.where(F.col("dead_letter_reason").isNull()).select(
        "post.*", "kafka_partition", "kafka_offset", "append_time"
    )


def ingest_window_start(append_time: Column, window_seconds: int) -> Column:
    from pyspark.sql import functions as F

    seconds = F.floor(F.unix_micros(append_time) / F.lit(1_000_000 * window_seconds))
    return F.timestamp_seconds(seconds * F.lit(window_seconds))


class ProgressWriter:
    """Records, per Kafka partition, how far a job has written (after its writes succeeded)."""

    def __init__(self, settings: Settings, job: str) -> None:
        self.job = job
        self._cluster = build_cluster(settings)
        self._session = self._cluster.connect()
        require_tables(self._session, settings, TABLES)
        self._session.set_keyspace(settings.keyspace)
        self._upsert = self._session.prepare(
            "INSERT INTO job_progress (job, kafka_partition, max_offset, max_append_time, "
            "micro_batch, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
        )

    def record(self, decoded: DataFrame, micro_batch: int) -> int:
        from pyspark.sql import functions as F

        rows = (
            decoded.groupBy("kafka_partition")
            .agg(F.max("kafka_offset").alias("max_offset"), F.max("append_time").alias("max_at"))
            .collect()
        )
        now = datetime.now(UTC)
        for row in rows:
            self._session.execute(
                self._upsert,
                (self.job, row.kafka_partition, row.max_offset, row.max_at, micro_batch, now),
            )
        return len(rows)

    def close(self) -> None:
        self._cluster.shutdown()


def write_table(frame: DataFrame, settings: Settings, table: str, **options: str) -> None:
    writer = frame.write.format(CASSANDRA_FORMAT).options(keyspace=settings.keyspace, table=table)
    for key, value in options.items():
        writer = writer.option(key, value)
    writer.mode("append").save()


MicroBatchHandler = Callable[["DataFrame", int, ProgressWriter], None]


def run_job(
    settings: Settings, job: str, handle_batch: MicroBatchHandler, *, available_now: bool
) -> None:
    """Run ``job``'s streaming query over the posts topic until it stops (``available_now``:
    once it has drained what Kafka holds). ``handle_batch`` gets each micro-batch, its id and the
    job's progress writer, which it calls after its own writes succeeded."""
    from pipeline.spark import build_session

    spark = build_session(settings, f"trendoff-{job}")
    progress = ProgressWriter(settings, job)
    try:
        decoded = decode(read_posts_topic(spark, settings, job))
        writer = (
            decoded.writeStream.queryName(f"{settings.namespace}-{job}")
            .option("checkpointLocation", str(settings.checkpoint_dir(job)))
            .foreachBatch(lambda frame, batch_id: handle_batch(frame, batch_id, progress))
        )
        if available_now:
            writer = writer.trigger(availableNow=True)
        else:
            writer = writer.trigger(processingTime=f"{settings.stream_trigger_seconds} seconds")
        writer.start().awaitTermination()
    finally:
        progress.close()
