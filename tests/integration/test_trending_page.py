"""The Trending now page, run by streamlit.testing against real Cassandra namespaces whose term
rows are seeded directly, packed as the jobs pack them: (a) a hashtag used once each by 30
accounts in the last bucket, (b) one posted 200 times by one account there, (c) one used in every
bucket for a day. The page must list (a) first and never (b) or (c)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from pipeline.cassandra import connect
from pipeline.schemas import STATE_ID
from pipeline.settings import Settings, get_settings
from pipeline.shards import account_shard
from pipeline.trending import pack_terms, tally_hour
from tests.conftest import REPO_ROOT
from tests.table_reader import app_charts, app_tables

pytestmark = pytest.mark.integration

APP = str(REPO_ROOT / "streamlit_app.py")
BUCKET = timedelta(minutes=5)
LAST_BUCKET = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
NEWEST = LAST_BUCKET + timedelta(minutes=2, seconds=25)
# The batch layer counted everything appended before H; the speed layer the last bucket's posts.
HIGH_WATER = LAST_BUCKET - timedelta(minutes=1)
HOSTILE = "#x_[win](http://evil.example)"
VOICES = [f"voice_{n:02d}" for n in range(30)]
Tallies = dict[str, tuple[int, list[str]]]


def steady_authors(step: int) -> list[str]:
    return [f"steady_{step % 5}"]


def batch_buckets() -> dict[datetime, Tallies]:
    """(c) once in each of the 287 buckets before the last one (24 h baseline + 1 h window)."""
    return {
        LAST_BUCKET - step * BUCKET: {"#steadytag": (1, steady_authors(step))}
        for step in range(1, 12 * 25)
    }


def last_bucket() -> Tallies:
    return {
        "#risingtag": (30, VOICES),  # (a)
        "look": (30, VOICES),
        "#spamtag": (200, ["spammer"]),  # (b)
        "#steadytag": (1, steady_authors(0)),  # (c)
        "@newsdesk": (4, VOICES[:4]),  # a mention, below the 5-post guard
        HOSTILE: (12, VOICES[:12]),  # passes the guards; must show as text
    }


def seed(settings: Settings) -> None:
    """Term rows in batch slot 0 and in speed, batch_state pointing at slot 0, and the accounts'
    newest post (the replay clock the page follows)."""
    with connect(settings, keyspace=settings.keyspace) as session:
        batch = session.prepare(
            "INSERT INTO batch_term_tallies_0 (hour, bucket, chunk, terms, posts, authors) "
            "VALUES (?, ?, ?, ?, ?, ?)"
        )
        speed = session.prepare(
            "INSERT INTO speed_term_tallies (hour, bucket, window_start, micro_batch, chunk, "
            "terms, posts, authors) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        )
        state = session.prepare(
            "INSERT INTO batch_state (id, active_slot, high_water, flipped_at) VALUES (?, ?, ?, ?)"
        )
        account = session.prepare(
            "INSERT INTO speed_account_tallies (shard, window_start, author, micro_batch, posts, "
            "first_post, last_post) VALUES (?, ?, ?, 0, ?, ?, ?)"
        )
        for bucket, tallies in batch_buckets().items():
            for chunk, row in enumerate(pack_terms(tallies)):
                session.execute(batch, (tally_hour(bucket), bucket, chunk, *row))
        for chunk, row in enumerate(pack_terms(last_bucket())):
            session.execute(
                speed, (tally_hour(LAST_BUCKET), LAST_BUCKET, LAST_BUCKET, 0, chunk, *row)
            )
        session.execute(state, (STATE_ID, 0, HIGH_WATER, HIGH_WATER))
        for author in ("spammer", *VOICES):
            session.execute(
                account, (account_shard(author), LAST_BUCKET, author, 1, LAST_BUCKET, NEWEST)
            )


@pytest.fixture
def page_env(namespace_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    import streamlit as st

    for name in list(os.environ):
        if name.startswith("TRENDOFF_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TRENDOFF_NAMESPACE", namespace_settings.namespace)
    monkeypatch.setenv("TRENDOFF_STATE_DIR", str(namespace_settings.state_dir))
    get_settings.cache_clear()
    st.cache_data.clear()
    st.cache_resource.clear()
    yield namespace_settings
    get_settings.cache_clear()
    st.cache_data.clear()
    st.cache_resource.clear()


def landing_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    return at


def test_the_rising_hashtag_leads_and_spam_and_steady_tags_are_absent(page_env) -> None:
    seed(page_env)
    at = landing_page()
    assert at.title[0].value == "Trending now"
    ranked, hashtags, mentions = app_tables(at)
    terms = [row["term"] for row in ranked]
    assert terms[0] == "#risingtag"
    assert "#spamtag" not in terms and "#steadytag" not in terms
    assert set(terms) == {"#risingtag", "look", HOSTILE}
    first = ranked[0]
    shown = (first["count"], first["authors"], first["expected"], first["score"])
    assert shown == ("30", "30", "0", "30")
    # The sparkline spans the 24 h baseline and the 1 h window, bucket by bucket: flat, then
    # the last bucket at the top.
    line = first["baseline + window"]
    assert isinstance(line, list) and len(line) == 300
    assert line[:299] == [0.0] * 299 and line[299] > 0
    # Replayed history: the window ends with the bucket of the newest post, not at the clock.
    assert any("up to 2026-11-20 12:05 UTC" in caption.value for caption in at.caption)

    # Hashtag and mention leaderboards of the same window, side by side.
    assert [(row["term"], row["posts"], row["authors"]) for row in hashtags] == [
        ("#spamtag", "200", "1"),
        ("#risingtag", "30", "30"),
        (HOSTILE, "12", "12"),
        ("#steadytag", "12", "5"),
    ]
    assert [(row["term"], row["posts"]) for row in mentions] == [("@newsdesk", "4")]
    assert any("No alerts yet" in caption.value for caption in at.caption)


def test_picking_a_term_draws_its_timeline_and_text_from_posts_stays_text(page_env) -> None:
    seed(page_env)
    at = landing_page()
    assert at.selectbox(key="trending_term").value == "#risingtag"
    (chart,) = app_charts(at)
    assert ">#risingtag</text>" in chart  # the timeline's title
    at.selectbox(key="trending_term").set_value(HOSTILE)
    at.run()
    assert not at.exception
    literal = f"`{HOSTILE}`"
    assert any(literal in caption.value for caption in at.caption)
    (chart,) = app_charts(at)
    # The chart is one raw HTML block: its title is SVG text, which Markdown never reads.
    assert f">{HOSTILE}</text>" in chart and "<a" not in chart
    for element in (*at.markdown, *at.caption, *at.info, *at.warning):
        if element.value != chart:
            assert "](" not in element.value.replace(literal, "")
    # In the HTML tables it is escaped text: no link, no tag of its own.
    assert HOSTILE in [row["term"] for row in app_tables(at)[0]]
    assert all("<a" not in element.value for element in at.html)


def test_the_kind_filter_and_a_quiet_window_read_as_sentences(page_env) -> None:
    seed(page_env)
    at = landing_page()
    at.selectbox(key="trending_kind").set_value("hashtag")
    at.run()
    assert not at.exception
    assert [row["term"] for row in app_tables(at)[0]] == ["#risingtag", HOSTILE]
    # The only mention has 4 posts: below the 5-post guard, and the page says which guards.
    at.selectbox(key="trending_kind").set_value("mention")
    at.run()
    assert not at.exception
    sentences = [info.value for info in at.info]
    assert any(
        s.startswith("Nothing is trending: no mention passes the guards")
        and "at least 5 posts from at least 3 different accounts" in s
        and "burst score of at least 3" in s
        for s in sentences
    )
    assert len(app_tables(at)) == 2  # the leaderboards only
    assert app_charts(at) == []


def test_the_six_hour_window_scores_against_the_same_baseline(page_env) -> None:
    seed(page_env)
    at = landing_page()
    at.selectbox(key="trending_window").set_value(timedelta(hours=6))
    at.run()
    assert not at.exception
    ranked, hashtags, _ = app_tables(at)
    assert ranked[0]["term"] == "#risingtag"
    assert any("in the 6 hours up to" in caption.value for caption in at.caption)
    # 24 h baseline + 6 h window of 5-minute buckets.
    assert len(ranked[0]["baseline + window"]) == 12 * 30  # type: ignore[arg-type]
    assert {row["term"]: row["posts"] for row in hashtags}["#steadytag"] == "72"


def test_an_empty_namespace_shows_a_plain_sentence(page_env) -> None:
    at = landing_page()
    assert [info.value for info in at.info] == [
        "No posts counted yet: start a source (`make run` starts the demo generator)."
    ]
    assert app_tables(at) == []
    assert app_charts(at) == []
