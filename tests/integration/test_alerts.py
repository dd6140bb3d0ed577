"""Alerts on the real stack. Term rows are written into ``speed_term_tallies`` of a fresh namespace
with :func:`pipeline.trending.pack_terms`, as the speed job writes them: (a) #risingtag used
once each by 30 accounts in the last bucket, (b) #spamtag posted 200 times by one account in
that bucket, and (c) #steadytag used once in every bucket for a day and more. Checked twice,
exactly one alert fires, for (a). Webhooks are local HTTP servers on 127.0.0.1: one that records
what it is sent, one that answers 500, and one that never answers.
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from pipeline.alerts import NOT_CONFIGURED, SENT, alert_message
from pipeline.cassandra import connect
from pipeline.jobs.alerting import AlertChecker, run_checks, webhook_sender
from pipeline.settings import Settings
from pipeline.shards import account_shard
from pipeline.trending import pack_terms, tally_hour

pytestmark = pytest.mark.integration

LAST_BUCKET = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
AT = LAST_BUCKET + timedelta(minutes=2, seconds=30)  # inside the last bucket
NEWEST_POST = LAST_BUCKET + timedelta(minutes=2, seconds=25)
STEADY_BUCKETS = 12 * 25  # the window and the 24 h baseline before it, one post each


def bucket_tallies(extra_rising: tuple[str, ...] = ()) -> dict[datetime, dict]:
    """{bucket: {term: (posts, authors)}} of (a), (b) and (c), and more rising tags if asked."""
    tallies: dict[datetime, dict] = {}
    for step in range(STEADY_BUCKETS):
        bucket = LAST_BUCKET - timedelta(minutes=5 * step)
        tallies[bucket] = {"#steadytag": (1, [f"steady_{step % 5}"]), "daily": (1, ["steady_0"])}
    last = tallies[LAST_BUCKET]
    last["#spamtag"] = (200, ["spammer"])
    for tag in ("#risingtag", *extra_rising):
        last[tag] = (30, [f"voice_{n:02d}" for n in range(30)])
    return tallies


def seed(settings: Settings, tallies: dict[datetime, dict]) -> None:
    """Write the tallies as speed rows, and the newest post as the accounts view holds it."""
    ks = settings.keyspace
    with connect(settings) as session:
        insert = session.prepare(
            f"INSERT INTO {ks}.speed_term_tallies (hour, bucket, window_start, micro_batch, chunk, "
            "terms, posts, authors) VALUES (?, ?, ?, 0, ?, ?, ?, ?)"
        )
        for bucket, terms in tallies.items():
            for chunk, (packed, posts, authors) in enumerate(pack_terms(terms)):
                session.execute(
                    insert, (tally_hour(bucket), bucket, bucket, chunk, packed, posts, authors)
                )
        session.execute(
            f"INSERT INTO {ks}.speed_account_tallies (shard, window_start, author, micro_batch, "
            "posts, first_post, last_post) VALUES (%s, %s, 'voice_00', 0, 1, %s, %s)",
            (account_shard("voice_00"), LAST_BUCKET, NEWEST_POST, NEWEST_POST),
        )


@pytest.fixture
def seeded(namespace_settings: Settings) -> Settings:
    seed(namespace_settings, bucket_tallies())
    return namespace_settings


class Webhook:
    """A local webhook receiver: records every request; answers with ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.requests: list[tuple[str, str, bytes]] = []
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.requests.append((self.path, self.headers["Content-Type"], body))
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"broken")

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/services/T0/B0/SECRETPART"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook(200)
    yield hook
    hook.close()


@pytest.fixture
def failing_webhook() -> Iterator[Webhook]:
    hook = Webhook(500)
    yield hook
    hook.close()


@pytest.fixture
def silent_webhook() -> Iterator[str]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook/SECRETPART"
    listener.close()


def with_webhook(settings: Settings, url: str, **overrides: object) -> Settings:
    return settings.model_copy(update={"alert_webhook_url": SecretStr(url), **overrides})


