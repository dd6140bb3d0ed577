"""``trendoff init``: the namespace's Kafka topics, Cassandra keyspace and tables (idempotent)."""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, TypedDict

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from pipeline.cassandra import connect
from pipeline.errors import TrendoffError
from pipeline.merge_guard import timestamp_type_problem
from pipeline.schemas import BATCH_VIEWS, SLOTS
from pipeline.settings import Settings
from pipeline.stack.process import port_open
from pipeline.tls import kafka_client_options

if TYPE_CHECKING:
    from cassandra.cluster import Session

logger = logging.getLogger(__name__)

# Speed views are keyed by the broker's append time, not the producer's clock: the batch/speed
# boundary must be decided by a clock that only moves forward and that every partition shares.
TOPIC_CONFIG = {"message.timestamp.type": "LogAppendTime"}
TIMESTAMP_TYPE = "message.timestamp.type"


def topic_config(settings: Settings) -> dict[str, str]:
    """Configs of the topics ``init`` creates. Retention is explicit: Kafka is a buffer that the
    jobs drain, the master dataset in Cassandra is the system of record."""
    config = {**TOPIC_CONFIG, "retention.ms": str(settings.kafka_retention_ms)}
    if settings.kafka_min_insync_replicas is not None:
        config["min.insync.replicas"] = str(settings.kafka_min_insync_replicas)
    return config


def require_kafka(settings: Settings) -> None:
    """Fail fast, in one line, when no bootstrap server even accepts a TCP connection."""
    if not any(port_open(host, port, timeout=3.0) for host, port in settings.kafka_addresses):
        raise TrendoffError(
            f"Kafka at {settings.kafka_bootstrap_servers} is not reachable",
            hint="start it with `trendoff stack up` or fix TRENDOFF_KAFKA_BOOTSTRAP_SERVERS",
        )


def admin_client(settings: Settings) -> KafkaAdminClient:
    require_kafka(settings)
    try:
        return KafkaAdminClient(
            **kafka_client_options(settings),
            client_id=f"{settings.namespace}-admin",
            request_timeout_ms=15000,
        )
    except KafkaError as exc:
        raise TrendoffError(
            f"Kafka at {settings.kafka_bootstrap_servers} is not reachable ({exc})",
            hint="start it with `trendoff stack up` or fix TRENDOFF_KAFKA_BOOTSTRAP_SERVERS",
        ) from None


def create_topics(settings: Settings) -> list[str]:
    names = [settings.posts_topic, settings.dead_letter_topic]
    admin = admin_client(settings)
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(
                name=name,
                num_partitions=settings.kafka_partitions,
                replication_factor=settings.kafka_replication_factor,
                topic_configs=topic_config(settings),
            )
            for name in names
            if name not in existing
        ]
        if missing:
            # Created concurrently by another init: that is what we wanted.
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(missing, timeout_ms=30000)
            logger.info("created topics %s", ", ".join(topic.name for topic in missing))
        require_log_append_time(admin, settings.posts_topic)
    finally:
        admin.close()
    return names


@dataclass(frozen=True)
class PostsTopic:
    """What the merge needs to know about the posts topic as Kafka holds it now."""

    name: str
    topic_id: uuid.UUID | None  # None when the broker does not report topic ids


def require_log_append_time(admin: KafkaAdminClient, topic: str) -> None:
    """Fail clearly when the topic was created without broker append times.

    With several brokers, the one asked may not know a topic created a moment ago (the
    controller's metadata reaches each broker in turn) and reports no config: ask again briefly.
    """
    deadline = time.monotonic() + 15.0
    while True:
        configs = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, {TIMESTAMP_TYPE: None})],
            config_filter="all",
        )
        entry = configs.get("topic", {}).get(topic, {}).get(TIMESTAMP_TYPE)
        if entry is not None or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    problem = timestamp_type_problem(topic, entry["value"] if entry else None)
    if problem:
        raise TrendoffError(
            problem,
            hint=f"delete the topic, run `trendoff init` to create it with {TOPIC_CONFIG}, "
            "then `trendoff init --reset`",
        )


def describe_posts_topic(settings: Settings) -> PostsTopic:
    """The posts topic's id, after checking its timestamps are broker append times."""
    admin = admin_client(settings)
    try:
        topics = admin.describe_topics([settings.posts_topic])
        if not topics or topics[0].get("error_code"):
            raise TrendoffError(
                f"topic {settings.posts_topic} does not exist",
                hint="run `trendoff init` for this namespace",
            )
        require_log_append_time(admin, settings.posts_topic)
        raw_id = topics[0].get("topic_id")
        topic_id = uuid.UUID(str(raw_id)) if raw_id else None
        # The all-zero id means "unknown" in Kafka's protocol.
        return PostsTopic(settings.posts_topic, topic_id if topic_id and topic_id.int else None)
    finally:
        admin.close()


def keyspace_cql(settings: Settings) -> str:
    replication = settings.keyspace_replication()
    rendered = ", ".join(
        f"'{key}': {value}" if isinstance(value, int) else f"'{key}': '{value}'"
        for key, value in replication.items()
    )
    return f"CREATE KEYSPACE IF NOT EXISTS {settings.keyspace} WITH replication = {{{rendered}}}"


def schema_statements() -> list[str]:
    """The CQL statements of ``pipeline/schemas/cql/*.cql``, in file-name order."""
    package = resources.files("pipeline.schemas") / "cql"
    if not package.is_dir():
        return []
    statements: list[str] = []
    for entry in sorted(package.iterdir(), key=lambda item: item.name):
        if not entry.name.endswith(".cql"):
            continue
        text = re.sub(r"--[^\n]*", "", entry.read_text(encoding="utf-8"))
        statements.extend(part.strip() for part in text.split(";") if part.strip())
    return statements


