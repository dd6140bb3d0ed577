"""Cached data loaders for the Streamlit pages: every page reads through these, never Cassandra.

They live in this imported module, not in page bodies: Streamlit keys its caches by function
identity, and two pages defining look-alike functions would otherwise share or clash. The serving
connection is one resource per app process; query results are cached for a few seconds so a page
refresh costs nothing while the views are still the same.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import streamlit as st

from pipeline.app.trending_view import with_window
from pipeline.distinctive import Distinctive, distinctive_words
from pipeline.serving import Serving
from pipeline.settings import Settings, get_settings
from pipeline.stack import manager
from pipeline.stack.process import pid_alive
from pipeline.supervision import read_status, status_path
from pipeline.text import Lexicon, load_lexicon
from pipeline.trending import TopTerm, Trending, TrendParams
from pipeline.views import SharedWord, rank_shared_words


@st.cache_resource
def app_settings() -> Settings:
    return get_settings()


def _close_serving(released: Serving) -> None:
    released.close()


# Closing on release shuts the driver's connections and threads down when the cache is cleared,
# instead of leaving them running until the process exits.
@st.cache_resource(on_release=_close_serving)
def serving() -> Serving:
    return Serving(app_settings())


@st.cache_data(ttl=5, show_spinner=False)
def stack_health() -> list[dict[str, object]]:
    """Whether each server answers a real request, whoever started it (not only this checkout's
    `trendoff stack up`: the app reports what it can reach)."""
    return [
        {"name": service.name, "port": service.port, "ready": service.ready()}
        for service in manager.services(app_settings())
    ]


@st.cache_data(ttl=30, show_spinner=False)
def account_directory() -> list[tuple[str, int]]:
    return [(account.handle, account.posts) for account in serving().accounts(limit=1_000_000)]


@st.cache_data(ttl=15, show_spinner=False)
def pair_word_counts(a: str, b: str) -> tuple[dict[str, int], dict[str, int]]:
    """Both accounts' word counts, read once per pair: the shared and the distinctive words
    are computed from the same snapshot (reading them for each doubled the Compare page's
    Cassandra reads)."""
    return serving().pair_word_counts(a, b)


@st.cache_data(ttl=15, show_spinner=False)
def shared_words(a: str, b: str, by: str) -> list[SharedWord]:
    """Every word both use, ranked: the page shows the top n and says how many there are."""
    return rank_shared_words(*pair_word_counts(a, b), None, by)


@st.cache_data(ttl=15, show_spinner=False)
def distinctive(a: str, b: str) -> tuple[list[Distinctive], list[Distinctive]]:
    return distinctive_words(*pair_word_counts(a, b))


@st.cache_data(ttl=3, show_spinner=False)
def topic_minutes() -> dict[str, dict[datetime, int]]:
    return serving().topic_minutes()


@st.cache_data(ttl=3, show_spinner=False)
def post_span() -> tuple[datetime, datetime] | None:
    return serving().post_span()


def trend_params(window: timedelta) -> TrendParams:
    """The configured trending rules (buckets, baseline, guards) with the page's ``window``."""
    return with_window(app_settings().trend_params(), window)


@st.cache_data(ttl=3, show_spinner=False)
def trending(kind: str, at: datetime, window: timedelta, limit: int = 25) -> Trending:
    """Rising terms; callers pass ``at`` floored to its bucket, so every refresh within a bucket
    asks the same question and a cached answer serves it for a few seconds."""
    return serving().trending(kind, at, trend_params(window), limit)


@st.cache_data(ttl=3, show_spinner=False)
def top_terms(kind: str, since: datetime, until: datetime, limit: int = 10) -> list[TopTerm]:
    return serving().top_terms(kind, since, until, limit)


@st.cache_data(ttl=5, show_spinner=False)
def recent_alerts(limit: int = 20) -> list[dict[str, object]]:
    """Recent trend alerts, newest first, as rows for a table (docs/alerts.md)."""
    return [
        {
            "alerted": f"{alert.alerted_at:%Y-%m-%d %H:%M:%S} UTC",
            "term": alert.term,
            "kind": alert.kind,
            "posts": alert.posts,
            "authors": alert.authors,
            "score": round(alert.score, 1),
            "window": f"{alert.window_start:%Y-%m-%d %H:%M} to {alert.window_end:%H:%M} UTC",
            "webhook": alert.webhook,
        }
        for alert in serving().recent_alerts(limit)
    ]


@st.cache_resource
def lexicon() -> Lexicon:
    return load_lexicon(app_settings().lexicon_path)


@st.cache_data(ttl=3, show_spinner=False)
def pipeline_status() -> dict[str, object]:
    return serving().pipeline_status()


@st.cache_data(ttl=5, show_spinner=False)
def topic_sizes() -> dict[str, int] | None:
    """Records in the posts and dead-letter topics, or None while Kafka is unreachable."""
    from pipeline.admin import topic_offsets
    from pipeline.errors import TrendoffError

    try:
        return topic_offsets(app_settings())
    except TrendoffError:
        return None


def request_batch(requested_by: str) -> uuid.UUID:
    """File a refresh request for the batch scheduler (not cached: it writes)."""
    request_id = serving().request_batch(requested_by)
    pipeline_status.clear()
    return request_id


def now() -> datetime:
    return datetime.now(UTC)


@st.cache_data(ttl=2, show_spinner=False)
def runner_status() -> tuple[dict[str, object] | None, bool]:
    """What `trendoff run` last published for this namespace, and whether that runner lives."""
    settings = app_settings()
    status = read_status(status_path(settings.state_dir, settings.namespace))
    pid = status.get("runner_pid") if status else None
    return status, isinstance(pid, int) and pid_alive(pid)
