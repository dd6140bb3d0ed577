"""Sender processes that cannot send make the run fail fast with their reason, never hang."""

from __future__ import annotations

import socket
import time

import pytest

from pipeline.ingest.fanout import BATCH_POSTS, QUEUED_BATCHES, SenderPool


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_senders_that_cannot_reach_kafka_stop_the_run_with_their_reason(make_settings) -> None:
    settings = make_settings(kafka_bootstrap_servers=f"127.0.0.1:{closed_port()}")
    pool = SenderPool(settings, 2, partitions=range(4))
    started = time.monotonic()
    # More than both senders' inboxes hold: the reader must notice they are gone.
    posts = 2 * (QUEUED_BATCHES + 2) * BATCH_POSTS
    handed = 0
    with pytest.raises(RuntimeError, match="not reachable"):
        for number in range(posts):
            handed += 1
            pool.send(f"author-{number % 50}".encode(), b"post")
    failures = pool.close()
    assert time.monotonic() - started < 60
    assert failures
    assert all("not reachable" in failure or "stopped" in failure for failure in failures)
    # Every post handed to the pool, queued or pending, is counted as failed: none silently lost.
    assert pool.failed_posts == handed


def test_a_pool_needs_two_senders(make_settings) -> None:
    with pytest.raises(ValueError, match="at least two"):
        SenderPool(make_settings(), 1, partitions=range(4))
