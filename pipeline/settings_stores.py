"""Settings of the two stores, Kafka and Cassandra: fields, their checks and the names derived
from them. Part of :class:`pipeline.settings.Settings`, which is where they are read from."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

# Datacenter names go into CQL (the keyspace's replication map) and the driver's load balancing:
# letters, digits, '_', '-' and '.' only, so a quote can never end the literal they sit in.
DATACENTER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _check_datacenter(name: str) -> str:
    if not DATACENTER_PATTERN.match(name):
        raise ValueError(
            f"datacenter name {name!r} must hold only letters, digits, _, - and . "
            "(at most 64 characters)"
        )
    return name


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _split_host_port(address: str, default_port: int) -> tuple[str, int]:
    address = address.strip()
    if address.startswith("["):  # [::1]:9092
        host, _, rest = address[1:].partition("]")
        return host, int(rest.lstrip(":") or default_port)
    if address.count(":") == 1:
        host, port = address.split(":")
        return host, int(port)
    return address, default_port


def _check_tls_pair(cert: Path | None, key: Path | None, side: str) -> None:
    if (cert is None) != (key is None):
        raise ValueError(f"{side}_tls_cert_file and {side}_tls_key_file go together")


class KafkaSettings(BaseModel):
    """Where Kafka is, how to reach it, and how `init` creates the topics."""

    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092",
        description="Kafka bootstrap servers (comma-separated host:port). A single loopback "
        "address means Trendoff runs the broker itself.",
    )
    kafka_controller_port: int = Field(
        9093, description="KRaft controller port of the local broker (loopback only)."
    )
    kafka_heap: str = Field("512m", description="Heap of the local Kafka broker JVM.")
    kafka_partitions: int = Field(4, ge=1, description="Partitions of each topic `init` creates.")
    kafka_replication_factor: int = Field(
        1, ge=1, description="Replication factor of each topic `init` creates."
    )
    kafka_min_insync_replicas: int | None = Field(
        None,
        ge=1,
        description="min.insync.replicas of each topic `init` creates (unset: the broker's "
        "default). 2 with replication factor 3: an acknowledged write is on two brokers.",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL"] = Field(
        "PLAINTEXT",
        description="`SSL` to reach Kafka over TLS (every client and Spark); see "
        "docs/operations.md, *Security*.",
    )
    kafka_tls_ca_file: Path | None = Field(
        None, description="PEM CA bundle that signed the brokers' certificates (unset: system CAs)."
    )
    kafka_tls_cert_file: Path | None = Field(
        None, description="PEM client certificate, for brokers that require client auth."
    )
    kafka_tls_key_file: Path | None = Field(
        None, description="PEM (PKCS#8) private key of the client certificate."
    )
    kafka_retention_ms: int = Field(
        7 * 86_400_000,
        ge=3_600_000,
        description="retention.ms of the topics `init` creates (default 7 days). Kafka is a "
        "buffer the jobs drain; the master dataset is the system of record.",
    )

    @model_validator(mode="after")
    def _check_kafka_tls_pair(self) -> Self:
        _check_tls_pair(self.kafka_tls_cert_file, self.kafka_tls_key_file, "kafka")
        return self

    @property
    def kafka_addresses(self) -> list[tuple[str, int]]:
        return [
            _split_host_port(part, 9092)
            for part in self.kafka_bootstrap_servers.split(",")
            if part.strip()
        ]

    @property
    def runs_local_kafka(self) -> bool:
        """True when the bootstrap list is one loopback broker, which the stack then starts."""
        addresses = self.kafka_addresses
        return len(addresses) == 1 and _is_loopback(addresses[0][0])

    @property
    def kafka_port(self) -> int:
        return self.kafka_addresses[0][1]


class CassandraSettings(BaseModel):
    """Where Cassandra is, how to reach it, and how `init` replicates the keyspace."""

    cassandra_contact_points: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1"],
        description="Cassandra contact points (comma-separated hosts). Only loopback hosts "
        "mean Trendoff runs the node itself.",
    )
    cassandra_port: int = Field(9042, description="Cassandra native-protocol (CQL) port.")
    cassandra_storage_port: int = Field(
        7000, description="Internode port of the local Cassandra node (loopback only)."
    )
    cassandra_heap: str = Field("1G", description="Heap of the local Cassandra node JVM.")
    cassandra_local_datacenter: str = Field(
        "datacenter1", description="Datacenter the driver treats as local."
    )
    cassandra_replication_factor: int = Field(
        1, ge=1, description="SimpleStrategy replication factor, used when no datacenters are set."
    )
    cassandra_datacenters: Annotated[dict[str, int], NoDecode] = Field(
        default_factory=dict,
        description="Per-datacenter replication, e.g. `dc1:3,dc2:2`; when set, the keyspace "
        "uses NetworkTopologyStrategy.",
    )
    cassandra_username: str | None = Field(None, description="Cassandra user, if auth is on.")
    cassandra_password: SecretStr | None = Field(
        None,
        description="Cassandra password, if auth is on. Never logged, never on a command line "
        "(Spark gets it after its JVM has started).",
    )
    cassandra_consistency: Literal[
        "ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM", "LOCAL_ONE"
    ] = Field(
        "LOCAL_QUORUM",
        description="Consistency level of every Cassandra read and write (driver and Spark "
        "connector). LOCAL_QUORUM on both sides gives read-your-writes at RF 3; on one node it "
        "is ONE.",
    )
    cassandra_serial_consistency: Literal["LOCAL_SERIAL", "SERIAL"] = Field(
        "LOCAL_SERIAL", description="Serial consistency level of lightweight transactions."
    )
    cassandra_tls: bool = Field(
        False, description="Connect to Cassandra over TLS (driver and Spark connector)."
    )
    cassandra_tls_ca_file: Path | None = Field(
        None, description="PEM CA bundle that signed the nodes' certificates (unset: system CAs)."
    )
    cassandra_tls_cert_file: Path | None = Field(
        None, description="PEM client certificate, for nodes that require client auth."
    )
    cassandra_tls_key_file: Path | None = Field(
        None, description="PEM private key of the Cassandra client certificate."
    )

    @field_validator("cassandra_contact_points", mode="before")
    @classmethod
    def _split_contact_points(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("cassandra_datacenters", mode="before")
    @classmethod
    def _parse_datacenters(cls, value: object) -> object:
        if isinstance(value, str):
            parsed: dict[str, int] = {}
            for item in filter(None, (part.strip() for part in value.split(","))):
                name, sep, factor = item.partition(":")
                if not sep or not factor.strip().isdigit():
                    raise ValueError(f"expected dc:factor pairs like dc1:3,dc2:2, got {item!r}")
                parsed[name.strip()] = int(factor)
            return parsed
        return value

    @field_validator("cassandra_datacenters")
    @classmethod
    def _check_datacenters(cls, value: dict[str, int]) -> dict[str, int]:
        for name in value:
            _check_datacenter(name)
        return value

    @field_validator("cassandra_local_datacenter")
    @classmethod
    def _check_local_datacenter(cls, value: str) -> str:
        return _check_datacenter(value)

    @model_validator(mode="after")
    def _check_cassandra_tls_pair(self) -> Self:
        _check_tls_pair(self.cassandra_tls_cert_file, self.cassandra_tls_key_file, "cassandra")
        return self

    @property
    def runs_local_cassandra(self) -> bool:
        """True when every contact point is a loopback host, which the stack then starts."""
        return all(_is_loopback(host) for host in self.cassandra_contact_points)

    def keyspace_replication(self) -> dict[str, str | int]:
        if self.cassandra_datacenters:
            return {"class": "NetworkTopologyStrategy", **self.cassandra_datacenters}
        return {"class": "SimpleStrategy", "replication_factor": self.cassandra_replication_factor}
