"""The two servers of the local stack: a KRaft Kafka broker and a Cassandra node, each in a JVM.

A service knows how to write its configuration, build its command line and tell whether it is ready
to serve. Starting, waiting and stopping are common to both: see :mod:`pipeline.stack.manager`.
"""

from __future__ import annotations

import base64
import logging
import subprocess
import uuid
from abc import ABC, abstractmethod
from pathlib import Path

from pipeline.errors import TrendoffError
from pipeline.settings import Settings
from pipeline.stack.process import ServiceFiles, marker, port_open

logger = logging.getLogger(__name__)

_HOST = "127.0.0.1"

# Taken from Cassandra's own jvm17-server.options: the module exports and opens that Cassandra 5.0
# needs on Java 17, without which it fails early with InaccessibleObjectException.
_CASSANDRA_JAVA17_FLAGS = (
    "-Djdk.attach.allowAttachSelf=true",
    "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports=java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED",
    "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
    "--add-exports=java.rmi/sun.rmi.server=ALL-UNNAMED",
    "--add-exports=java.sql/java.sql=ALL-UNNAMED",
    "--add-exports=java.base/java.lang.ref=ALL-UNNAMED",
    "--add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED",
    "--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
    "--add-exports=jdk.attach/sun.tools.attach=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.module=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.loader=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.reflect=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.math=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.module=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.util.jar=ALL-UNNAMED",
    "--add-opens=jdk.management/com.sun.management.internal=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens=jdk.compiler/com.sun.tools.javac=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "-Dio.netty.tryReflectionSetAccessible=true",
)


class Service(ABC):
    name: str
    port_setting: str
    # How long ``up`` waits for readiness before calling the start failed.
    start_timeout_seconds: float
    stop_grace_seconds: float

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.files = ServiceFiles(settings.state_dir / self.name)
        self.marker = marker(self.name, settings.state_dir)

    @property
    @abstractmethod
    def enabled(self) -> bool:
        """False when the settings point at an external server, which the stack leaves alone."""

    @property
    @abstractmethod
    def ports(self) -> list[int]:
        """Every port the server binds; the first is the one clients use."""

    @abstractmethod
    def prepare(self, java: str, classpath: list[Path]) -> None:
        """Write configuration and do one-time initialisation (idempotent)."""

    @abstractmethod
    def command(self, java: str, classpath: list[Path]) -> list[str]: ...

    @abstractmethod
    def ready(self) -> bool:
        """True once the server answers a real client request."""

    @property
    def port(self) -> int:
        return self.ports[0]

    def listening(self) -> bool:
        return port_open(_HOST, self.port)


def new_cluster_id() -> str:
    """A KRaft cluster id as Kafka's Uuid.randomUuid() makes one: 16 random bytes, URL-safe base64
    without padding, drawn again when it starts with "-" (which command lines read as an option;
    about one id in 64 did, and formatting the storage failed)."""
    while True:
        value = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not value.startswith("-"):
            return value


