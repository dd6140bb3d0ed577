"""Cassandra sessions for every Trendoff process: the one place that knows hosts and credentials."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from cassandra import ConsistencyLevel, OperationTimedOut, ReadTimeout, Unavailable, WriteTimeout
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import (
    EXEC_PROFILE_DEFAULT,
    Cluster,
    ExecutionProfile,
    NoHostAvailable,
    Session,
)
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

from pipeline.errors import TrendoffError
from pipeline.settings import Settings
from pipeline.tls import cassandra_ssl_context

logger = logging.getLogger(__name__)

# What the driver raises while Cassandra (or a quorum of its replicas) is away: a long-running
# part waits and asks again instead of failing for good.
CASSANDRA_UNAVAILABLE = (NoHostAvailable, OperationTimedOut, Unavailable, ReadTimeout, WriteTimeout)


def as_utc(moment: datetime | None) -> datetime | None:
    """cassandra-driver returns naive datetimes that are UTC; make them say so."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def build_cluster(
    settings: Settings, *, connect_timeout: float = 10.0, request_timeout: float = 30.0
) -> Cluster:
    auth = None
    if settings.cassandra_username and settings.cassandra_password:
        auth = PlainTextAuthProvider(
            username=settings.cassandra_username,
            password=settings.cassandra_password.get_secret_value(),
        )
    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(
            DCAwareRoundRobinPolicy(local_dc=settings.cassandra_local_datacenter)
        ),
        request_timeout=request_timeout,
        # One level for reads and writes (LOCAL_QUORUM by default): with RF 3 a read then
        # overlaps the replicas of every acknowledged write. The driver's own default, LOCAL_ONE,
        # would let a read miss a write the batch flip has just made.
        consistency_level=ConsistencyLevel.name_to_value[settings.cassandra_consistency],
        serial_consistency_level=ConsistencyLevel.name_to_value[
            settings.cassandra_serial_consistency
        ],
    )
    return Cluster(
        contact_points=settings.cassandra_contact_points,
        port=settings.cassandra_port,
        auth_provider=auth,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        protocol_version=5,
        ssl_context=cassandra_ssl_context(settings),
        connect_timeout=connect_timeout,
        control_connection_timeout=connect_timeout,
    )


@contextmanager
def connect(
    settings: Settings, *, keyspace: str | None = None, connect_timeout: float = 10.0
) -> Iterator[Session]:
    """A session that is shut down with its cluster on exit."""
    cluster = build_cluster(settings, connect_timeout=connect_timeout)
    try:
        yield cluster.connect(keyspace)
    finally:
        cluster.shutdown()


def require_tables(session: Session, settings: Settings, tables: Iterable[str]) -> None:
    """One clear error when the namespace was never initialised (or predates a table)."""
    present = {
        row.table_name
        for row in session.execute(
            "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s",
            (settings.keyspace,),
        )
    }
    missing = sorted(set(tables) - present)
    if missing:
        raise TrendoffError(
            f"keyspace {settings.keyspace!r} lacks table(s) {', '.join(missing)}",
            hint="run `trendoff init` (it is idempotent) for this namespace",
        )
