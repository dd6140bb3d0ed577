"""The speed tables and the batch history expire their rows on the real node (bounded growth,
issue 16 item 4): `trendoff init` sets each table's default TTL from the settings, also on a
keyspace that exists."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.admin import create_schema, history_table_ttls, speed_table_ttls
from pipeline.cassandra import connect
from pipeline.settings import Settings

pytestmark = pytest.mark.integration

SPEED_TABLES = {"speed_term_tallies", "speed_vocab", "speed_topics", "speed_account_tallies"}


def default_ttls(settings: Settings) -> dict[str, int]:
    with connect(settings) as session:
        rows = session.execute(
            "SELECT table_name, default_time_to_live FROM system_schema.tables "
            "WHERE keyspace_name = %s",
            (settings.keyspace,),
        )
        return {row.table_name: row.default_time_to_live for row in rows}


def test_init_gives_every_speed_table_its_ttl(namespace_settings: Settings) -> None:
    assert set(speed_table_ttls(namespace_settings)) == SPEED_TABLES
    ttls = default_ttls(namespace_settings)
    views = namespace_settings.speed_views_ttl_seconds
    assert {table: ttls[table] for table in SPEED_TABLES} == {
        "speed_term_tallies": namespace_settings.speed_terms_ttl_seconds,
        "speed_vocab": views,
        "speed_topics": views,
        "speed_account_tallies": views,
    }
    # A row written without USING TTL (as the speed job writes) expires by the table default.
    with connect(namespace_settings) as session:
        session.set_keyspace(namespace_settings.keyspace)
        session.execute(
            "INSERT INTO speed_topics (category, window_start, minute, micro_batch, posts) "
            "VALUES ('tea', %s, %s, 1, 3)",
            (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)),
        )
        (left,) = session.execute(
            "SELECT TTL(posts) FROM speed_topics WHERE category = 'tea'"
        ).one()
    assert 0 < left <= views


def test_changed_ttl_reaches_an_existing_keyspace(namespace_settings: Settings) -> None:
    shorter = namespace_settings.model_copy(update={"speed_views_ttl_seconds": 7200})
    create_schema(shorter)  # init again, as after a settings change
    ttls = default_ttls(shorter)
    assert {table: ttls[table] for table in SPEED_TABLES - {"speed_term_tallies"}} == dict.fromkeys(
        SPEED_TABLES - {"speed_term_tallies"}, 7200
    )


def test_run_history_and_requests_expire(namespace_settings: Settings) -> None:
    """batch_runs and batch_requests keep one partition each, bounded by a TTL on their rows."""
    from pipeline.serving import Serving

    history = namespace_settings.batch_history_ttl_seconds
    assert history_table_ttls(namespace_settings) == {
        "batch_runs": history,
        "batch_requests": history,
    }
    ttls = default_ttls(namespace_settings)
    assert (ttls["batch_runs"], ttls["batch_requests"]) == (history, history)
    serving = Serving(namespace_settings)
    try:
        serving.request_batch("ttl test")  # written as the app writes it, no USING TTL
        (left,) = serving.session.execute(
            f"SELECT TTL(status) FROM {namespace_settings.keyspace}.batch_requests WHERE bucket = 0"
        ).one()
    finally:
        serving.close()
    assert 0 < left <= history
