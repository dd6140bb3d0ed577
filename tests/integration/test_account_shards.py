"""Account views are spread over shards: the JVM computes the same shard as the Python twin, the
migration retires the single-partition tables, and serving reads every shard."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from pipeline.admin import create_schema
from pipeline.cassandra import connect
from pipeline.schemas import SLOTS
from pipeline.serving import Serving
from pipeline.settings import Settings
from pipeline.shards import ACCOUNT_SHARDS, account_shard, account_shard_column

pytestmark = pytest.mark.integration

# Real-looking ids of every length class the hash treats apart (<4, <8, <32, >=32 bytes), and
# non-ASCII text, whose UTF-8 bytes are hashed.
AUTHORS = [
    "",
    "a",
    "abc",
    "abcd",
    "voice_00",
    "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
    "did:plc:z72i7hdynmk6r22z27h6tvur",
    "did:web:example.com",
    "alice.bsky.social",
    "cafés-and-😀-emoji",
    "x" * 31,
    "y" * 32,
    "z" * 33,
    "did:plc:" + "q" * 100,
    *(f"did:plc:{n:024x}" for n in range(200)),
]


def test_spark_shard_equals_the_python_twin(spark: Any) -> None:
    from pyspark.sql import functions as F

    frame = spark.createDataFrame([(author,) for author in AUTHORS], "author string")
    rows = frame.select("author", account_shard_column(F.col("author")).alias("shard")).collect()
    spark_shards = {row.author: row.shard for row in rows}
    assert spark_shards == {author: account_shard(author) for author in AUTHORS}
    assert len(set(spark_shards.values())) == ACCOUNT_SHARDS


def test_init_retires_the_single_partition_account_tables(namespace_settings: Settings) -> None:
    ks = namespace_settings.keyspace
    with connect(namespace_settings, keyspace=ks) as session:
        for table in ("speed_accounts", *(f"batch_accounts_{slot}" for slot in SLOTS)):
            session.execute(f"CREATE TABLE {table} (bucket int, author text, PRIMARY KEY (bucket))")
    create_schema(namespace_settings)  # what `trendoff init` runs on an existing keyspace
    with connect(namespace_settings, keyspace=ks) as session:
        tables = {
            row.table_name
            for row in session.execute(
                "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s", (ks,)
            )
        }
    assert not tables & {"speed_accounts", "batch_accounts_0", "batch_accounts_1"}
    assert {"speed_account_tallies", "batch_account_tallies_0", "batch_account_tallies_1"} <= tables


def test_serving_merges_account_rows_from_every_shard(namespace_settings: Settings) -> None:
    """One speed row per author, spread over all shards: every one is counted."""
    window = datetime(2026, 1, 1, tzinfo=UTC)
    authors = [f"did:plc:{n:024x}" for n in range(200)]
    assert len({account_shard(a) for a in authors}) == ACCOUNT_SHARDS
    ks = namespace_settings.keyspace
    with connect(namespace_settings, keyspace=ks) as session:
        insert = session.prepare(
            "INSERT INTO speed_account_tallies (shard, window_start, author, micro_batch, posts, "
            "first_post, last_post, handle) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        )
        for number, author in enumerate(authors):
            for micro_batch in (1, 2):
                session.execute(
                    insert,
                    (
                        account_shard(author),
                        window,
                        author,
                        micro_batch,
                        number + 1,
                        window,
                        window,
                        f"h{number}",
                    ),
                )
    serving = Serving(namespace_settings)
    try:
        tallies = serving.account_tallies()
    finally:
        serving.close()
    assert {author: tally.posts for author, tally in tallies.items()} == {
        author: 2 * (number + 1) for number, author in enumerate(authors)
    }