def create_schema(settings: Settings) -> list[str]:
    try:
        with connect(settings) as session:
            session.execute(keyspace_cql(settings))
            session.set_keyspace(settings.keyspace)
            statements = schema_statements()
            for statement in statements:
                session.execute(statement)
            keep_no_truncate_snapshots(session)
            # A setting, so applied on every init: a changed TTL reaches existing keyspaces.
            for table, ttl in {
                **speed_table_ttls(settings),
                **history_table_ttls(settings),
            }.items():
                session.execute(f"ALTER TABLE {table} WITH default_time_to_live = {ttl}")
    except TrendoffError:
        raise
    except Exception as exc:  # noqa: BLE001 - driver errors become one actionable line
        raise TrendoffError(
            f"Cassandra schema set-up failed: {exc}",
            hint="is Cassandra up (`trendoff stack status`) and TRENDOFF_CASSANDRA_* right?",
        ) from None
    return statements


def speed_table_ttls(settings: Settings) -> dict[str, int]:
    """Each speed table's default TTL: its rows are needed only until a batch covers their
    window, so they expire instead of growing without end (docs/operations.md)."""
    views = int(settings.speed_views_ttl_seconds)
    return {
        "speed_term_tallies": int(settings.speed_terms_ttl_seconds),
        "speed_vocab": views,
        "speed_topics": views,
        "speed_account_tallies": views,
    }


def history_table_ttls(settings: Settings) -> dict[str, int]:
    """The batch run history and the refresh requests expire (a row written or updated lives
    this long after its last write), so their single partitions stay bounded."""
    ttl = int(settings.batch_history_ttl_seconds)
    return {"batch_runs": ttl, "batch_requests": ttl}


def keep_no_truncate_snapshots(session: Session) -> None:
    """Every batch run TRUNCATEs a slot; with the node's `auto_snapshot` on (Cassandra's default)
    each TRUNCATE would leave a snapshot of the old slot on disk until someone clears it. The
    slot data is derived (the next run recomputes it), so the slot tables opt out of automatic
    snapshots on any Cassandra 5.0 cluster, whatever its cassandra.yaml says."""
    for view in BATCH_VIEWS:
        for slot in SLOTS:
            session.execute(f"ALTER TABLE {view}_{slot} WITH allow_auto_snapshot = false")


class InitReport(TypedDict):
    topics: list[str]
    keyspace: str
    cql_statements: int


def initialise(settings: Settings) -> InitReport:
    topics = create_topics(settings)
    statements = create_schema(settings)
    return {"topics": topics, "keyspace": settings.keyspace, "cql_statements": len(statements)}


# What `init --reset` empties: every table derived from Kafka offsets or from the views. The master
# dataset (``posts``) and the run history stay unless asked.
PROGRESS_TABLES = ("job_progress", "batch_state", "batch_lease")
SPEED_TABLES = ("speed_vocab", "speed_topics", "speed_account_tallies", "speed_term_tallies")
STREAM_JOBS = ("master", "speed")


class ResetReport(TypedDict):
    truncated: list[str]
    checkpoints_removed: list[str]
    master_dropped: bool


def reset_namespace(settings: Settings, *, drop_master: bool = False) -> ResetReport:
    """Clear progress, checkpoints, speed and batch views and the batch state together, so the
    jobs start over from the topic Kafka holds now and the next batch recounts the master dataset.
    Run it with the jobs and the batch scheduler stopped."""
    initialise(settings)  # every table exists before it is emptied
    tables = [
        *PROGRESS_TABLES,
        *SPEED_TABLES,
        *(f"{view}_{slot}" for view in BATCH_VIEWS for slot in SLOTS),
        *(("posts",) if drop_master else ()),
    ]
    with connect(settings, keyspace=settings.keyspace) as session:
        for table in tables:
            session.execute(f"TRUNCATE {table}", timeout=120.0)
    removed = []
    for job in STREAM_JOBS:
        checkpoint = settings.checkpoint_dir(job)
        if checkpoint.exists():
            shutil.rmtree(checkpoint)
            removed.append(str(checkpoint))
    logger.info("reset namespace %s: %s", settings.namespace, ", ".join(tables))
    return {"truncated": tables, "checkpoints_removed": removed, "master_dropped": drop_master}


def drop_namespace(settings: Settings) -> None:
    """Remove a namespace's topics and keyspace (tests use this to clean up after themselves)."""
    admin = admin_client(settings)
    try:
        present = [
            name
            for name in (settings.posts_topic, settings.dead_letter_topic)
            if name in set(admin.list_topics())
        ]
        if present:
            admin.delete_topics(present, timeout_ms=30000)
    finally:
        admin.close()
    with connect(settings) as session:
        session.execute(f"DROP KEYSPACE IF EXISTS {settings.keyspace}")


def partition_end_offsets(settings: Settings) -> dict[int, int]:
    """The posts topic's log end offset per partition: where a job that has read everything
    stands."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**kafka_client_options(settings))
    try:
        topic = settings.posts_topic
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return {tp.partition: end for tp, end in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()


def topic_offsets(settings: Settings) -> dict[str, int]:
    """Records per topic of the namespace (log end minus log start, summed over partitions)."""
    from kafka import KafkaConsumer, TopicPartition

    require_kafka(settings)
    consumer = KafkaConsumer(**kafka_client_options(settings))
    try:
        sizes = {}
        for topic in (settings.posts_topic, settings.dead_letter_topic):
            partitions = [
                TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()
            ]
            ends = consumer.end_offsets(partitions)
            starts = consumer.beginning_offsets(partitions)
            sizes[topic] = sum(ends[p] - starts[p] for p in partitions)
        return sizes
    finally:
        consumer.close()
