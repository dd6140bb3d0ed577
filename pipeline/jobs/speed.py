"""``trendoff speed``: fresh views from Kafka, keyed by ingest window and micro-batch.

Every row carries the micro-batch id that produced it and holds that batch's absolute count for
its key: a micro-batch that is replayed after a crash recomputes the same rows from the same
offsets and overwrites them, so nothing is counted twice and no state store or watermark is needed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pipeline.jobs.aggregates import (
    TERM_WRITE_OPTIONS,
    account_activity,
    packed_terms,
    packed_vocabulary,
    topic_posts,
    with_terms,
    word_uses,
)
from pipeline.jobs.stream import (
    Laps,
    ProgressWriter,
    every_record,
    ingest_window_start,
    materialised,
    run_job,
    write_concurrently,
    write_table,
)
from pipeline.settings import Settings
from pipeline.text import Lexicon, load_lexicon
from pipeline.trending import packs_for

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

logger = logging.getLogger(__name__)

JOB = "speed"
SPEED_KEYS = ["window_start", "micro_batch"]


def handle_micro_batch(
    decoded: DataFrame,
    micro_batch: int,
    settings: Settings,
    lexicon: Lexicon,
    progress: ProgressWriter,
) -> None:
    from pyspark.sql import functions as F

    laps = Laps()
    # The tokenised records, dead letters included (their text is null, so they have no terms),
    # are computed once; measuring the offsets and every view read them, the views without the
    # dead letters. (Keeping the decoded batch and the tokens apart cost one more Spark job and a
    # copy of every raw message.)
    records = (
        every_record(decoded)
        .withColumn(
            "window_start",
            ingest_window_start(F.col("append_time"), settings.ingest_window_seconds),
        )
        .withColumn("micro_batch", F.lit(micro_batch).cast("long"))
    )
    with materialised(with_terms(records, lexicon)) as tokenised:
        reached = progress.measure(tokenised)
        laps.lap("read and tokens")
        terms = tokenised.where(F.col("dead_letter_reason").isNull())
        keys = SPEED_KEYS
        bucket_seconds = settings.trend_bucket_seconds
        write_concurrently(
            decoded.sparkSession,
            {
                "words": lambda: write_table(
                    packed_vocabulary(word_uses(terms, keys), keys, chunks=1),
                    settings,
                    "speed_vocab",
                ),
                "topics": lambda: write_table(topic_posts(terms, keys), settings, "speed_topics"),
                "accounts": lambda: write_table(
                    account_activity(terms, keys), settings, "speed_account_tallies"
                ),
                "terms": lambda: write_table(
                    packed_terms(
                        terms,
                        keys,
                        bucket_seconds,
                        # A micro-batch holds at most this many posts: no need to count them.
                        packs=packs_for(settings.stream_max_offsets_per_trigger),
                    ),
                    settings,
                    "speed_term_tallies",
                    **TERM_WRITE_OPTIONS,
                ),
            },
            laps,
        )
    progress.save(reached, micro_batch)
    laps.lap("progress")
    logger.info(
        "speed micro-batch %d: %d records in %s",
        micro_batch,
        sum(part.records for part in reached),
        laps.summary(),
    )


def run(settings: Settings, *, available_now: bool) -> None:
    lexicon = load_lexicon(settings.lexicon_path)
    run_job(
        settings,
        JOB,
        lambda frame, batch_id, progress: handle_micro_batch(
            frame, batch_id, settings, lexicon, progress
        ),
        available_now=available_now,
    )