def test_alert_fires_once_for_the_rising_tag_and_never_for_spam_or_steady(
    seeded: Settings, webhook: Webhook
) -> None:
    settings = with_webhook(seeded, webhook.url)
    with AlertChecker(settings, webhook_sender(settings, backoff_seconds=0.01)) as checker:
        trending = checker.serving.trending("all", AT, limit=None).terms
        assert [t.term for t in trending] == ["#risingtag"]  # the guards hold (b) and (c) back
        first = checker.check(AT)
        second = checker.check(AT)
        later_in_window = checker.check(AT + timedelta(minutes=4))
        history = checker.serving.recent_alerts()
    assert [alert.term for alert in first] == ["#risingtag"]
    assert second == [] and later_in_window == []
    alert = first[0]
    assert (alert.posts, alert.authors, alert.expected, alert.score) == (30, 30, 0.0, 30.0)
    assert (alert.window_start, alert.window_end) == (
        LAST_BUCKET - timedelta(minutes=55),
        LAST_BUCKET + timedelta(minutes=5),
    )
    assert (alert.webhook, alert.attempts) == (SENT, 1)
    assert history == [alert]
    assert len(webhook.requests) == 1
    path, content_type, body = webhook.requests[0]
    assert path == "/services/T0/B0/SECRETPART"
    assert content_type == "application/json"
    payload = json.loads(body)
    assert payload == alert_message(alert)
    assert "#risingtag" in payload["text"] and "30 posts by 30 accounts" in payload["text"]


