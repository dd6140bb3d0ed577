"""Issue 16 item 1 on the real stack: the high-water mark H never moves on progress that does not
describe the posts topic Kafka holds now (a deleted and recreated topic, retention that removed
unread records), topics carry an explicit retention and broker append times, and
`trendoff init --reset` recovers, with the served counts equal to a plain recount afterwards."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

from pipeline.admin import admin_client, drop_namespace, initialise, partition_end_offsets
from pipeline.cassandra import connect
from pipeline.errors import TrendoffError
from pipeline.jobs import batch
from pipeline.settings import Settings
from tests.conftest import fresh_namespace
from tests.integration.merge_helpers import (
    assert_served_equals_recount,
    dev_records,
    drain,
    job_env,
    run_job,
    send,
)

pytestmark = pytest.mark.integration

RETENTION_MS = 2 * 86_400_000  # not the broker's default (7 days): init must set it


@pytest.fixture
def merge_settings(stack: Settings, tmp_path: Path) -> Iterator[Settings]:
    settings = stack.model_copy(
        update={
            "namespace": fresh_namespace("ms"),
            "ingest_window_seconds": 1,
            "state_dir": tmp_path,
            "kafka_retention_ms": RETENTION_MS,
        }
    )
    (tmp_path / "jvm").symlink_to(stack.state_dir / "jvm")
    initialise(settings)
    yield settings
    drop_namespace(settings)


def recreate_posts_topic(settings: Settings) -> None:
    """Delete the posts topic and create it again, as an operator might by hand."""
    admin = admin_client(settings)
    try:
        admin.delete_topics([settings.posts_topic], timeout_ms=30000)
        deadline = time.monotonic() + 60
        while settings.posts_topic in admin.list_topics():
            assert time.monotonic() < deadline, "the topic was not deleted within 60 s"
            time.sleep(0.5)
    finally:
        admin.close()
    deadline = time.monotonic() + 60
    while True:  # the broker may still be finishing the deletion
        try:
            initialise(settings)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def batch_state(settings: Settings) -> tuple[object, object]:
    with connect(settings, keyspace=settings.keyspace) as session:
        row = session.execute(
            "SELECT active_slot, high_water FROM batch_state WHERE id = 'current'"
        ).one()
    return (row.active_slot, row.high_water) if row else (None, None)


def test_recreated_topic_stops_the_batch_until_init_reset(merge_settings: Settings, spark) -> None:
    settings = merge_settings
    first, second = dev_records(400), dev_records(60, skip=400)
    send(settings, first)
    drain(settings)
    time.sleep(2 * settings.ingest_window_seconds + 1)
    assert batch.run_once(settings, spark=spark).status == "succeeded"
    before = batch_state(settings)

    # Recreated: new topic id, offsets from 0 again, fewer records than the stored progress holds.
    recreate_posts_topic(settings)
    send(settings, second)
    time.sleep(2 * settings.ingest_window_seconds + 1)
    with pytest.raises(TrendoffError) as refused:
        batch.run_once(settings, spark=spark, force=True)
    assert "deleted and recreated" in refused.value.message
    assert "trendoff init --reset" in (refused.value.hint or "")
    assert batch_state(settings) == before, "H moved on stale progress"

    # The master job's checkpoint holds the old offsets: Spark stops it (failOnDataLoss).
    stopped = run_job(settings, "master")
    assert stopped.returncode != 0

    # The documented recovery: reset (confirmed), drain again, batch; nothing lost or doubled.
    reset = subprocess.run(
        [sys.executable, "-m", "pipeline", "init", "--reset", "--yes", "--json"],
        env=job_env(settings),
        capture_output=True,
        text=True,
        check=False,
    )
    assert reset.returncode == 0, reset.stderr
    assert batch_state(settings) == (None, None)
    drain(settings, "master")
    drain(settings, "speed")
    # Until a batch runs, the views hold what the jobs read from the new topic only.
    assert_served_equals_recount(settings, second)
    time.sleep(2 * settings.ingest_window_seconds + 1)
    assert batch.run_once(settings, spark=spark).status == "succeeded"
    assert_served_equals_recount(settings, first + second)


def test_init_reset_asks_first(merge_settings: Settings) -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "pipeline", "init", "--reset"],
        env=job_env(merge_settings),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2
    assert "--yes" in refused.stderr


def test_retention_that_removed_unread_posts_is_refused_and_explained(
    merge_settings: Settings, spark
) -> None:
    settings = merge_settings
    send(settings, dev_records(200))
    ends = partition_end_offsets(settings)
    # What retention does, on demand: the oldest records of a partition go before any job read them.
    partition, end = max(ends.items(), key=lambda item: item[1])
    victim = TopicPartition(settings.posts_topic, partition)
    admin = admin_client(settings)
    try:
        admin.delete_records({victim: end // 2})
    finally:
        admin.close()
    time.sleep(2 * settings.ingest_window_seconds + 1)
    with pytest.raises(TrendoffError) as refused:
        batch.run_once(settings, spark=spark, force=True)
    assert f"partition {victim.partition}: Kafka deleted offsets 0..{end // 2 - 1}" in (
        refused.value.message
    )
    assert "retention" in refused.value.message
    assert batch_state(settings) == (None, None)


def test_topics_get_explicit_retention_and_log_append_time(merge_settings: Settings) -> None:
    admin = admin_client(merge_settings)
    try:
        configs = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, merge_settings.posts_topic)],
            config_filter="all",
        )["topic"][merge_settings.posts_topic]
    finally:
        admin.close()
    assert configs["retention.ms"]["value"] == str(RETENTION_MS)
    assert configs["message.timestamp.type"]["value"] == "LogAppendTime"


def test_init_refuses_a_topic_created_with_create_time(stack: Settings) -> None:
    settings = stack.model_copy(update={"namespace": fresh_namespace("ct")})
    admin = admin_client(settings)
    try:
        admin.create_topics(
            [
                NewTopic(
                    settings.posts_topic,
                    num_partitions=1,
                    replication_factor=1,
                    topic_configs={"message.timestamp.type": "CreateTime"},
                )
            ],
            timeout_ms=30000,
        )
    finally:
        admin.close()
    try:
        with pytest.raises(TrendoffError, match=r"message\.timestamp\.type=CreateTime"):
            initialise(settings)
    finally:
        drop_namespace(settings)