class KafkaBroker(Service):
    name = "kafka"
    port_setting = "TRENDOFF_KAFKA_BOOTSTRAP_SERVERS / TRENDOFF_KAFKA_CONTROLLER_PORT"
    start_timeout_seconds = 90.0
    stop_grace_seconds = 30.0

    @property
    def enabled(self) -> bool:
        return self.settings.runs_local_kafka

    @property
    def ports(self) -> list[int]:
        return [self.settings.kafka_port, self.settings.kafka_controller_port]

    @property
    def properties_file(self) -> Path:
        return self.files.conf_dir / "server.properties"

    def _server_properties(self) -> str:
        s = self.settings
        broker = f"{_HOST}:{s.kafka_port}"
        controller = f"{_HOST}:{s.kafka_controller_port}"
        return "\n".join(
            [
                "# Written by `trendoff stack up`; edits are overwritten on the next start.",
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@{controller}",
                f"listeners=PLAINTEXT://{broker},CONTROLLER://{controller}",
                f"advertised.listeners=PLAINTEXT://{broker}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                f"log.dirs={self.files.data_dir}",
                f"num.partitions={s.kafka_partitions}",
                # One broker: internal topics cannot have more than one replica.
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                # Consumers of a fresh group start at once instead of waiting 3 s for peers.
                "group.initial.rebalance.delay.ms=0",
                # `trendoff init` creates topics with their settings; a typo must not create one.
                "auto.create.topics.enable=false",
                "",
            ]
        )

    def _log4j_properties(self) -> str:
        # Everything to stdout, which the stack sends to server.log.
        return "\n".join(
            [
                "log4j.rootLogger=INFO, stdout",
                "log4j.appender.stdout=org.apache.log4j.ConsoleAppender",
                "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout",
                "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n",
                "log4j.logger.kafka.request.logger=WARN",
                "log4j.logger.org.apache.kafka.controller=INFO",
                "log4j.logger.state.change.logger=WARN",
                "",
            ]
        )

    @property
    def cluster_id_file(self) -> Path:
        return self.files.root / "cluster-id"

    def cluster_id(self) -> str:
        if self.cluster_id_file.exists():
            return self.cluster_id_file.read_text().strip()
        value = new_cluster_id()
        self.cluster_id_file.parent.mkdir(parents=True, exist_ok=True)
        self.cluster_id_file.write_text(value)
        return value

    def _jvm_base(self, java: str, classpath: list[Path]) -> list[str]:
        return [
            java,
            f"-Xms{self.settings.kafka_heap}",
            f"-Xmx{self.settings.kafka_heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{self.files.conf_dir / 'log4j.properties'}",
            "-cp",
            ":".join(str(jar) for jar in classpath),
        ]

    def prepare(self, java: str, classpath: list[Path]) -> None:
        self.files.conf_dir.mkdir(parents=True, exist_ok=True)
        self.properties_file.write_text(self._server_properties())
        (self.files.conf_dir / "log4j.properties").write_text(self._log4j_properties())
        if (self.files.data_dir / "meta.properties").exists():
            return
        command = [
            *self._jvm_base(java, classpath),
            "kafka.tools.StorageTool",
            "format",
            "--ignore-formatted",
            # One token: a stored id that starts with "-" must not read as an option.
            f"--cluster-id={self.cluster_id()}",
            "-c",
            str(self.properties_file),
        ]
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        with self.files.log_file.open("a") as log:
            log.write(completed.stdout + completed.stderr)
        if completed.returncode != 0:
            raise TrendoffError("formatting Kafka's storage failed", log=str(self.files.log_file))

    def command(self, java: str, classpath: list[Path]) -> list[str]:
        base = self._jvm_base(java, classpath)
        return [*base[:1], self.marker, *base[1:], "kafka.Kafka", str(self.properties_file)]

    def ready(self) -> bool:
        if not self.listening():
            return False
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        try:
            admin = KafkaAdminClient(
                bootstrap_servers=self.settings.kafka_bootstrap_servers,
                request_timeout_ms=3000,
            )
        except (KafkaError, OSError, ValueError):
            return False
        try:
            cluster = admin.describe_cluster()
            return bool(cluster.get("brokers")) and cluster.get("controller_id", -1) != -1
        except (KafkaError, OSError, ValueError):
            return False
        finally:
            admin.close()


