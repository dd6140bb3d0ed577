from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from pipeline.settings import Settings


def test_defaults_are_loopback_and_local(make_settings) -> None:
    settings = make_settings()
    assert settings.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert settings.cassandra_contact_points == ["127.0.0.1"]
    assert settings.runs_local_kafka
    assert settings.runs_local_cassandra
    assert settings.keyspace_replication() == {"class": "SimpleStrategy", "replication_factor": 1}
    assert settings.state_dir.is_absolute()


def test_namespace_prefixes_every_name(make_settings, tmp_path: Path) -> None:
    settings = make_settings(namespace="demo_1", state_dir=tmp_path)
    assert settings.posts_topic == "demo_1.posts"
    assert settings.dead_letter_topic == "demo_1.posts.dlq"
    assert settings.keyspace == "demo_1"
    assert settings.consumer_group("speed") == "demo_1.speed"
    assert settings.checkpoint_dir("master") == tmp_path / "checkpoints" / "demo_1" / "master"


@pytest.mark.parametrize(
    "bad", ["Upper", "1starts_with_digit", "has-dash", "has.dot", "", "a" * 41]
)
def test_namespace_must_be_a_valid_keyspace_name(make_settings, bad: str) -> None:
    with pytest.raises(ValidationError, match="namespace"):
        make_settings(namespace=bad)


def test_environment_overrides_with_prefix(make_settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRENDOFF_NAMESPACE", "from_env")
    monkeypatch.setenv("TRENDOFF_CASSANDRA_CONTACT_POINTS", "10.0.0.5, 10.0.0.6")
    monkeypatch.setenv("TRENDOFF_CASSANDRA_DATACENTERS", "dc1:3,dc2:2")
    monkeypatch.setenv("TRENDOFF_KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9092")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.namespace == "from_env"
    assert settings.cassandra_contact_points == ["10.0.0.5", "10.0.0.6"]
    assert not settings.runs_local_cassandra
    assert not settings.runs_local_kafka
    assert settings.keyspace_replication() == {
        "class": "NetworkTopologyStrategy",
        "dc1": 3,
        "dc2": 2,
    }


def test_env_file_is_read(make_settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("TRENDOFF_NAMESPACE=from_dotenv\nTRENDOFF_KAFKA_PARTITIONS=8\n")
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.namespace == "from_dotenv"
    assert settings.kafka_partitions == 8


def test_malformed_datacenters_are_rejected(make_settings) -> None:
    with pytest.raises(ValidationError, match="dc:factor"):
        make_settings(cassandra_datacenters="dc1=3")


@pytest.mark.parametrize(
    ("servers", "local", "port"),
    [
        ("127.0.0.1:9092", True, 9092),
        ("localhost:19092", True, 19092),
        ("[::1]:9094", True, 9094),
        ("broker.example:9092", False, 9092),
        ("127.0.0.1:9092,127.0.0.1:9095", False, 9092),
    ],
)
def test_local_kafka_only_for_a_single_loopback_broker(
    make_settings, servers: str, local: bool, port: int
) -> None:
    settings = make_settings(kafka_bootstrap_servers=servers)
    assert settings.runs_local_kafka is local
    assert settings.kafka_port == port


def test_secrets_never_show_in_repr_or_dump(make_settings) -> None:
    settings = make_settings(
        cassandra_username="app", cassandra_password="hunter2", x_bearer_token="AAAA-token"
    )
    for text in (repr(settings), str(settings.model_dump()), settings.model_dump_json()):
        assert "hunter2" not in text
        assert "AAAA-token" not in text
    assert settings.cassandra_password is not None
    assert settings.cassandra_password.get_secret_value() == "hunter2"


@pytest.mark.parametrize(
    "datacenters",
    ["dc1':3,'x:1", "dc 1:3", "dc1:3,}:1", "dc1;DROP:1", "'':1"],
)
def test_datacenter_names_that_could_break_the_cql_are_rejected(make_settings, datacenters) -> None:
    with pytest.raises(ValidationError, match="datacenter name"):
        make_settings(cassandra_datacenters=datacenters)


def test_valid_datacenter_names_reach_the_keyspace_cql(make_settings) -> None:
    from pipeline.admin import keyspace_cql

    settings = make_settings(cassandra_datacenters="us-east-1:3,eu.west_2:2")
    assert "'us-east-1': 3, 'eu.west_2': 2" in keyspace_cql(settings)


@pytest.mark.parametrize("local", ["dc1'", "", "a b"])
def test_local_datacenter_is_validated(make_settings, local: str) -> None:
    with pytest.raises(ValidationError, match="datacenter name"):
        make_settings(cassandra_local_datacenter=local)


@pytest.mark.parametrize("token", ["", "   "])
def test_an_empty_admin_token_is_refused(make_settings, token: str) -> None:
    with pytest.raises(ValidationError, match="admin_token"):
        make_settings(admin_token=token)


def test_speed_ttls_must_outlive_a_window_and_a_batch_run(make_settings) -> None:
    with pytest.raises(ValidationError, match="speed_views_ttl_seconds"):
        make_settings(ingest_window_seconds=3600, speed_views_ttl_seconds=3600)
    with pytest.raises(ValidationError, match="speed_terms_ttl_seconds"):
        make_settings(ingest_window_seconds=3600, speed_terms_ttl_seconds=5000)
    make_settings(ingest_window_seconds=60, speed_views_ttl_seconds=3600)  # 60 s + 30 min fits


def test_speed_ttls_must_cover_the_batch_interval(make_settings) -> None:
    settings = make_settings(speed_views_ttl_seconds=4 * 3600, speed_terms_ttl_seconds=86400)
    assert settings.speed_ttl_problem(None) is None  # no batches: nothing to wait for
    assert settings.speed_ttl_problem(timedelta(minutes=15)) is None
    problem = settings.speed_ttl_problem(timedelta(hours=4))
    assert problem is not None
    assert "speed_views_ttl_seconds" in problem
    assert "speed_terms_ttl_seconds" not in problem
