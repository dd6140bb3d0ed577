"""``trendoff master``: every valid post from Kafka into the master dataset (Cassandra ``posts``).

Each micro-batch writes its posts with WRITETIME = the message's append time, so a replayed batch
and a re-sent post both rewrite rows to the same final state (null fields are left unset, not
written as tombstones: a later copy of a post can fill in a field, never erase one); then records
how far it got per partition (the batch layer's high-water mark is derived from that); then sets
apart messages that did not decode as dead letters with their reason."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pipeline.jobs.stream import Laps, ProgressWriter, run_job, valid_posts, write_table
from pipeline.settings import Settings
from pipeline.tls import spark_kafka_options

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

logger = logging.getLogger(__name__)

JOB = "master"


def handle_micro_batch(
    decoded: DataFrame, micro_batch: int, settings: Settings, progress: ProgressWriter
) -> None:
    from pyspark.sql import functions as F

    laps = Laps()
    decoded = decoded.persist()
    try:
        reached = progress.measure(decoded)
        laps.lap("read")
        posts = valid_posts(decoded).withColumn(
            "write_time_us", F.unix_micros(F.col("append_time"))
        )
        write_table(posts, settings, "posts", writetime="write_time_us")
        laps.lap("posts")
        dead_count = sum(part.dead_letters for part in reached)
        if dead_count:
            send_dead_letters(decoded.where(F.col("dead_letter_reason").isNotNull()), settings)
        progress.save(reached, micro_batch)
        laps.lap("progress")
        logger.info(
            "master micro-batch %d: %d records, %d dead letters, in %s",
            micro_batch,
            sum(part.records for part in reached),
            dead_count,
            laps.summary(),
        )
    finally:
        decoded.unpersist()


def send_dead_letters(dead: DataFrame, settings: Settings) -> None:
    """Undecodable messages go to the dead-letter topic: raw bytes, reason and origin kept."""
    from pyspark.sql import functions as F

    origin = F.format_string(
        "%s:%d:%d", F.lit(settings.posts_topic), F.col("kafka_partition"), F.col("kafka_offset")
    )
    headers = F.array(
        F.struct(
            F.lit("reason").alias("key"), F.encode("dead_letter_reason", "UTF-8").alias("value")
        ),
        F.struct(F.lit("origin").alias("key"), F.encode(origin, "UTF-8").alias("value")),
        F.struct(F.lit("stage").alias("key"), F.encode(F.lit(JOB), "UTF-8").alias("value")),
    )
    (
        dead.select(F.col("value"), headers.alias("headers"))
        .write.format("kafka")
        .options(**spark_kafka_options(settings))
        .option("topic", settings.dead_letter_topic)
        .option("includeHeaders", "true")
        .save()
    )


def run(settings: Settings, *, available_now: bool) -> None:
    run_job(
        settings,
        JOB,
        lambda frame, batch_id, progress: handle_micro_batch(frame, batch_id, settings, progress),
        available_now=available_now,
    )
