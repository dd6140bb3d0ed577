"""`trendoff produce --source bluesky` against a fake Jetstream and AppView, into the real Kafka:
exact after drops and restarts, dead letters with reasons, and through the jobs to serving
together with posts of the previous schema version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from pipeline.ingest.avro import decode_post, post_from_record
from pipeline.ingest.model import Post
from pipeline.ingest.sources import open_source
from pipeline.ingest.sources.bluesky_cursor import CursorStore
from pipeline.jobs import batch
from pipeline.reference import recount_records
from pipeline.serving import Serving
from pipeline.settings import Settings
from pipeline.text import load_lexicon
from tests.fakes.jetstream import FakeAppView, FakeJetstream, SampleStream, sample_stream
from tests.integration.test_ingest_roundtrip import consume_all
from tests.integration.test_lambda_exact import drain
from tests.unit.ingest.test_avro_evolution import encode_with_v1

pytestmark = pytest.mark.integration


@pytest.fixture
def bluesky_settings(stack: Settings, tmp_path: Path) -> Iterator[Settings]:
    from pipeline.admin import drop_namespace, initialise
    from tests.conftest import fresh_namespace

    settings = stack.model_copy(
        update={
            "namespace": fresh_namespace("bsky"),
            "state_dir": tmp_path / "state",
            "ingest_window_seconds": 1,
        }
    )
    settings.state_dir.mkdir()
    (settings.state_dir / "jvm").symlink_to(stack.state_dir / "jvm")
    initialise(settings)
    yield settings
    drop_namespace(settings)


@pytest.fixture
def stream() -> SampleStream:
    return sample_stream(600, seed=11)


def produce_cli(settings: Settings, appview: str, url: str, limit: int) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDOFF_")}
    env.update(
        TRENDOFF_NAMESPACE=settings.namespace,
        TRENDOFF_STATE_DIR=str(settings.state_dir),
        TRENDOFF_KAFKA_BOOTSTRAP_SERVERS=settings.kafka_bootstrap_servers,
        TRENDOFF_BLUESKY_APPVIEW_URL=appview,
    )
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "produce", "--source", "bluesky",
         "--jetstream-url", url, "--limit", str(limit), "--json"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


def kafka_posts(settings: Settings) -> list[Post]:
    posts = []
    for message in consume_all(settings, settings.posts_topic):
        post = post_from_record(decode_post(message.value))
        assert message.key == post.author_id.encode()
        posts.append(post)
    return posts


def assert_kafka_holds_exactly(settings: Settings, stream: SampleStream) -> list[Post]:
    posts = [post for post in kafka_posts(settings) if post.source == "bluesky"]
    counts = Counter(post.post_id for post in posts)
    assert [pid for pid, n in counts.items() if n > 1] == []  # no duplicates
    assert sorted(counts) == sorted(stream.expected_post_ids)  # nothing lost
    assert all(post.author_handle == stream.handles[post.author_id] for post in posts)
    dead = consume_all(settings, settings.dead_letter_topic)
    assert len(dead) == stream.expected_dead_letters
    for message in dead:
        headers = dict(message.headers)
        assert headers["reason"] and headers["message"] and headers["origin"].startswith(b"jet")
    return posts


def test_produce_is_exact_through_connection_drops(
    bluesky_settings: Settings, stream: SampleStream
) -> None:
    total = len(stream.expected_post_ids) + stream.expected_dead_letters
    with (
        FakeJetstream(stream.events, drops=[150, 2, 300]) as jetstream,
        FakeAppView(stream.handles) as appview,
    ):
        summary = produce_cli(bluesky_settings, appview.url, jetstream.url, total)
    assert summary["produced"] == len(stream.expected_post_ids)
    assert summary["rejected_total"] == stream.expected_dead_letters
    assert summary["duplicates_seen"] == 0
    assert summary["bluesky"]["reconnects"] == 3
    assert summary["bluesky"]["skipped"]["delete"] > 0
    posts = assert_kafka_holds_exactly(bluesky_settings, stream)
    assert any(post.hashtags for post in posts) and any(post.is_reply for post in posts)
    saved = CursorStore.for_namespace(bluesky_settings.state_dir, bluesky_settings.namespace).load()
    assert saved is not None and saved.cursor == summary["bluesky"]["cursor"]


def test_restarts_resume_exactly_and_the_jobs_serve_both_schema_versions(
    bluesky_settings: Settings, stream: SampleStream
) -> None:
    settings = bluesky_settings
    total = len(stream.expected_post_ids) + stream.expected_dead_letters
    # Posts written by a producer of schema version 1, before Bluesky existed here.
    old_posts = [
        r for r in open_source("synthetic", seed=3, limit=400).records() if isinstance(r, Post)
    ]
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    for post in old_posts:
        producer.send(settings.posts_topic, key=post.author_id.encode(), value=encode_with_v1(post))
    producer.flush()
    producer.close()

    with FakeJetstream(stream.events) as jetstream, FakeAppView(stream.handles) as appview:
        first = produce_cli(settings, appview.url, jetstream.url, 250)
        drain(settings, "speed", "master")
        time.sleep(3)  # let the high-water mark pass what was sent
        assert batch.run_once(settings).status == "succeeded"
        jetstream.restart()  # the server goes away and comes back between the two runs
        second = produce_cli(settings, appview.url, jetstream.url, total - 250)
    assert second["bluesky"]["resumed_from"] == first["bluesky"]["cursor"]
    assert second["bluesky"]["replayed_dropped"] > 0
    assert first["produced"] + second["produced"] == len(stream.expected_post_ids)
    new_posts = assert_kafka_holds_exactly(settings, stream)

    drain(settings, "speed", "master")
    truth = recount_records([*old_posts, *new_posts], load_lexicon())
    with Serving(settings) as serving:
        assert serving.topic_totals() == truth.topic_totals()
        served = {account.author_id: account.posts for account in serving.accounts(limit=10**6)}
    assert served == dict(truth.posts_by_author)
    assert sum(served.values()) == len(old_posts) + len(stream.expected_post_ids)
