"""The Streamlit pages, run by streamlit.testing against the real stack with seeded dev data."""

from __future__ import annotations

import os

import pytest
from streamlit.testing.v1 import AppTest

from pipeline.app.charts import significant
from pipeline.cassandra import connect
from pipeline.distinctive import distinctive_words
from pipeline.settings import get_settings
from pipeline.text import load_lexicon
from tests.conftest import REPO_ROOT
from tests.table_reader import app_charts, app_metrics, app_tables, hovered_fields

pytestmark = pytest.mark.integration

APP = str(REPO_ROOT / "streamlit_app.py")


@pytest.fixture
def app_env(seeded_app_data, monkeypatch: pytest.MonkeyPatch):
    import streamlit as st

    settings, truth = seeded_app_data
    for name in list(os.environ):
        if name.startswith("TRENDOFF_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TRENDOFF_NAMESPACE", settings.namespace)
    monkeypatch.setenv("TRENDOFF_STATE_DIR", str(settings.state_dir))
    get_settings.cache_clear()
    st.cache_data.clear()
    st.cache_resource.clear()
    yield settings, truth
    get_settings.cache_clear()
    st.cache_resource.clear()


def open_compare(at: AppTest) -> None:
    """Run the app, then its Compare accounts page (Trending now is the landing page)."""
    at.run()
    at.switch_page("pages/compare.py")
    at.run()


def top_two(truth) -> tuple[str, str]:
    ranked = sorted(truth.posts_by_author.items(), key=lambda item: (-item[1], item[0]))
    return ranked[0][0], ranked[1][0]


def donut_slices(svg: str) -> dict[str, int]:
    """The donut's slices as hovered: category -> posts."""
    return {item["category"]: int(item["posts"]) for item in hovered_fields(svg)}


def test_compare_page_shows_the_shared_words_of_the_chosen_pair(app_env) -> None:
    _, truth = app_env
    a, b = top_two(truth)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["a"] = a
    at.query_params["b"] = b
    open_compare(at)
    assert not at.exception
    assert at.selectbox(key="account_a").value == a
    assert at.selectbox(key="account_b").value == b
    table, distinctive_a, distinctive_b = app_tables(at)
    expected = truth.shared_words(a, b, 20)
    assert [row["word"] for row in table] == [item.word for item in expected]
    assert [row[a] for row in table] == [f"{item.count_a:,}" for item in expected]
    (chart,) = app_charts(at)
    bars = hovered_fields(chart)
    # One bar per word and account, each hovering with that account's exact count.
    assert sorted((bar["word"], bar["account"], bar["uses"]) for bar in bars) == sorted(
        (item.word, account, str(count))
        for item in expected
        for account, count in ((a, item.count_a), (b, item.count_b))
    )
    # What sets each apart, weighed from the same word counts as the shared words.
    of_a, of_b = distinctive_words(truth.words_by_author[a], truth.words_by_author[b])
    assert [(row["word"], row["uses"]) for row in distinctive_a] == [
        (item.word, f"{item.count_a:,}") for item in of_a
    ]
    assert [(row["word"], row["uses"]) for row in distinctive_b] == [
        (item.word, f"{item.count_b:,}") for item in of_b
    ]
    assert of_a and of_b


def test_compare_page_handles_same_account_and_unknown_handle(app_env) -> None:
    _, truth = app_env
    a, _ = top_two(truth)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["a"] = a
    at.query_params["b"] = "no_such_account_xyz"
    open_compare(at)
    assert not at.exception
    assert any("no_such_account_xyz" in warning.value for warning in at.warning)

    at.selectbox(key="account_b").set_value(a)
    at.button[0].click()
    at.run()
    assert not at.exception
    assert any("two different accounts" in info.value for info in at.info)


def test_link_parameters_are_escaped_and_validated(app_env) -> None:
    _, truth = app_env
    _, b = top_two(truth)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["a"] = "[win](http://evil.example) ![x](http://evil.example/p.png)"
    at.query_params["b"] = b
    at.query_params["n"] = "abc"
    at.query_params["by"] = "<script>"
    open_compare(at)
    assert not at.exception
    warnings = [warning.value for warning in at.warning]
    # The handle is shown as a code span: text, never a link or an image.
    assert any(
        "`[win](http://evil.example) ![x](http://evil.example/p.png)`" in w for w in warnings
    )
    assert any("`n` in the link must be a whole number from 5 to 50" in w for w in warnings)
    assert any("`by` in the link must be one of both, combined" in w for w in warnings)
    assert at.slider(key="top_n").value == 20
    for element in (*at.markdown, *at.caption, *at.info, *at.warning):
        text = element.value
        assert "](" not in text.replace(
            "`[win](http://evil.example) ![x](http://evil.example/p.png)`", ""
        )


def test_compare_ranks_by_what_both_use_with_rates_and_a_bounded_slider(app_env) -> None:
    _, truth = app_env
    a, b = top_two(truth)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"a": a, "b": b, "n": "50"})
    open_compare(at)
    assert not at.exception
    everything = truth.shared_words(a, b, None)
    table = app_tables(at)[0]
    assert [row["word"] for row in table] == [item.word for item in everything[:50]]
    rates = [float(str(row[f"{a} per 1,000"]).replace(",", "")) for row in table]
    assert rates == [significant(item.rate_a) for item in everything[:50]]
    top = everything[0]
    assert top.both == max(item.both for item in everything)
    assert any(f"{len(everything):,} words both" in caption.value for caption in at.caption)
    slider = at.slider(key="top_n")
    assert slider.max == max(6, min(50, len(everything)))
    # The combined ranking is still there.
    at.radio(key="rank_by").set_value("combined")
    at.button(key="compare_submit").click()
    at.run()
    assert not at.exception
    combined = truth.shared_words(a, b, None, by="combined")
    assert [row["word"] for row in app_tables(at)[0]] == [w.word for w in combined[: slider.value]]


