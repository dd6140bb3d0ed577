"""Cassandra consistency on the real node: the configured level reaches the driver's default
profile and the Spark connector, and a query the node runs carries that level (request tracing
records what the coordinator was asked for)."""

from __future__ import annotations

from typing import Any

import pytest
from cassandra import ConsistencyLevel
from cassandra.cluster import EXEC_PROFILE_DEFAULT

from pipeline.cassandra import build_cluster
from pipeline.settings import Settings

pytestmark = pytest.mark.integration


def traced_consistency(settings: Settings) -> tuple[int | None, int | None, str]:
    cluster = build_cluster(settings)
    try:
        profile = cluster.profile_manager.profiles[EXEC_PROFILE_DEFAULT]
        session = cluster.connect()
        result = session.execute("SELECT release_version FROM system.local", trace=True)
        trace = result.get_query_trace(max_wait_sec=30)
        return (
            profile.consistency_level,
            profile.serial_consistency_level,
            trace.parameters["consistency_level"],
        )
    finally:
        cluster.shutdown()


def test_the_default_level_is_local_quorum_on_the_node(stack: Settings) -> None:
    level, serial, traced = traced_consistency(stack)
    assert level == ConsistencyLevel.LOCAL_QUORUM
    assert serial == ConsistencyLevel.LOCAL_SERIAL
    assert traced == "LOCAL_QUORUM"


def test_a_configured_level_is_the_one_the_node_is_asked_for(stack: Settings) -> None:
    settings = stack.model_copy(
        update={"cassandra_consistency": "ONE", "cassandra_serial_consistency": "SERIAL"}
    )
    level, serial, traced = traced_consistency(settings)
    assert level == ConsistencyLevel.ONE
    assert serial == ConsistencyLevel.SERIAL
    assert traced == "ONE"


def test_the_spark_connector_reads_and_writes_at_the_configured_level(spark: Any) -> None:
    conf = spark.sparkContext.getConf()
    assert conf.get("spark.cassandra.input.consistency.level") == "LOCAL_QUORUM"
    assert conf.get("spark.cassandra.output.consistency.level") == "LOCAL_QUORUM"


def test_a_lightweight_transaction_runs_at_the_configured_serial_level(
    namespace_settings: Settings,
) -> None:
    for serial in ("LOCAL_SERIAL", "SERIAL"):
        settings = namespace_settings.model_copy(update={"cassandra_serial_consistency": serial})
        cluster = build_cluster(settings)
        try:
            session = cluster.connect(settings.keyspace)
            result = session.execute(
                "INSERT INTO batch_state (id, active_slot) VALUES (%s, 0) IF NOT EXISTS",
                (f"probe-{serial}",),
                trace=True,
            )
            assert result.was_applied
            parameters = result.get_query_trace(max_wait_sec=30).parameters
        finally:
            cluster.shutdown()
        assert parameters["serial_consistency_level"] == serial
        assert parameters["consistency_level"] == "LOCAL_QUORUM"