class CassandraNode(Service):
    name = "cassandra"
    port_setting = "TRENDOFF_CASSANDRA_PORT / TRENDOFF_CASSANDRA_STORAGE_PORT"
    start_timeout_seconds = 180.0
    stop_grace_seconds = 60.0

    @property
    def enabled(self) -> bool:
        return self.settings.runs_local_cassandra

    @property
    def ports(self) -> list[int]:
        return [self.settings.cassandra_port, self.settings.cassandra_storage_port]

    def _cassandra_yaml(self) -> str:
        s = self.settings
        return "\n".join(
            [
                "# Written by `trendoff stack up`: one node on loopback; edits are overwritten.",
                "cluster_name: trendoff",
                "num_tokens: 16",
                "partitioner: org.apache.cassandra.dht.Murmur3Partitioner",
                "endpoint_snitch: SimpleSnitch",
                "commitlog_sync: periodic",
                "commitlog_sync_period: 10000ms",
                "seed_provider:",
                "  - class_name: org.apache.cassandra.locator.SimpleSeedProvider",
                "    parameters:",
                f'      - seeds: "{_HOST}:{s.cassandra_storage_port}"',
                f"listen_address: {_HOST}",
                f"rpc_address: {_HOST}",
                f"storage_port: {s.cassandra_storage_port}",
                f"native_transport_port: {s.cassandra_port}",
                "start_native_transport: true",
                "auto_bootstrap: false",
                f"data_file_directories: [{self.files.data_dir / 'data'}]",
                f"commitlog_directory: {self.files.data_dir / 'commitlog'}",
                f"saved_caches_directory: {self.files.data_dir / 'saved_caches'}",
                f"hints_directory: {self.files.data_dir / 'hints'}",
                f"cdc_raw_directory: {self.files.data_dir / 'cdc_raw'}",
                # Batch-view writes are large unlogged batches of one partition; warn late.
                "batch_size_warn_threshold: 64KiB",
                "batch_size_fail_threshold: 1MiB",
                # The jobs batch rows of many partitions bound for this node (spark.py): up to
                # 8 KiB of rows, a few hundred small ones; do not warn about each such batch.
                "unlogged_batch_across_partitions_warn_threshold: 1000",
                # Small memtables: the node shares 24 GB and 2 cores with Kafka and Spark.
                "memtable_heap_space: 256MiB",
                "memtable_offheap_space: 256MiB",
                "concurrent_compactors: 1",
                # A write waits up to 10 s for this node, not 2 s (5 s for counters): it runs at
                # a lower priority than the app (TRENDOFF_BACKGROUND_NICE), and while a browser
                # draws pages beside every job a write can wait that long for a core. Past the
                # timeout the write fails, and the speed job with it (it restarts and catches
                # up, but the views stall for ~30 s meanwhile).
                "write_request_timeout: 10000ms",
                "counter_write_request_timeout: 10000ms",
                # Every batch run TRUNCATEs a slot, and every dropped test namespace is a DROP:
                # with the default (true) each leaves a snapshot holding the old data on disk
                # for good. The slot tables also opt out themselves (`trendoff init`), which is
                # what protects an external cluster.
                "auto_snapshot: false",
                "",
            ]
        )

    def _logback_xml(self) -> str:
        return (
            "<configuration>\n"
            '  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">\n'
            "    <encoder><pattern>%-5level [%thread] %date{ISO8601} %logger{0} - %msg%n"
            "</pattern></encoder>\n"
            "  </appender>\n"
            '  <root level="INFO"><appender-ref ref="STDOUT"/></root>\n'
            "</configuration>\n"
        )

    def prepare(self, java: str, classpath: list[Path]) -> None:
        self.files.conf_dir.mkdir(parents=True, exist_ok=True)
        self.files.data_dir.mkdir(parents=True, exist_ok=True)
        (self.files.conf_dir / "cassandra.yaml").write_text(self._cassandra_yaml())
        (self.files.conf_dir / "logback.xml").write_text(self._logback_xml())

    def command(self, java: str, classpath: list[Path]) -> list[str]:
        jamm = next((jar for jar in classpath if jar.name.startswith("jamm-")), None)
        heap = self.settings.cassandra_heap
        return [
            java,
            self.marker,
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-Xss256k",
            "-XX:+UseG1GC",
            "-XX:+ParallelRefProcEnabled",
            "-XX:MaxTenuringThreshold=1",
            "-XX:MaxGCPauseMillis=300",
            "-XX:+HeapDumpOnOutOfMemoryError",
            f"-XX:HeapDumpPath={self.files.root}",
            *_CASSANDRA_JAVA17_FLAGS,
            *([f"-javaagent:{jamm}"] if jamm else []),
            "-Djava.net.preferIPv4Stack=true",
            "-Dcassandra-foreground=yes",
            f"-Dcassandra.config=file://{self.files.conf_dir / 'cassandra.yaml'}",
            f"-Dcassandra.storagedir={self.files.data_dir}",
            f"-Dcassandra.logdir={self.files.root}",
            f"-Dlogback.configurationFile={self.files.conf_dir / 'logback.xml'}",
            # A single seed node has no peers to wait for; skip the gossip settle wait (≈ 8 s).
            "-Dcassandra.skip_wait_for_gossip_to_settle=0",
            "-cp",
            ":".join(str(jar) for jar in classpath),
            "org.apache.cassandra.service.CassandraDaemon",
        ]

    def ready(self) -> bool:
        if not self.listening():
            return False
        from pipeline.cassandra import connect

        try:
            with connect(self.settings, connect_timeout=3.0) as session:
                row = session.execute("SELECT release_version FROM system.local").one()
                return row is not None
        except Exception:  # noqa: BLE001 - any driver failure here just means "not ready yet"
            return False