def test_trends_body_renders_counts_from_the_serving_layer(app_env) -> None:
    _, truth = app_env

    def body() -> None:
        from datetime import timedelta

        from pipeline.app.trends import render_trends

        render_trends(timedelta(days=3650), False, ("coffee", "tea"))

    at = AppTest.from_function(body, default_timeout=60)
    at.run()
    assert not at.exception
    lexicon = load_lexicon()
    shown = {metric["label"]: metric["value"] for metric in app_metrics(at)}
    totals = truth.topic_totals()
    # Display names, and over ten years every counted post: exactly the recount.
    assert shown == {lexicon.label(c): f"{n:,}" for c, n in totals.items()}
    donut, _lines, _head_to_head = app_charts(at)
    assert donut_slices(donut) == {lexicon.label(c): n for c, n in totals.items() if n}


def test_trends_fits_the_window_to_a_retimed_replay(app_env) -> None:
    """The seeded data is dev posts replayed with --retime now: the default window shows them
    (not an empty last hour), so categories count and the donut is drawn."""
    _, truth = app_env
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("pages/trends.py")
    at.run()
    assert not at.exception
    assert any("a replay" in caption.value for caption in at.caption)
    shown = {metric["label"]: metric["value"] for metric in app_metrics(at)}
    lexicon = load_lexicon()
    assert shown == {lexicon.label(c): f"{n:,}" for c, n in truth.topic_totals().items()}
    assert sum(truth.topic_totals().values()) > 0
    # Nothing before the data: every delta says "new" (or nothing for a category never seen).
    assert {metric["delta"] for metric in app_metrics(at)} <= {"new", None}
    donut, _lines, _head_to_head = app_charts(at)
    assert donut_slices(donut) == {
        lexicon.label(c): n for c, n in truth.topic_totals().items() if n
    }


def test_trends_page_runs(app_env) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("pages/trends.py")
    at.run()
    assert not at.exception
    assert at.toggle(key="paused") is not None


def test_pipeline_page_files_a_batch_request(app_env) -> None:
    settings, _ = app_env
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("pages/pipeline.py")
    at.run()
    assert not at.exception
    assert any("succeeded" in str(frame.value) for frame in at.dataframe)
    at.button(key="refresh_batch").click()
    at.run()
    assert not at.exception
    assert any("Refresh requested" in success.value for success in at.success)
    # A second click while the first request waits files nothing: one pending at a time.
    at.button(key="refresh_batch").click()
    at.run()
    assert not at.exception
    assert any("already waiting" in info.value for info in at.info)
    with connect(settings, keyspace=settings.keyspace) as session:
        rows = list(session.execute("SELECT status FROM batch_requests WHERE bucket = 0"))
    assert [row.status for row in rows] == ["pending"]
    shown = "".join(frame.value.to_string() for frame in at.dataframe)
    assert "None" not in shown and "NaT" not in shown


def test_refresh_needs_the_admin_token_when_one_is_set(app_env, monkeypatch) -> None:
    monkeypatch.setenv("TRENDOFF_ADMIN_TOKEN", "s3cret")
    get_settings.cache_clear()
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("pages/pipeline.py")
    at.run()
    assert at.button(key="refresh_batch").disabled
    at.text_input(key="admin_token").input("wrong")
    at.run()
    assert at.button(key="refresh_batch").disabled
    at.text_input(key="admin_token").input("s3cret")
    at.run()
    assert not at.button(key="refresh_batch").disabled


def test_trending_now_is_the_landing_page_on_pipeline_data(app_env) -> None:
    """Terms counted by the real speed and batch jobs: the landing page ranks or says why not, and
    its leaderboards are the serving layer's for the window it names (or a sentence when empty)."""
    from pipeline.serving import Serving

    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    assert at.title[0].value == "Trending now"
    # The seeded posts are a replay: the window ends with the newest post's bucket.
    assert any("a replay" in caption.value for caption in at.caption)
    with Serving(get_settings()) as serving:
        newest = serving.newest_post()
        assert newest is not None
        answer = serving.trending("all", newest, limit=25)
        since, until = answer.span.window_start, answer.span.end
        hashtags = serving.top_terms("hashtag", since, until, 10)
        mentions = serving.top_terms("mention", since, until, 10)
    assert hashtags, "the dev slice's last hour has hashtags"
    tables = app_tables(at)
    sentences = [info.value for info in at.info]
    ranked = [table for table in tables if "score" in table[0]]
    if answer.terms:
        assert [row["term"] for row in ranked[0]] == [item.term for item in answer.terms]
    else:
        assert ranked == []
        assert any(s.startswith("Nothing is trending: no term passes") for s in sentences)
    boards = [table for table in tables if "posts" in table[0]]
    assert [(row["term"], row["posts"]) for row in boards[0]] == [
        (item.term, f"{item.count:,}") for item in hashtags
    ]
    if mentions:
        assert [row["term"] for row in boards[1]] == [item.term for item in mentions]
    else:
        assert len(boards) == 1
        assert "No mentions in this window." in sentences