def test_two_checkers_at_once_alert_once(namespace_settings: Settings) -> None:
    seed(namespace_settings, bucket_tallies(extra_rising=("#othertag", "#thirdtag")))
    checkers = [AlertChecker(namespace_settings) for _ in range(2)]
    fired: list[list] = [[], []]
    start = threading.Barrier(2)

    def check(index: int) -> None:
        start.wait()
        fired[index] = checkers[index].check(AT)

    try:
        threads = [threading.Thread(target=check, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        history = checkers[0].serving.recent_alerts()
    finally:
        for checker in checkers:
            checker.close()
    terms = sorted(alert.term for found in fired for alert in found)
    assert terms == ["#othertag", "#risingtag", "#thirdtag"]
    assert sorted(alert.term for alert in history) == terms
    assert {alert.webhook for alert in history} == {NOT_CONFIGURED}


def test_term_alerts_again_only_for_a_window_after_its_last(seeded: Settings) -> None:
    with AlertChecker(seeded) as checker:
        assert [a.term for a in checker.check(AT)] == ["#risingtag"]
        # The rising tag in a later window too: the window from 12:05 starts where the claimed
        # one ended, so it may alert again; from 12:00 it overlaps and may not.
        seed(seeded, {LAST_BUCKET + timedelta(minutes=55): {"#risingtag": (30, ["x", "y", "z"])}})
        assert checker.check(AT + timedelta(minutes=55)) == []  # window 12:00-13:00 overlaps
        again = checker.check(AT + timedelta(minutes=60))  # window 12:05-13:05
        assert [(a.term, a.posts, a.authors) for a in again] == [("#risingtag", 30, 3)]
        assert [a.term for a in checker.serving.recent_alerts()] == ["#risingtag", "#risingtag"]


def test_failing_webhook_is_recorded_retried_and_never_stops_the_checker(
    namespace_settings: Settings, failing_webhook: Webhook, caplog
) -> None:
    seed(namespace_settings, bucket_tallies(extra_rising=("#othertag",)))
    settings = with_webhook(
        namespace_settings, failing_webhook.url, alert_webhook_retries=2, alert_check_seconds=0.2
    )
    stop = threading.Event()
    with AlertChecker(settings) as checker:
        # The loop checks "now": the newest post, as on replayed history.
        loop = threading.Thread(
            target=run_checks,
            args=(settings, stop, webhook_sender(settings, backoff_seconds=0.01)),
        )
        loop.start()
        deadline = time.monotonic() + 60
        while len(checker.serving.recent_alerts()) < 2 or len(failing_webhook.requests) < 6:
            assert time.monotonic() < deadline, "the checker did not record both alerts"
            time.sleep(0.2)
        time.sleep(1.0)  # a few more ticks: nothing new fires, nothing breaks
        stop.set()
        loop.join(30)
        assert not loop.is_alive()
        history = checker.serving.recent_alerts()
    assert sorted(alert.term for alert in history) == ["#othertag", "#risingtag"]
    for alert in history:
        assert alert.webhook == "failed: HTTP 500 (3 attempts)"
        assert alert.attempts == 3
    assert len(failing_webhook.requests) == 6  # 2 alerts x (1 + 2 retries), none resent
    assert "SECRETPART" not in caplog.text


def test_silent_webhook_times_out_within_the_setting(seeded: Settings, silent_webhook: str) -> None:
    settings = with_webhook(
        seeded, silent_webhook, alert_webhook_timeout_seconds=0.5, alert_webhook_retries=1
    )
    with AlertChecker(settings, webhook_sender(settings, backoff_seconds=0.1)) as checker:
        started = time.monotonic()
        fired = checker.check(AT)
        seconds = time.monotonic() - started
        history = checker.serving.recent_alerts()
    assert [alert.term for alert in fired] == ["#risingtag"]
    assert history[0].webhook == "failed: no answer within 0.5 s (2 attempts)"
    # Two attempts of 0.5 s and a 0.1 s pause, plus the Cassandra reads and writes.
    assert 1.0 <= seconds < 5.0, seconds


def test_checker_keeps_going_while_the_namespace_is_not_initialised(
    stack: Settings, caplog
) -> None:
    from tests.conftest import fresh_namespace

    settings = stack.model_copy(
        update={"namespace": fresh_namespace("noinit"), "alert_check_seconds": 0.2}
    )
    stop = threading.Event()
    loop = threading.Thread(target=run_checks, args=(settings, stop))
    loop.start()
    time.sleep(1.5)
    assert loop.is_alive()
    stop.set()
    loop.join(30)
    assert not loop.is_alive()
    failures = [r for r in caplog.records if "alert check failed" in r.getMessage()]
    assert len(failures) >= 2  # retried on later ticks
    assert failures[0].exc_info and not failures[1].exc_info  # one traceback, then one-liners


def test_cli_check_and_list(seeded: Settings) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDOFF_")}
    env.update(TRENDOFF_NAMESPACE=seeded.namespace, TRENDOFF_STATE_DIR=str(seeded.state_dir))

    def cli(*args: str) -> list[dict]:
        done = subprocess.run(
            [sys.executable, "-m", "pipeline", "alerts", *args, "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        found = json.loads(done.stdout)
        assert isinstance(found, list)
        return found

    # Without --at the check's "now" is the newest post (replayed history), not the wall clock.
    fired = cli("check")
    assert [(a["term"], a["count"], a["authors"]) for a in fired] == [("#risingtag", 30, 30)]
    assert fired[0]["window_end"] == (LAST_BUCKET + timedelta(minutes=5)).isoformat()
    assert fired[0]["webhook"] == NOT_CONFIGURED
    assert cli("check", "--at", AT.isoformat()) == []
    assert cli("list", "-n", "5") == fired


def test_jobs_application_runs_the_checker_and_stops_cleanly(
    seeded: Settings, webhook: Webhook, tmp_path
) -> None:
    """`trendoff jobs` starts the checker beside the streams: the alert reaches the webhook once,
    and Ctrl-C still stops the application cleanly."""
    (tmp_path / "jvm").symlink_to(seeded.state_dir / "jvm")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDOFF_")}
    env.update(
        TRENDOFF_NAMESPACE=seeded.namespace,
        TRENDOFF_STATE_DIR=str(tmp_path),
        TRENDOFF_SPARK_MASTER="local[2]",
        TRENDOFF_ALERT_CHECK_SECONDS="1",
        TRENDOFF_ALERT_WEBHOOK_URL=webhook.url,
    )
    jobs = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "jobs", "--no-batch"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        while not webhook.requests:
            assert jobs.poll() is None, jobs.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "no alert reached the webhook"
            time.sleep(1)
        time.sleep(3)  # three more checks: the claim holds
        jobs.send_signal(signal.SIGINT)
        _, stderr = jobs.communicate(timeout=60)
    finally:
        if jobs.poll() is None:
            jobs.kill()
            jobs.wait()
    assert jobs.returncode == 0, stderr[-3000:]
    assert len(webhook.requests) == 1
    assert "#risingtag" in json.loads(webhook.requests[0][2])["text"]
    assert "alert checker: every 1 s" in stderr
    assert "SECRETPART" not in stderr
    assert "alert check failed" not in stderr
