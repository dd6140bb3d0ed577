"""Issue 17's fault test, on the local cluster: kill -9 one Kafka broker while posts are produced,
one Cassandra node while the master job writes, one Spark worker while the speed job runs;
restart each; at the end query == reference (nothing lost, nothing doubled)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from pipeline.admin import drop_namespace
from pipeline.reference import recount_records
from pipeline.settings import Settings
from pipeline.stack import cluster
from pipeline.text import load_lexicon
from tests.cluster.conftest import cli, cluster_env, cluster_namespace
from tests.integration.test_lambda_exact import assert_exact, dev_records, pick_pairs, send

pytestmark = pytest.mark.integration

FAULT_POSTS = int(os.environ.get("TRENDOFF_TEST_CLUSTER_FAULT_POSTS", "9000"))


@pytest.fixture(scope="module")
def settings(cluster_base: Settings, tmp_path_factory) -> Iterator[Settings]:
    # Small micro-batches, so each job is mid-stream when its fault strikes.
    settings = cluster_namespace(
        cluster_base, tmp_path_factory.mktemp("state"), stream_max_offsets_per_trigger=300
    )
    yield settings
    drop_namespace(settings)


def restart(base: Settings, name: str) -> None:
    cluster.start(cluster.service(base, name))
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if (
            cluster.kafka_brokers_up(base) == 3
            and cluster.cassandra_nodes_up(base) == 3
            and cluster.spark_workers_alive() == 2
        ):
            return
        time.sleep(1)
    pytest.fail(f"the cluster did not recover after restarting {name}")


def job_killing(settings: Settings, base: Settings, job: str, victim: str) -> None:
    """Run ``job`` over what Kafka holds, kill -9 ``victim`` once it runs; restart the victim."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", job, "--available-now"],
        env=cluster_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(25)  # the application has registered and its first micro-batches run
    killed_while_running = process.poll() is None
    cluster.kill(cluster.service(base, victim))
    _, stderr = process.communicate(timeout=900)
    assert process.returncode == 0, f"{job} failed without {victim}:\n{stderr[-3000:]}"
    assert killed_while_running, f"{job} finished before {victim} was killed: raise the posts"
    restart(base, victim)


def test_broker_node_and_worker_loss_keep_counts_exact(
    settings: Settings, cluster_base: Settings
) -> None:
    base = cluster_base
    records = dev_records(FAULT_POSTS)
    lexicon = load_lexicon(settings.lexicon_path)

    # A broker dies while posts are produced (acks=all, min ISR 2: two brokers still take them).
    failures: list[BaseException] = []

    def produce_all() -> None:
        try:
            send(settings, records)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread below
            failures.append(exc)

    sender = threading.Thread(target=produce_all)
    sender.start()
    time.sleep(1.0)
    cluster.kill(cluster.service(base, "kafka-2"))
    sender.join(timeout=600)
    assert not sender.is_alive() and not failures, failures
    restart(base, "kafka-2")

    # A Cassandra node dies while the master job writes (LOCAL_QUORUM: 2 of 3 answer).
    job_killing(settings, base, "master", "cassandra-3")
    # A Spark worker dies while the speed job runs (its tasks run again on the other worker).
    job_killing(settings, base, "speed", "spark-worker-1")

    cli(settings, "master", "--available-now")
    cli(settings, "speed", "--available-now")
    truth = recount_records(records, lexicon)
    assert_exact(settings, truth, pick_pairs(truth, seed=5), records)
