"""``trendoff stack up|status|down --cluster``: three brokers, three nodes, two Spark workers.

Three KRaft Kafka brokers (each a combined broker + controller), three Cassandra nodes in one
datacenter on 127.0.0.1/.2/.3 (Linux routes all of 127/8 to loopback) and a Spark standalone master
with two workers from the pyspark distribution. Every port differs from the single-node stack's
(9092/9093, 9042/7000) and the state lives under ``<state dir>/cluster``, so the cluster runs beside
a single-node stack without touching it. :func:`cluster_env` gives the ``TRENDOFF_*`` settings that
point any command at it.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from pipeline.errors import TrendoffError
from pipeline.jvm import java_executable, resolve_classpaths
from pipeline.settings import Settings
from pipeline.stack import process
from pipeline.stack.manager import ServiceStatus, service_status, wait_ready
from pipeline.stack.process import port_open
from pipeline.stack.services import CassandraNode, KafkaBroker, Service
from pipeline.stack.spark_standalone import (
    SPARK_MASTER_PORT,
    SparkDaemon,
    spark_services,
    spark_workers_alive,
)

logger = logging.getLogger(__name__)

KAFKA_PORTS = (19092, 19093, 19094)
KAFKA_CONTROLLER_PORTS = (19192, 19193, 19194)
CASSANDRA_HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
CASSANDRA_PORT = 19042
CASSANDRA_STORAGE_PORT = 17000
DATACENTER = "datacenter1"  # what SimpleSnitch reports
_HOST = "127.0.0.1"


def cluster_env() -> dict[str, str]:
    """The settings a user's real cluster would need, pointed at the local one (what
    ``stack up --cluster --print-env`` prints)."""
    return {
        "TRENDOFF_SPARK_MASTER": f"spark://{_HOST}:{SPARK_MASTER_PORT}",
        "TRENDOFF_KAFKA_BOOTSTRAP_SERVERS": ",".join(f"{_HOST}:{port}" for port in KAFKA_PORTS),
        "TRENDOFF_KAFKA_REPLICATION_FACTOR": "3",
        "TRENDOFF_KAFKA_MIN_INSYNC_REPLICAS": "2",
        "TRENDOFF_CASSANDRA_CONTACT_POINTS": ",".join(CASSANDRA_HOSTS),
        "TRENDOFF_CASSANDRA_PORT": str(CASSANDRA_PORT),
        "TRENDOFF_CASSANDRA_DATACENTERS": f"{DATACENTER}:3",
        "TRENDOFF_CASSANDRA_LOCAL_DATACENTER": DATACENTER,
        "TRENDOFF_CASSANDRA_CONSISTENCY": "LOCAL_QUORUM",
        # Spark's own variable: the driver listens where the workers' executors reach it.
        "SPARK_LOCAL_IP": _HOST,
    }


def cluster_settings(settings: Settings) -> Settings:
    """``settings`` pointed at the local cluster, with its state under ``<state dir>/cluster``."""
    env = cluster_env()
    return settings.model_copy(
        update={
            "state_dir": settings.state_dir / "cluster",
            "spark_master": env["TRENDOFF_SPARK_MASTER"],
            "kafka_bootstrap_servers": env["TRENDOFF_KAFKA_BOOTSTRAP_SERVERS"],
            "kafka_replication_factor": 3,
            "kafka_min_insync_replicas": 2,
            "cassandra_contact_points": list(CASSANDRA_HOSTS),
            "cassandra_port": CASSANDRA_PORT,
            "cassandra_datacenters": {DATACENTER: 3},
            "cassandra_local_datacenter": DATACENTER,
            "cassandra_heap": "512M",
        }
    )


class ClusterKafkaBroker(KafkaBroker):
    """Broker ``index`` (0-based) of three; each is also one of the three KRaft voters."""

    def __init__(self, settings: Settings, index: int) -> None:
        self.index = index
        self.name = f"kafka-{index + 1}"
        super().__init__(settings)

    @property
    def enabled(self) -> bool:
        return True

    @property
    def ports(self) -> list[int]:
        return [KAFKA_PORTS[self.index], KAFKA_CONTROLLER_PORTS[self.index]]

    def _server_properties(self) -> str:
        voters = ",".join(
            f"{number + 1}@{_HOST}:{port}" for number, port in enumerate(KAFKA_CONTROLLER_PORTS)
        )
        broker = f"{_HOST}:{KAFKA_PORTS[self.index]}"
        controller = f"{_HOST}:{KAFKA_CONTROLLER_PORTS[self.index]}"
        return "\n".join(
            [
                "# Written by `trendoff stack up --cluster`; edits are overwritten.",
                "process.roles=broker,controller",
                f"node.id={self.index + 1}",
                f"controller.quorum.voters={voters}",
                f"listeners=PLAINTEXT://{broker},CONTROLLER://{controller}",
                f"advertised.listeners=PLAINTEXT://{broker}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                f"log.dirs={self.files.data_dir}",
                f"num.partitions={self.settings.kafka_partitions}",
                # Internal topics as a production cluster would have them: survive one broker.
                "offsets.topic.replication.factor=3",
                "transaction.state.log.replication.factor=3",
                "transaction.state.log.min.isr=2",
                "share.coordinator.state.topic.replication.factor=3",
                "default.replication.factor=3",
                "min.insync.replicas=2",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=false",
                "",
            ]
        )

    def cluster_id(self) -> str:
        # The three brokers must share one id: the first one draws it, in the cluster's root.
        shared = self.files.root.parent / "kafka-cluster-id"
        if not shared.exists():
            shared.parent.mkdir(parents=True, exist_ok=True)
            shared.write_text(super().cluster_id())
        return shared.read_text().strip()

    def ready(self) -> bool:
        # Readiness of one voter needs a quorum; ``up`` checks the whole cluster afterwards.
        return port_open(_HOST, self.port)


class ClusterCassandraNode(CassandraNode):
    """Node ``index`` of three on 127.0.0.(index+1); the first is the seed."""

    start_timeout_seconds = 300.0

    def __init__(self, settings: Settings, index: int) -> None:
        self.index = index
        self.name = f"cassandra-{index + 1}"
        self.host = CASSANDRA_HOSTS[index]
        super().__init__(settings)

    @property
    def enabled(self) -> bool:
        return True

    @property
    def ports(self) -> list[int]:
        return [CASSANDRA_PORT, CASSANDRA_STORAGE_PORT]

    def listening(self) -> bool:
        return port_open(self.host, CASSANDRA_PORT)

    def _cassandra_yaml(self) -> str:
        single = super()._cassandra_yaml()
        replaced = {
            "cluster_name:": "cluster_name: trendoff-cluster",
            "num_tokens:": "num_tokens: 4",
            "seeds:": f'      - seeds: "{CASSANDRA_HOSTS[0]}:{CASSANDRA_STORAGE_PORT}"',
            "listen_address:": f"listen_address: {self.host}",
            "rpc_address:": f"rpc_address: {self.host}",
            "storage_port:": f"storage_port: {CASSANDRA_STORAGE_PORT}",
            "native_transport_port:": f"native_transport_port: {CASSANDRA_PORT}",
            # Three 512 MB heaps: the single node's 256 MiB memtables would not fit.
            "memtable_heap_space:": "memtable_heap_space: 64MiB",
            "memtable_offheap_space:": "memtable_offheap_space: 64MiB",
        }
        lines = []
        for line in single.splitlines():
            key = line.strip().lstrip("- ").split(" ", 1)[0]
            lines.append(replaced.get(key, line))
        return "\n".join(lines) + "\n"

    def command(self, java: str, classpath: list[Path]) -> list[str]:
        base = super().command(java, classpath)
        # Joining nodes must hear the seed's gossip before claiming tokens; a short ring delay
        # keeps each start near a minute on two cores.
        return [*base[:-3], "-Dcassandra.ring_delay_ms=5000", *base[-3:]]

    def ready(self) -> bool:
        return self.listening()


def services(settings: Settings) -> list[Service]:
    cluster = cluster_settings(settings)
    return [
        *(ClusterKafkaBroker(cluster, index) for index in range(3)),
        *(ClusterCassandraNode(cluster, index) for index in range(3)),
        *spark_services(cluster),
    ]


def service(settings: Settings, name: str) -> Service:
    """One service by name (``kafka-2``, ``cassandra-3``, ``spark-worker-1`` …), for fault tests."""
    for candidate in services(settings):
        if candidate.name == name:
            return candidate
    raise TrendoffError(f"the cluster has no service {name!r}")


def _host_of(service: Service) -> str:
    return service.host if isinstance(service, ClusterCassandraNode) else _HOST


def start(service: Service) -> ServiceStatus:
    """Start one service (if it is not running) and wait until it answers."""
    pid = process.running_pid(service.files, service.marker)
    if pid is not None:
        return service_status(service, pid, already_running=True)
    for port in service.ports:
        process.ensure_port_free(_host_of(service), port, service.name, service.port_setting)
    java = java_executable()
    classpaths = resolve_classpaths(service.settings.state_dir.parent)
    module = "kafka" if isinstance(service, KafkaBroker) else "cassandra"
    classpath = classpaths.get(module, [])
    service.prepare(java, classpath)
    env = service.environment(java) if isinstance(service, SparkDaemon) else None
    started = time.monotonic()
    pid = process.spawn(service.command(java, classpath), service.files, service.files.root, env)
    logger.info("started %s (pid %d), log %s", service.name, pid, service.files.log_file)
    if isinstance(service, ClusterKafkaBroker):
        # A voter cannot serve before a quorum is up: wait for the quorum after all three start.
        return service_status(service, pid)
    return service_status(
        service,
        pid,
        seconds_to_ready=wait_ready(
            service, pid, started, stop_command="trendoff stack down --cluster"
        ),
    )


def _wait_for(what: str, check: object, timeout: float) -> None:
    assert callable(check)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(1.0)
    raise TrendoffError(f"the cluster's {what} did not come up within {timeout:.0f} s")


def kafka_brokers_up(settings: Settings) -> int:
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(
            bootstrap_servers=cluster_settings(settings).kafka_bootstrap_servers,
            request_timeout_ms=3000,
        )
    except (KafkaError, OSError, ValueError):
        return 0
    try:
        return len(admin.describe_cluster().get("brokers", []))
    except (KafkaError, OSError, ValueError):
        return 0
    finally:
        admin.close()


def cassandra_nodes_up(settings: Settings) -> int:
    """Nodes the first reachable node sees as up (itself included)."""
    from pipeline.cassandra import connect

    try:
        with connect(cluster_settings(settings), connect_timeout=3.0) as session:
            return len(session.cluster.metadata.all_hosts()) and sum(
                1 for host in session.cluster.metadata.all_hosts() if host.is_up
            )
    except Exception:  # noqa: BLE001 - any driver failure here means "none reachable yet"
        return 0


def up(settings: Settings) -> list[ServiceStatus]:
    """Start the whole cluster: brokers together, Cassandra nodes one after another, then Spark."""
    process.ensure_writable(cluster_settings(settings).state_dir)
    results = [start(item) for item in services(settings)[:3]]
    _wait_for("Kafka quorum (3 brokers)", lambda: kafka_brokers_up(settings) == 3, 180)
    for item in services(settings)[3:]:
        results.append(start(item))
    _wait_for("Cassandra ring (3 nodes up)", lambda: cassandra_nodes_up(settings) == 3, 180)
    _wait_for("Spark master (2 workers)", lambda: spark_workers_alive() == 2, 120)
    return results


def status(settings: Settings) -> list[ServiceStatus]:
    return [
        service_status(item, process.running_pid(item.files, item.marker))
        for item in services(settings)
    ]


def kill(service: Service) -> int:
    """kill -9 one running service (the fault tests); returns its pid."""
    pid = process.running_pid(service.files, service.marker)
    if pid is None:
        raise TrendoffError(f"{service.name} is not running")
    os.kill(pid, 9)
    for _ in range(100):
        process.reap(pid)
        if not process.pid_alive(pid):
            break
        time.sleep(0.1)
    service.files.pid_file.unlink(missing_ok=True)
    return pid


def down(settings: Settings) -> list[str]:
    """Stop Spark, then Kafka, then Cassandra: the reverse of the order clients depend on them."""
    stopped = []
    ordered = services(settings)
    for item in [*ordered[6:], *ordered[:3], *ordered[3:6]]:
        pid = process.running_pid(item.files, item.marker)
        if pid is None:
            continue
        logger.info("stopping %s (pid %d)", item.name, pid)
        process.stop(pid, grace_seconds=item.stop_grace_seconds, name=item.name)
        item.files.pid_file.unlink(missing_ok=True)
        stopped.append(item.name)
    return stopped
