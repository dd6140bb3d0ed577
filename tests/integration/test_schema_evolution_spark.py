"""The jobs' JVM decoding reads posts of both schema versions into one struct (version 1 resolved
to today's schema with its defaults), and sets apart unknown schemas and broken bodies; the speed
layer counts the posts and reads past the rest."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from pipeline.ingest.avro import encode_post
from pipeline.jobs import speed
from pipeline.jobs.stream import UNDECODABLE, UNKNOWN_SCHEMA, ProgressWriter, decode, valid_posts
from pipeline.serving import Serving
from pipeline.text import load_lexicon, words
from tests.unit.ingest.conftest import make_post
from tests.unit.ingest.test_avro_evolution import encode_with_v1

pytestmark = pytest.mark.integration


def one_of_each(spark):
    """A Kafka-like frame, partition 0, offsets 0-3: a version-1 post, a version-2 post, a
    message of an unknown schema and a broken body; and the two posts."""
    old = make_post(post_id="old", text="written before bluesky")
    new = make_post(
        post_id="new",
        source="bluesky",
        hashtags=("tea", "matcha"),
        mentions=("did:plc:abc",),
        is_reply=True,
        is_quote=True,
    )
    unknown = bytearray(encode_post(make_post(post_id="unknown")))
    unknown[2:10] = bytes.fromhex("0102030405060708")
    broken = encode_post(make_post(post_id="broken"))[:-6]
    appended = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        (0, offset, appended, value)
        for offset, value in enumerate(
            [encode_with_v1(old), encode_post(new), bytes(unknown), broken]
        )
    ]
    raw = spark.createDataFrame(
        rows, "partition int, offset long, timestamp timestamp, value binary"
    )
    return raw, old, new


def test_decode_reads_version_1_and_version_2_messages(spark) -> None:
    raw, old, new = one_of_each(spark)
    decoded = decode(raw)
    reasons = {row.kafka_offset: row.dead_letter_reason for row in decoded.collect()}
    assert reasons == {0: None, 1: None, 2: UNKNOWN_SCHEMA, 3: UNDECODABLE}
    posts = {row.post_id: row for row in valid_posts(decoded).collect()}
    assert set(posts) == {"old", "new"}
    assert posts["old"].text == "written before bluesky"
    assert posts["old"].hashtags == [] and posts["old"].mentions == []
    assert posts["old"].is_reply is False and posts["old"].is_quote is False
    assert posts["old"].followers == old.followers
    assert posts["new"].hashtags == ["tea", "matcha"]
    assert posts["new"].mentions == ["did:plc:abc"]
    assert posts["new"].is_reply is True and posts["new"].is_quote is True
    assert posts["new"].created_at.astimezone(UTC) == new.created_at


def test_a_speed_micro_batch_counts_the_posts_and_skips_the_dead_letters(
    spark, namespace_settings
) -> None:
    """The speed job keeps the whole micro-batch, dead letters included, to measure how far it
    read; its views must count only the posts, and the kept blocks are gone afterwards."""
    settings = namespace_settings
    raw, old, new = one_of_each(spark)
    kept_before = spark.sparkContext._jsc.getPersistentRDDs().size()
    progress = ProgressWriter(settings, speed.JOB)
    try:
        speed.handle_micro_batch(decode(raw), 0, settings, load_lexicon(None), progress)
    finally:
        progress.close()
    assert spark.sparkContext._jsc.getPersistentRDDs().size() == kept_before
    expected = Counter([*words(old.text), *words(new.text)])
    with Serving(settings) as serving:
        assert serving.word_counts(old.author_id) == dict(expected)
        assert serving.account_tallies()[old.author_id].posts == 2
        reached = serving.session.execute(
            f"SELECT kafka_partition, max_offset FROM {settings.keyspace}.job_progress "
            "WHERE job = %s",
            (speed.JOB,),
        ).all()
    # Progress covers the dead letters too: the speed layer has read past them.
    assert [(row.kafka_partition, row.max_offset) for row in reached] == [(0, 3)]
