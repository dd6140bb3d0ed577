"""The one settings object of a Trendoff process.

Every value comes from the environment (prefix ``TRENDOFF_``) or a ``.env`` file in the working
directory, then the defaults below. Load it once with :func:`get_settings`; pass it down from there.
The README's configuration table is checked against this class by a test, so describe every field.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

if TYPE_CHECKING:
    from pipeline.trending import TrendParams

# Keyspace names allow letters, digits and underscores only (48 characters at most); the namespace
# becomes the keyspace name, so it follows that rule, which also keeps it a valid topic prefix.
NAMESPACE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Datacenter names go into CQL (the keyspace's replication map) and the driver's load balancing:
# letters, digits, '_', '-' and '.' only, so a quote can never end the literal they sit in.
DATACENTER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


# The speed tables with a default TTL, and the time a batch run is allowed to take beyond its
# interval before the rows it is to cover may expire.
SPEED_TTL_SETTINGS = ("speed_terms_ttl_seconds", "speed_views_ttl_seconds")
SPEED_TTL_MARGIN_SECONDS = 1800


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


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TRENDOFF_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    namespace: str = Field(
        "trendoff",
        description="Prefix of every topic, keyspace, consumer group and checkpoint directory.",
    )
    state_dir: Path = Field(
        Path(".trendoff"),
        description="Where local servers keep data, logs and pids, and jobs keep checkpoints.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level of Trendoff's own loggers."
    )

    # Kafka
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

    # Cassandra
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

    # Spark
    spark_master: str = Field("local[2]", description="Spark master URL for every job.")
    spark_driver_memory: str = Field("2g", description="Spark driver memory.")
    spark_shuffle_partitions: int = Field(
        4, ge=1, description="spark.sql.shuffle.partitions for every job."
    )
    spark_java_options: str = Field(
        "-XX:+UseParallelGC",
        description="JVM options of every Spark driver and executor (besides the UTC time zone). "
        "The parallel collector drains the dev file through the speed job 10-20 % faster than "
        "Java's default G1 on two cores (docs/performance.md); empty keeps the JVM's default.",
    )

    # Lambda layers
    ingest_window_seconds: int = Field(
        60,
        ge=1,
        description="Ingest window W: speed rows are keyed by Kafka append time floored to W, and "
        "the batch high-water mark is always a multiple of W.",
    )
    lexicon_path: Path | None = Field(
        None, description="Topic lexicon TOML file; unset means the built-in `drinks` lexicon."
    )
    stream_trigger_seconds: float = Field(
        1.0,
        gt=0,
        description="Micro-batch interval of the speed job, and of the master job run alone "
        "(a batch that takes longer is followed by the next at once).",
    )
    master_trigger_seconds: float = Field(
        10.0,
        gt=0,
        description="Micro-batch interval of the master job under `trendoff jobs`/`run` (the "
        "speed job keeps stream_trigger_seconds). Only batch runs read the master dataset, "
        "so its freshness is not seen; fewer, larger micro-batches leave the shared cores "
        "to the speed layer. It writes at most stream_max_offsets_per_trigger records per "
        "interval (50,000 per 10 s: 5,000 posts/s).",
    )
    stream_max_offsets_per_trigger: int = Field(
        50_000,
        ge=1,
        description="Most Kafka records one micro-batch reads: bounds memory, and keeps the "
        "views moving while a large backlog is worked off.",
    )

    stream_stall_seconds: float = Field(
        300.0,
        gt=0,
        description="A speed or master micro-batch still running after this long counts as "
        "stuck (a Cassandra session can wedge after an outage): the job exits so that "
        "`trendoff run` restarts it. Keep it well above the longest healthy micro-batch.",
    )

    # trendoff run
    run_log_max_bytes: int = Field(
        20 * 1024 * 1024,
        ge=1024,
        description="`trendoff run` rotates each part's log under `<state dir>/logs` past "
        "this size.",
    )
    run_log_backups: int = Field(
        3, ge=0, description="Rotated logs `trendoff run` keeps per part (`jobs.log.1` …)."
    )
    background_nice: int = Field(
        10,
        ge=0,
        le=19,
        description="How much lower than the app's the CPU priority of everything else is (a "
        "nice value, 0-19): the jobs and the source `trendoff run` starts, and the Kafka and "
        "Cassandra `trendoff stack up` starts (from their next start). On a machine the "
        "pipeline keeps busy, 10 draws pages 0.4-2.4 s sooner and costs no freshness while "
        "nobody browses (docs/performance.md); 0 gives every part an equal share.",
    )

    # Trending terms (docs/trending.md)
    trend_bucket_seconds: int = Field(
        300,
        ge=60,
        description="Event-time bucket of the term counts: posts are tallied per term and "
        "created_at floored to this many seconds. Windows and baselines are multiples of it.",
    )
    trend_window_seconds: int = Field(
        3600, ge=60, description="Trending window: how far back 'now' reaches."
    )
    trend_baseline_seconds: int = Field(
        86400,
        ge=60,
        description="Baseline before the window whose rate gives a term's expected count.",
    )
    trend_min_count: int = Field(
        5, ge=1, description="Fewest posts in the window for a term to trend."
    )
    trend_min_authors: int = Field(
        3,
        ge=1,
        description="Fewest distinct authors in the window for a term to trend (one account "
        "cannot make a trend).",
    )
    trend_min_score: float = Field(3.0, description="Lowest burst score listed as trending.")
    trend_alert_score: float = Field(
        10.0,
        description="An alert fires when a trending term's burst score reaches this "
        "(docs/alerts.md); at most one per term and trend window.",
    )
    alert_webhook_url: SecretStr | None = Field(
        None,
        description="When set (http or https), each alert is POSTed here as Slack-compatible "
        'JSON `{"text": ...}`. Never logged: logs name only its host.',
    )
    alert_check_seconds: float = Field(
        30.0, gt=0, description="How often `trendoff jobs` checks the trending terms for alerts."
    )
    alert_webhook_timeout_seconds: float = Field(
        5.0, gt=0, description="Timeout of one webhook attempt (connecting and answering)."
    )
    alert_webhook_retries: int = Field(
        2,
        ge=0,
        description="Webhook attempts after a failed first one (time-outs, connection errors, "
        "HTTP 408, 429 and 5xx), 1 s, 2 s, 4 s ... apart.",
    )
    speed_terms_ttl_seconds: int = Field(
        2 * 86400,
        ge=3600,
        description="Speed term rows expire after this long; the batch layer has long covered "
        "them (it runs every 15 min by default). Keep it above the batch interval.",
    )
    speed_views_ttl_seconds: int = Field(
        2 * 86400,
        ge=3600,
        description="Rows of `speed_vocab`, `speed_topics` and `speed_account_tallies` expire "
        "after this long: serving needs a speed row only until a batch covers its window, so keep "
        "it above ingest window + batch interval + a batch run (docs/operations.md, bounded "
        "growth).",
    )
    batch_history_ttl_seconds: int = Field(
        30 * 86400,
        ge=3600,
        description="Rows of `batch_runs` (the Pipeline page's run history) and `batch_requests` "
        "(refresh requests) expire after this long, so the history does not grow without end; "
        "keep it well above the batch interval (docs/operations.md, bounded growth).",
    )

    # Sources and app
    produce_remembered_ids: int = Field(
        250_000,
        ge=1,
        description="Post ids `trendoff produce` remembers (about 130 bytes each) to count "
        "re-sent posts in `duplicates_seen`; the least recently seen are forgotten first.",
    )
    produce_outage_seconds: float = Field(
        900.0,
        gt=0,
        description="How long `trendoff produce` waits out a Kafka outage (no record acknowledged) "
        "before it gives up: until then every record is kept and sent again once Kafka is back.",
    )
    x_bearer_token: SecretStr | None = Field(
        None, description="X API v2 bearer token for the live sources. Never logged."
    )
    jetstream_url: str = Field(
        "wss://jetstream2.us-east.bsky.network/subscribe,"
        "wss://jetstream1.us-east.bsky.network/subscribe,"
        "wss://jetstream2.us-west.bsky.network/subscribe,"
        "wss://jetstream1.us-west.bsky.network/subscribe",
        description="Bluesky Jetstream `/subscribe` endpoints for `--source bluesky` "
        "(comma-separated: the next is tried when one does not answer).",
    )
    bluesky_appview_url: str = Field(
        "https://public.api.bsky.app",
        description="Bluesky AppView that `--source bluesky` asks for the handles of accounts.",
    )
    app_address: str = Field(
        "127.0.0.1", description="Address the Streamlit app listens on (loopback by default)."
    )
    app_port: int = Field(8501, description="Port the Streamlit app listens on.")
    admin_token: SecretStr | None = Field(
        None, description="When set, the app asks for it before filing a batch refresh."
    )

    @field_validator("namespace")
    @classmethod
    def _check_namespace(cls, value: str) -> str:
        if not NAMESPACE_PATTERN.match(value):
            raise ValueError(
                "must start with a lowercase letter and hold only a-z, 0-9 and _ "
                "(at most 40 characters)"
            )
        return value

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

    @field_validator("admin_token")
    @classmethod
    def _check_admin_token(cls, value: SecretStr | None) -> SecretStr | None:
        # An empty token would let an empty answer through: refuse it instead of guessing whether
        # the operator meant "no token" or forgot to fill it in.
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("is empty: unset it to allow refreshes without a token, or set one")
        return value

    @field_validator("alert_webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: SecretStr | None) -> SecretStr | None:
        # urllib would also open file:// and ftp:// URLs: refuse anything but a web address.
        if value is None:
            return None
        parts = urlsplit(value.get_secret_value().strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value

    @model_validator(mode="after")
    def _check_tls_pairs(self) -> Settings:
        for side in ("cassandra", "kafka"):
            cert = getattr(self, f"{side}_tls_cert_file")
            key = getattr(self, f"{side}_tls_key_file")
            if (cert is None) != (key is None):
                raise ValueError(f"{side}_tls_cert_file and {side}_tls_key_file go together")
        return self

    @model_validator(mode="after")
    def _check_trend_lengths(self) -> Settings:
        # TrendParams repeats the check for CLI overrides; failing here names the settings.
        for name in ("trend_window_seconds", "trend_baseline_seconds"):
            if getattr(self, name) % self.trend_bucket_seconds:
                raise ValueError(
                    f"{name} must be a multiple of trend_bucket_seconds "
                    f"({self.trend_bucket_seconds})"
                )
        return self

    @model_validator(mode="after")
    def _check_speed_ttls(self) -> Settings:
        # A speed row must outlive its own window by more than the margin a batch needs to cover
        # it; `trendoff jobs` checks the batch interval itself (speed_ttl_problem).
        for name in SPEED_TTL_SETTINGS:
            if getattr(self, name) < self.ingest_window_seconds + SPEED_TTL_MARGIN_SECONDS:
                raise ValueError(
                    f"{name} must be at least ingest_window_seconds + "
                    f"{SPEED_TTL_MARGIN_SECONDS} s: speed rows must outlive their window "
                    "until a batch covers it"
                )
        return self

    def speed_ttl_problem(self, batch_every: timedelta | None) -> str | None:
        """Why the speed TTLs are too short for batches ``batch_every`` apart, or None.

        A speed row is written during its ingest window and read until a batch run has moved
        the high-water mark past that window: at worst one window, one interval and one run
        (allowed SPEED_TTL_MARGIN_SECONDS) after it was written."""
        if batch_every is None:
            return None
        needed = self.ingest_window_seconds + batch_every.total_seconds()
        needed += SPEED_TTL_MARGIN_SECONDS
        short = [name for name in SPEED_TTL_SETTINGS if getattr(self, name) < needed]
        if not short:
            return None
        return (
            f"{', '.join(short)} must be at least {int(needed)} s for batches every "
            f"{int(batch_every.total_seconds())} s, or serving would lose speed rows a batch "
            "has not yet covered"
        )

    def trend_params(self) -> TrendParams:
        from pipeline.trending import TrendParams

        return TrendParams(
            bucket_seconds=self.trend_bucket_seconds,
            window=timedelta(seconds=self.trend_window_seconds),
            baseline=timedelta(seconds=self.trend_baseline_seconds),
            min_count=self.trend_min_count,
            min_authors=self.trend_min_authors,
            min_score=self.trend_min_score,
        )

    @model_validator(mode="after")
    def _resolve_state_dir(self) -> Settings:
        self.state_dir = self.state_dir.expanduser().resolve()
        return self

    # Names derived from the namespace: one place, so jobs, tests and the app agree.
    @property
    def posts_topic(self) -> str:
        return f"{self.namespace}.posts"

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.namespace}.posts.dlq"

    @property
    def keyspace(self) -> str:
        return self.namespace

    def consumer_group(self, job: str) -> str:
        return f"{self.namespace}.{job}"

    def checkpoint_dir(self, job: str) -> Path:
        return self.state_dir / "checkpoints" / self.namespace / job

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

    @property
    def runs_local_cassandra(self) -> bool:
        """True when every contact point is a loopback host, which the stack then starts."""
        return all(_is_loopback(host) for host in self.cassandra_contact_points)

    def keyspace_replication(self) -> dict[str, str | int]:
        if self.cassandra_datacenters:
            return {"class": "NetworkTopologyStrategy", **self.cassandra_datacenters}
        return {"class": "SimpleStrategy", "replication_factor": self.cassandra_replication_factor}


@cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment and ``.env``."""
    return Settings()
