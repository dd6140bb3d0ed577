"""query == reference on the local cluster: 3 brokers (RF 3, min ISR 2), 3 Cassandra nodes
(NetworkTopologyStrategy RF 3, LOCAL_QUORUM) and the jobs on a Spark standalone master with two
workers, so the JVM function jar and the connector reach executors in other JVMs."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import pytest
from kafka.admin import ConfigResource, ConfigResourceType

from pipeline.admin import admin_client, drop_namespace
from pipeline.cassandra import connect
from pipeline.reference import recount_records
from pipeline.settings import Settings
from pipeline.text import load_lexicon
from tests.cluster.conftest import cli, cluster_namespace
from tests.integration.test_lambda_exact import assert_exact, dev_records, pick_pairs, send

pytestmark = pytest.mark.integration

CLUSTER_POSTS = int(os.environ.get("TRENDOFF_TEST_CLUSTER_POSTS", "20000"))


@pytest.fixture(scope="module")
def settings(cluster_base: Settings, tmp_path_factory) -> Iterator[Settings]:
    settings = cluster_namespace(cluster_base, tmp_path_factory.mktemp("state"))
    yield settings
    drop_namespace(settings)


def test_topics_and_keyspace_are_replicated_as_configured(settings: Settings) -> None:
    admin = admin_client(settings)
    try:
        described = admin.describe_topics([settings.posts_topic])
        assert all(len(p["replica_nodes"]) == 3 for p in described[0]["partitions"])
        configs = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, settings.posts_topic)], config_filter="all"
        )
        entries = configs["topic"][settings.posts_topic]
        assert entries["min.insync.replicas"]["value"] == "2"
    finally:
        admin.close()
    with connect(settings) as session:
        row = session.execute(
            "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = %s",
            (settings.keyspace,),
        ).one()
        assert row.replication["class"].endswith("NetworkTopologyStrategy")
        assert row.replication["datacenter1"] == "3"
        assert sum(1 for host in session.cluster.metadata.all_hosts() if host.is_up) == 3


def test_query_equals_recount_on_the_cluster(settings: Settings) -> None:
    records = dev_records(CLUSTER_POSTS)
    lexicon = load_lexicon(settings.lexicon_path)
    half = len(records) // 2

    # Speed only, the jobs running as applications of the standalone master.
    send(settings, records[:half])
    cli(settings, "master", "--available-now")
    cli(settings, "speed", "--available-now")
    truth = recount_records(records[:half], lexicon)
    pairs = pick_pairs(truth, seed=3)
    assert_exact(settings, truth, pairs, records[:half])

    # Mixed: a batch on the cluster over the first half, speed over the second.
    time.sleep(2 * settings.ingest_window_seconds + 2)
    report = json.loads(cli(settings, "batch", "--json"))
    assert report["status"] == "succeeded", report
    assert report["posts_counted"] == truth.posts
    send(settings, records[half:])
    cli(settings, "master", "--available-now")
    cli(settings, "speed", "--available-now")
    truth = recount_records(records, lexicon)
    assert_exact(settings, truth, pairs, records)
