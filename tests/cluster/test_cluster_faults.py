"""Issue 17's fault test, on the local cluster, through `trendoff run`: while a slice of the dev
file replays at a steady rate, kill -9 one Kafka broker, then one Cassandra node, then one Spark
worker, restarting each. The runner and its app stay up, and once the jobs have read everything
and a batch has run, query == reference (nothing lost, nothing doubled).

It covers what the earlier separate-commands test did (a broker lost while `produce` sends, a node
while the master job writes, a worker while the speed job runs): here both jobs and the source run
at every fault."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from pipeline.admin import drop_namespace, partition_end_offsets
from pipeline.cassandra import connect
from pipeline.reference import recount_records
from pipeline.settings import Settings
from pipeline.stack import cluster
from pipeline.text import load_lexicon
from tests.cluster.conftest import cli, cluster_env, cluster_namespace
from tests.conftest import DEV_TWEETS, REPO_ROOT
from tests.integration.test_lambda_exact import assert_exact, dev_records, pick_pairs
from tests.integration.test_runner import processes_of, published_part, wait_for_progress

pytestmark = pytest.mark.integration

# 7,200 posts at 20/s: a six-minute replay, long enough for three faults and their recoveries.
RUN_POSTS = int(os.environ.get("TRENDOFF_TEST_CLUSTER_RUN_POSTS", "7200"))
RUN_RATE = int(os.environ.get("TRENDOFF_TEST_CLUSTER_RUN_RATE", "20"))


@pytest.fixture(scope="module")
def settings(cluster_base: Settings, tmp_path_factory) -> Iterator[Settings]:
    # Small micro-batches, so each job is mid-stream when a fault strikes.
    settings = cluster_namespace(
        cluster_base, tmp_path_factory.mktemp("state"), stream_max_offsets_per_trigger=300
    )
    yield settings
    for pid in processes_of(settings.namespace):
        os.kill(pid, signal.SIGKILL)
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_runner(settings: Settings, source: str, port: int) -> subprocess.Popen[str]:
    env = cluster_env(settings) | {"TRENDOFF_APP_PORT": str(port)}
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", "--source", source, "--batch-every", "6h"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # Ctrl-C is SIGINT to the group, as from a shell
    )


def http_status(url: str) -> int:
    with urllib.request.urlopen(url, timeout=30) as response:
        return int(response.status)


def assert_replaying(settings: Settings, runner: subprocess.Popen[str], fault: str) -> None:
    assert runner.poll() is None, f"the runner stopped before {fault}"
    for part in ("source", "jobs", "app"):
        status = published_part(settings, part)
        assert status.get("status") == "running", f"{part} before {fault}: {status}"


def fault(settings: Settings, base: Settings, runner: subprocess.Popen[str], victim: str) -> None:
    assert_replaying(settings, runner, f"killing {victim}")
    cluster.kill(cluster.service(base, victim))
    time.sleep(10)  # the survivors notice the loss and carry on without it
    restart(base, victim)


def unread(settings: Settings, job: str) -> dict[int, int]:
    """Records of each partition that ``job`` has not written progress for yet."""
    ends = partition_end_offsets(settings)
    with connect(settings, keyspace=settings.keyspace) as session:
        reached = {
            row.kafka_partition: row.max_offset + 1
            for row in session.execute(
                "SELECT kafka_partition, max_offset FROM job_progress WHERE job = %s", (job,)
            )
        }
    return {
        partition: end - reached.get(partition, 0)
        for partition, end in ends.items()
        if end > reached.get(partition, 0)
    }


def wait_until_read(settings: Settings, runner: subprocess.Popen[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert runner.poll() is None, "the runner stopped while the jobs caught up"
        behind = {job: unread(settings, job) for job in ("master", "speed")}
        if not any(behind.values()):
            return
        time.sleep(3)
    pytest.fail(f"the jobs had not read everything after {timeout:.0f} s: {behind}")


def test_broker_node_and_worker_loss_under_trendoff_run_keep_counts_exact(
    settings: Settings, cluster_base: Settings
) -> None:
    records = dev_records(RUN_POSTS)
    lexicon = load_lexicon(settings.lexicon_path)
    port = free_port()
    source = f"--source csv --format ira {DEV_TWEETS} --limit {RUN_POSTS} --rate {RUN_RATE}"
    runner = start_runner(settings, source, port)
    try:
        wait_for_progress(settings, "master")
        wait_for_progress(settings, "speed")
        # acks=all with min ISR 2: two brokers still take every post.
        fault(settings, cluster_base, runner, "kafka-2")
        # LOCAL_QUORUM: two of three nodes answer the jobs' writes and the app's reads.
        fault(settings, cluster_base, runner, "cassandra-3")
        # The executor on the lost worker goes; its tasks run again on the other one.
        fault(settings, cluster_base, runner, "spark-worker-1")

        deadline = time.monotonic() + RUN_POSTS / RUN_RATE + 120
        while published_part(settings, "source").get("status") == "running":
            assert time.monotonic() < deadline, "the source did not finish its replay"
            time.sleep(2)
        assert published_part(settings, "source")["status"] == "finished"
        assert runner.poll() is None, "the runner stopped when the file ended"
        assert http_status(f"http://127.0.0.1:{port}/_stcore/health") == 200
        assert http_status(f"http://127.0.0.1:{port}/") == 200
        wait_until_read(settings, runner, timeout=300)
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGINT)
        _, stderr = runner.communicate(timeout=120)
    assert runner.returncode == 0, stderr[-3000:]

    time.sleep(2 * settings.ingest_window_seconds + 2)
    report = json.loads(cli(settings, "batch", "--json"))
    assert report["status"] == "succeeded", report
    truth = recount_records(records, lexicon)
    assert report["posts_counted"] == truth.posts
    assert_exact(settings, truth, pick_pairs(truth, seed=5), records)
