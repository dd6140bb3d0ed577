"""The local cluster's layout: its own ports, shared ids, and the settings it hands to commands."""

from __future__ import annotations

from pathlib import Path

from pipeline.admin import topic_config
from pipeline.settings import Settings
from pipeline.stack import cluster
from pipeline.stack.cluster import ClusterCassandraNode, ClusterKafkaBroker

SINGLE_NODE_PORTS = {9092, 9093, 9042, 7000, 7199}


def test_min_insync_replicas_reaches_the_topics_init_creates(make_settings) -> None:
    assert "min.insync.replicas" not in topic_config(make_settings())
    assert topic_config(make_settings(kafka_min_insync_replicas=2))["min.insync.replicas"] == "2"


def test_cluster_never_uses_the_single_node_ports_or_state(make_settings) -> None:
    settings: Settings = make_settings()
    services = cluster.services(settings)
    assert [item.name for item in services] == [
        "kafka-1", "kafka-2", "kafka-3", "cassandra-1", "cassandra-2", "cassandra-3",
        "spark-master", "spark-worker-1", "spark-worker-2",
    ]  # fmt: skip
    for item in services:
        assert not set(item.ports) & SINGLE_NODE_PORTS, item.name
        assert item.files.root.parent == settings.state_dir / "cluster"
    assert len({item.marker for item in services}) == len(services)


def test_brokers_are_three_voters_with_replicated_internal_topics(make_settings) -> None:
    brokers = [ClusterKafkaBroker(cluster.cluster_settings(make_settings()), i) for i in range(3)]
    for index, broker in enumerate(brokers):
        props = dict(
            line.split("=", 1) for line in broker._server_properties().splitlines() if "=" in line
        )
        assert props["node.id"] == str(index + 1)
        assert props["controller.quorum.voters"].count("@") == 3
        assert props["offsets.topic.replication.factor"] == "3"
        assert props["min.insync.replicas"] == "2"
        assert props["listeners"].startswith(f"PLAINTEXT://127.0.0.1:{cluster.KAFKA_PORTS[index]}")


def test_cassandra_nodes_listen_on_their_own_address_and_share_one_seed(make_settings) -> None:
    settings = cluster.cluster_settings(make_settings())
    for index, host in enumerate(cluster.CASSANDRA_HOSTS):
        yaml = ClusterCassandraNode(settings, index)._cassandra_yaml()
        assert f"listen_address: {host}\n" in yaml and f"rpc_address: {host}\n" in yaml
        assert 'seeds: "127.0.0.1:17000"' in yaml
        assert "native_transport_port: 19042\n" in yaml and "storage_port: 17000\n" in yaml
        assert "cluster_name: trendoff-cluster\n" in yaml
        assert "7000" not in yaml.replace("17000", "")


def test_print_env_settings_load_as_the_cluster_settings(monkeypatch, tmp_path: Path) -> None:
    for key, value in cluster.cluster_env().items():
        monkeypatch.setenv(key, value)
    loaded = Settings(state_dir=tmp_path)
    expected = cluster.cluster_settings(Settings(state_dir=tmp_path))
    for field in (
        "spark_master", "kafka_bootstrap_servers", "kafka_replication_factor",
        "kafka_min_insync_replicas", "cassandra_contact_points", "cassandra_port",
        "cassandra_datacenters", "cassandra_consistency",
    ):  # fmt: skip
        assert getattr(loaded, field) == getattr(expected, field), field
    assert loaded.keyspace_replication() == {"class": "NetworkTopologyStrategy", "datacenter1": 3}
    assert not loaded.runs_local_kafka
