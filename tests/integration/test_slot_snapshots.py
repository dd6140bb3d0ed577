"""Batch runs on the real node leave no snapshot of a truncated slot behind: Cassandra's
`auto_snapshot` (on by default, and on for any node whose cassandra.yaml predates the change)
would keep every TRUNCATEd slot on disk; the slot tables opt out at `trendoff init`."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.cassandra import connect
from pipeline.jobs import batch
from pipeline.schemas import BATCH_VIEWS, SLOTS
from pipeline.settings import Settings

pytestmark = pytest.mark.integration

SLOT_TABLES = {f"{view}_{slot}" for view in BATCH_VIEWS for slot in SLOTS}


def snapshots_of(settings: Settings) -> list[tuple[str, str]]:
    """(snapshot, table) of the namespace's keyspace, as the node lists them (the same list as
    `nodetool listsnapshots`)."""
    with connect(settings) as session:
        rows = session.execute(
            "SELECT name, table_name FROM system_views.snapshots WHERE keyspace_name = %s "
            "ALLOW FILTERING",
            (settings.keyspace,),
        )
        return [(row.name, row.table_name) for row in rows]


def test_two_batch_runs_leave_no_slot_snapshot(namespace_settings: Settings, spark: Any) -> None:
    slots = []
    for _ in range(2):  # an empty topic is caught up: each run succeeds and truncates a slot
        result = batch.run_once(namespace_settings, spark=spark, force=True)
        assert result.status == "succeeded"
        slots.append(result.slot)
    assert sorted(slots) == [0, 1]  # both slots were truncated once
    assert [snap for snap in snapshots_of(namespace_settings) if snap[1] in SLOT_TABLES] == []
    # What keeps them away on any 5.0 cluster, whatever its cassandra.yaml says:
    with connect(namespace_settings) as session:
        options = {
            row.table_name: row.allow_auto_snapshot
            for row in session.execute(
                "SELECT table_name, allow_auto_snapshot FROM system_schema.tables "
                "WHERE keyspace_name = %s",
                (namespace_settings.keyspace,),
            )
        }
    assert {table: options[table] for table in SLOT_TABLES} == dict.fromkeys(SLOT_TABLES, False)
