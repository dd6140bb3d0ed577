"""The pure rules of alerts: which terms alert, the "now" of a check, the claim's lifetime, the
webhook message and what logs may say about the webhook."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr, ValidationError

from pipeline.alerts import (
    NOT_CONFIGURED,
    Alert,
    WebhookSender,
    alert_message,
    alert_worthy,
    backoff_delays,
    check_moment,
    claim_ttl,
    retry_worthy,
    webhook_host,
)
from pipeline.trending import TrendingTerm, TrendParams, trend_span

AT = datetime(2026, 11, 20, 12, 2, 30, tzinfo=UTC)


def term(name: str, score: float, count: int = 30, authors: int = 30) -> TrendingTerm:
    return TrendingTerm(name, "hashtag", count, authors, 0.5, score)


def test_alert_worthy_keeps_terms_reaching_the_threshold_in_rank_order() -> None:
    ranked = [term("#a", 30.0), term("#b", 10.0), term("#c", 9.999), term("#d", 3.0)]
    assert [t.term for t in alert_worthy(ranked, 10.0)] == ["#a", "#b"]
    assert alert_worthy(ranked, 31.0) == []
    assert alert_worthy([], 0.0) == []


def test_check_moment_follows_the_newest_post_on_replayed_history() -> None:
    wall = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
    replayed = datetime(2026, 11, 20, 12, 2, tzinfo=UTC)
    assert check_moment(replayed, wall) == replayed


def test_check_moment_is_the_wall_clock_without_posts_or_with_future_posts() -> None:
    wall = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
    assert check_moment(None, wall) == wall
    assert check_moment(wall + timedelta(minutes=3), wall) == wall
    assert check_moment(wall, wall) == wall


def test_claims_outlive_their_window() -> None:
    assert claim_ttl(TrendParams()) == timedelta(days=7)
    long = TrendParams(window=timedelta(days=5), baseline=timedelta(days=10))
    assert claim_ttl(long) == timedelta(days=10)


def test_alert_takes_the_window_it_was_computed_for_and_drops_sub_millisecond_time() -> None:
    span = trend_span(AT, TrendParams())
    alerted_at = datetime(2026, 11, 26, 17, 0, 1, 123456, tzinfo=UTC)
    alert = Alert.of(term("#risingtag", 30.0), span, alerted_at)
    assert (alert.window_start, alert.window_end) == (
        datetime(2026, 11, 20, 11, 5, tzinfo=UTC),
        datetime(2026, 11, 20, 12, 5, tzinfo=UTC),
    )
    assert alert.alerted_at.microsecond == 123000
    assert alert.to_json()["count"] == 30


def test_alert_message_is_slack_text_with_term_counts_and_score() -> None:
    span = trend_span(AT, TrendParams())
    alert = Alert.of(TrendingTerm("#risingtag", "hashtag", 30, 29, 0.5, 24.09), span, AT)
    message = alert_message(alert)
    assert list(message) == ["text"]
    text = message["text"]
    for part in ("#risingtag", "30 posts", "29 accounts", "0.5 expected", "score 24.1"):
        assert part in text, part
    assert "2026-11-20 11:05 to 2026-11-20 12:05 UTC" in text
    json.dumps(message)  # serialisable as is


def test_alert_message_escapes_slack_control_characters() -> None:
    span = trend_span(AT, TrendParams())
    alert = Alert.of(TrendingTerm("a<b>&c", "word", 9, 9, 0.0, 9.0), span, AT)
    assert "a&lt;b&gt;&amp;c" in alert_message(alert)["text"]


def test_webhook_host_hides_the_secret_path_and_credentials() -> None:
    url = "https://user:pw@hooks.example.com/services/T000/B000/XXXXSECRET?token=abc"
    assert webhook_host(url) == "hooks.example.com"


def test_backoff_doubles() -> None:
    assert backoff_delays(3, 0.5) == [0.5, 1.0, 2.0]
    assert backoff_delays(0, 1.0) == []


def test_unset_webhook_sends_nothing_and_says_so() -> None:
    sender = WebhookSender(None, timeout_seconds=1.0, retries=3)
    delivery = sender.send({"text": "x"})
    assert (delivery.outcome, delivery.attempts) == (NOT_CONFIGURED, 0)
    assert not sender.configured


def test_sender_reports_a_refused_connection_without_the_url(caplog) -> None:
    # Port 9 on loopback: nothing listens, the connection is refused at once.
    secret = "http://127.0.0.1:9/hook/SECRETPART"
    pauses: list[float] = []
    sender = WebhookSender(
        SecretStr(secret), timeout_seconds=2.0, retries=2, backoff_seconds=0.25, sleep=pauses.append
    )
    delivery = sender.send({"text": "x"})
    assert delivery.outcome.startswith("failed: cannot connect")
    assert delivery.attempts == 3
    assert pauses == [0.25, 0.5]
    assert "SECRETPART" not in delivery.outcome
    assert "SECRETPART" not in caplog.text and "127.0.0.1" in caplog.text


def test_alert_settings_defaults_and_webhook_from_environment(make_settings, monkeypatch) -> None:
    settings = make_settings()
    assert settings.trend_alert_score == 10.0
    assert settings.alert_webhook_url is None
    assert settings.alert_check_seconds == 30
    monkeypatch.setenv("TRENDOFF_ALERT_WEBHOOK_URL", "https://hooks.example.com/T/B/secret")
    settings = make_settings()
    assert settings.alert_webhook_url is not None
    assert "secret" not in repr(settings)


@pytest.mark.parametrize(
    "bad", ["file:///etc/passwd", "ftp://host/x", "hooks.example.com/x", "http://"]
)
def test_webhook_url_must_be_http_or_https(make_settings, bad: str) -> None:
    with pytest.raises(ValidationError, match="alert_webhook_url"):
        make_settings(alert_webhook_url=bad)


def test_retry_only_answers_that_may_heal() -> None:
    assert [
        code
        for code in (400, 401, 403, 404, 408, 410, 429, 500, 502, 503, 504)
        if retry_worthy(code)
    ] == [408, 429, 500, 502, 503, 504]


def test_a_stopping_process_ends_the_retries() -> None:
    stop = threading.Event()
    stop.set()
    sender = WebhookSender(
        SecretStr("http://127.0.0.1:9/hook"), timeout_seconds=2.0, retries=5, sleep=stop.wait
    )
    delivery = sender.send({"text": "x"})
    assert delivery.attempts == 1
    assert delivery.outcome.startswith("failed: cannot connect")
    assert "stopping before the next attempt" in delivery.outcome
