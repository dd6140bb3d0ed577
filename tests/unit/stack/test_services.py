from __future__ import annotations

import base64

from pipeline.stack.services import new_cluster_id


def test_cluster_ids_are_kafka_uuids_that_never_look_like_an_option() -> None:
    ids = [new_cluster_id() for _ in range(5_000)]
    # One id in 64 would start with "-" if nothing prevented it: 5,000 draws all but surely
    # include such draws, so this fails if the redraw is missing.
    assert not any(value.startswith("-") for value in ids)
    assert len(set(ids)) == len(ids)
    for value in ids[:100]:
        assert len(value) == 22
        assert len(base64.urlsafe_b64decode(value + "==")) == 16


def local_node_config(state_dir) -> dict:
    """The cassandra.yaml `trendoff stack up` writes for its own node."""
    import yaml

    from pipeline.settings import Settings
    from pipeline.stack.services import CassandraNode

    node = CassandraNode(Settings(_env_file=None, state_dir=state_dir))  # type: ignore[call-arg]
    node.prepare("java", [])
    return yaml.safe_load((node.files.conf_dir / "cassandra.yaml").read_text())


def test_the_local_node_takes_no_automatic_snapshots(tmp_path) -> None:
    assert local_node_config(tmp_path)["auto_snapshot"] is False


def test_the_local_node_gives_a_starved_write_time_before_failing_it(tmp_path) -> None:
    config = local_node_config(tmp_path)
    # Cassandra's defaults (2 s, 5 s) failed the speed job's writes under a browser's load.
    assert config["write_request_timeout"] == "10000ms"
    assert config["counter_write_request_timeout"] == "10000ms"
