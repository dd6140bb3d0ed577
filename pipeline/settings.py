"""The one settings object of a Trendoff process.

Every value comes from the environment (prefix ``TRENDOFF_``) or a ``.env`` file in the working
directory, then the defaults below and in the groups it is made of (Kafka and Cassandra in
:mod:`pipeline.settings_stores`, trending terms and alerts in :mod:`pipeline.settings_trending`).
Load it once with :func:`get_settings`; pass it down from there. The README's configuration table
is checked against this class by a test, so describe every field.
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline.settings_stores import CassandraSettings, KafkaSettings
from pipeline.settings_trending import TrendSettings

# Keyspace names allow letters, digits and underscores only (48 characters at most); the namespace
# becomes the keyspace name, so it follows that rule, which also keeps it a valid topic prefix.
NAMESPACE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

# The speed tables with a default TTL, and the time a batch run is allowed to take beyond its
# interval before the rows it is to cover may expire.
SPEED_TTL_SETTINGS = ("speed_terms_ttl_seconds", "speed_views_ttl_seconds")
SPEED_TTL_MARGIN_SECONDS = 1800


class CoreSettings(BaseModel):
    """What every part shares: the namespace, the state directory, the log level."""

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

    @field_validator("namespace")
    @classmethod
    def _check_namespace(cls, value: str) -> str:
        if not NAMESPACE_PATTERN.match(value):
            raise ValueError(
                "must start with a lowercase letter and hold only a-z, 0-9 and _ "
                "(at most 40 characters)"
            )
        return value

    @model_validator(mode="after")
    def _resolve_state_dir(self) -> Self:
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


# The groups' fields are listed (and documented in the README) in the reverse order of the bases.
class Settings(TrendSettings, CassandraSettings, KafkaSettings, CoreSettings, BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TRENDOFF_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
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

    # Retention
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

    @field_validator("admin_token")
    @classmethod
    def _check_admin_token(cls, value: SecretStr | None) -> SecretStr | None:
        # An empty token would let an empty answer through: refuse it instead of guessing whether
        # the operator meant "no token" or forgot to fill it in.
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("is empty: unset it to allow refreshes without a token, or set one")
        return value

    @model_validator(mode="after")
    def _check_speed_ttls(self) -> Self:
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


@cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment and ``.env``."""
    return Settings()
