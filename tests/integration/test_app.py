"""The Streamlit pages, run by streamlit.testing against the real stack with seeded dev data."""

from __future__ import annotations

import os

import pytest
from streamlit.testing.v1 import AppTest

from pipeline.cassandra import connect
from pipeline.settings import get_settings
from tests.conftest import REPO_ROOT

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


def top_two(truth) -> tuple[str, str]:
    ranked = sorted(truth.posts_by_author.items(), key=lambda item: (-item[1], item[0]))
    return ranked[0][0], ranked[1][0]


def test_compare_page_shows_the_shared_words_of_the_chosen_pair(app_env) -> None:
    _, truth = app_env
    a, b = top_two(truth)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["a"] = a
    at.query_params["b"] = b
    at.run()
    assert not at.exception
    assert at.selectbox(key="account_a").value == a
    assert at.selectbox(key="account_b").value == b
    table = at.dataframe[0].value
    expected = truth.shared_words(a, b, 20)
    assert list(table["word"]) == [item.word for item in expected]
    assert list(table[a]) == [item.count_a for item in expected]
    assert len(at.get("vega_lite_chart")) == 1


def test_compare_page_handles_same_account_and_unknown_handle(app_env) -> None:
    _, truth = app_env
    a, _ = top_two(truth)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["a"] = a
    at.query_params["b"] = "no_such_account_xyz"
    at.run()
    assert not at.exception
    assert any("no_such_account_xyz" in warning.value for warning in at.warning)

    at.selectbox(key="account_b").set_value(a)
    at.button[0].click()
    at.run()
    assert not at.exception
    assert any("two different accounts" in info.value for info in at.info)


def test_trends_body_renders_counts_from_the_serving_layer(app_env) -> None:
    _, truth = app_env

    def body() -> None:
        from datetime import timedelta

        from pipeline.app.trends import render_trends

        render_trends(timedelta(days=3650), False, ("coffee", "tea"))

    at = AppTest.from_function(body, default_timeout=60)
    at.run()
    assert not at.exception
    shown = {metric.label: metric.value for metric in at.metric}
    totals = truth.topic_totals()
    assert set(shown) == set(totals)
    assert len(at.get("vega_lite_chart")) == 3


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
    with connect(settings, keyspace=settings.keyspace) as session:
        rows = list(session.execute("SELECT status FROM batch_requests WHERE bucket = 0"))
    assert [row.status for row in rows] == ["pending"]


def test_refresh_needs_the_admin_token_when_one_is_set(app_env, monkeypatch) -> None:
    monkeypatch.setenv("TRENDOFF_ADMIN_TOKEN", "s3cret")
    get_settings.cache_clear()
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("pages/pipeline.py")
    at.run()
    assert at.button(key="refresh_batch").disabled
    at.text_input(key="admin_token").input("s3cret")
    at.run()
    assert not at.button(key="refresh_batch").disabled
