"""Alerts on trending terms (docs/alerts.md).

- A term is **alert-worthy** when it trends (it passed the guards of :mod:`pipeline.trending`) and
  its burst score reaches ``trend_alert_score``.
- **One alert per term and window**: an alert claims the trend window it was computed for; the
  term may alert again only for a window that starts at or after the end of the claimed one, i.e.
  once a full trend window has passed in event time. Claims are lightweight transactions, so two
  checkers, or a checker restarted mid-way, never alert twice for the same term and window.
- Each alert is kept in the ``alerts`` history (one partition per UTC day, newest first) with the
  outcome of its webhook: ``sent``, ``failed: <reason>`` or ``not configured``.

The first part is pure rules; :class:`AlertStore` is the Cassandra side and
:class:`WebhookSender` the HTTP side. A webhook failure never raises: it becomes the outcome.
"""

from __future__ import annotations

import json
import logging
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pipeline.trending import TrendingTerm, TrendParams, TrendSpan

if TYPE_CHECKING:
    from cassandra.cluster import Session
    from pydantic import SecretStr

logger = logging.getLogger(__name__)

SENT, NOT_CONFIGURED, SENDING = "sent", "not configured", "sending"
# The history keeps 30 days (the table's TTL); readers look no further back.
HISTORY_DAYS = 30
# A claim outlives its window by far: a week, or two windows when the window is longer.
MIN_CLAIM_TTL = timedelta(days=7)


# -- pure rules ----------------------------------------------------------------------------------


def alert_worthy(terms: Iterable[TrendingTerm], threshold: float) -> list[TrendingTerm]:
    """The trending terms whose score reaches ``threshold``, in their ranked order."""
    return [term for term in terms if term.score >= threshold]


def check_moment(newest_post: datetime | None, wall_clock: datetime) -> datetime:
    """The "now" of an alert check: the newest counted post when it is older than the wall clock
    (replayed history, or a live source a few seconds behind), else the wall clock (no posts yet,
    or posts dated in the future)."""
    if newest_post is not None and newest_post < wall_clock:
        return newest_post
    return wall_clock


def claim_ttl(params: TrendParams) -> timedelta:
    return max(MIN_CLAIM_TTL, 2 * params.window)


def _slack_escape(text: str) -> str:
    # Slack reads <...> as links and mentions; its docs ask for these three escapes.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def alert_message(alert: Alert) -> dict[str, str]:
    """The Slack-compatible webhook body: ``{"text": ...}`` with the term, counts and score."""
    start, end = alert.window_start, alert.window_end
    return {
        "text": (
            f"Trending {alert.kind}: {_slack_escape(alert.term)} - {alert.posts} posts by "
            f"{alert.authors} accounts from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC "
            f"({alert.expected:.1f} expected from the baseline), burst score {alert.score:.1f}"
        )
    }


def webhook_host(url: str) -> str:
    """What logs may say about a webhook: its host (the path and query hold the secret)."""
    return urlsplit(url).hostname or "(no host)"


def backoff_delays(retries: int, base_seconds: float) -> list[float]:
    """Pauses before each retry: base, 2 x base, 4 x base ..."""
    return [base_seconds * 2**n for n in range(retries)]


def retry_worthy(status: int) -> bool:
    """HTTP answers worth another attempt: the receiver is slow, busy or failing (408, 429,
    5xx), not refusing the message (a 404 from a deleted hook will not heal)."""
    return status in (408, 429) or status >= 500


def _ms(moment: datetime) -> datetime:
    """Cassandra keeps milliseconds: truncate so a row written and read back compares equal."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _utc(moment: Any) -> datetime:
    found: datetime = moment  # the driver returns naive UTC datetimes
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Alert:
    term: str
    kind: str
    posts: int
    authors: int
    expected: float
    score: float
    window_start: datetime
    window_end: datetime
    alerted_at: datetime
    webhook: str = SENDING
    attempts: int = 0

    @classmethod
    def of(cls, term: TrendingTerm, span: TrendSpan, alerted_at: datetime) -> Alert:
        return cls(
            term.term,
            term.kind,
            term.count,
            term.authors,
            term.expected,
            term.score,
            span.window_start,
            span.end,
            _ms(alerted_at),
        )

    def to_json(self) -> dict[str, object]:
        return {
            "term": self.term,
            "kind": self.kind,
            "count": self.posts,
            "authors": self.authors,
            "expected": round(self.expected, 6),
            "score": round(self.score, 6),
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "alerted_at": self.alerted_at.isoformat(),
            "webhook": self.webhook,
            "attempts": self.attempts,
        }


# -- Cassandra -----------------------------------------------------------------------------------


class AlertStore:
    """The alert history and the per-term claims (pipeline/schemas/cql/004_alerts.cql)."""

    def __init__(self, session: Session, keyspace: str) -> None:
        self.session = session
        prepare = session.prepare
        self._claim_new = prepare(
            f"INSERT INTO {keyspace}.alert_claims (term, window_start, window_end, claimed_at) "
            "VALUES (?, ?, ?, ?) IF NOT EXISTS USING TTL ?"
        )
        self._claim_next = prepare(
            f"UPDATE {keyspace}.alert_claims USING TTL ? "
            "SET window_start = ?, window_end = ?, claimed_at = ? WHERE term = ? "
            "IF window_end <= ?"
        )
        self._insert = prepare(
            f"INSERT INTO {keyspace}.alerts (day, alerted_at, term, kind, posts, authors, "
            "expected, score, window_start, window_end, webhook, attempts) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        self._outcome = prepare(
            f"UPDATE {keyspace}.alerts SET webhook = ?, attempts = ? "
            "WHERE day = ? AND alerted_at = ? AND term = ?"
        )
        self._recent = prepare(
            f"SELECT alerted_at, term, kind, posts, authors, expected, score, window_start, "
            f"window_end, webhook, attempts FROM {keyspace}.alerts WHERE day = ? LIMIT ?"
        )

    def _claim(self, alert: Alert, ttl: timedelta) -> bool:
        seconds = int(ttl.total_seconds())
        start, end = alert.window_start, alert.window_end
        inserted = self.session.execute(
            self._claim_new, (alert.term, start, end, alert.alerted_at, seconds)
        )
        if inserted.was_applied:
            return True
        # The term alerted before: only a window starting at or after that one's end is new.
        moved = self.session.execute(
            self._claim_next, (seconds, start, end, alert.alerted_at, alert.term, start)
        )
        return bool(moved.was_applied)

    def record_if_new(self, alert: Alert, ttl: timedelta) -> bool:
        """Claim the alert's term and window and add it to the history; False (nothing written)
        when an alert of this term already claimed an overlapping window."""
        if not self._claim(alert, ttl):
            return False
        self.session.execute(
            self._insert,
            (
                alert.alerted_at.date(),
                alert.alerted_at,
                alert.term,
                alert.kind,
                alert.posts,
                alert.authors,
                alert.expected,
                alert.score,
                alert.window_start,
                alert.window_end,
                alert.webhook,
                alert.attempts,
            ),
        )
        return True

    def set_outcome(self, alert: Alert, outcome: str, attempts: int) -> Alert:
        self.session.execute(
            self._outcome,
            (outcome, attempts, alert.alerted_at.date(), alert.alerted_at, alert.term),
        )
        return replace(alert, webhook=outcome, attempts=attempts)

    def recent(self, limit: int = 20, today: date | None = None) -> list[Alert]:
        """The newest ``limit`` alerts of the last :data:`HISTORY_DAYS` days, newest first."""
        today = today or datetime.now(UTC).date()
        futures = [
            self.session.execute_async(self._recent, (today - timedelta(days=back), limit))
            for back in range(HISTORY_DAYS)
        ]
        found = [
            Alert(
                row.term,
                row.kind,
                row.posts,
                row.authors,
                row.expected,
                row.score,
                _utc(row.window_start),
                _utc(row.window_end),
                _utc(row.alerted_at),
                row.webhook,
                row.attempts or 0,
            )
            for future in futures
            for row in future.result()
        ]
        found.sort(key=lambda alert: (alert.alerted_at, alert.term), reverse=True)
        return found[:limit]


# -- the webhook ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """How a webhook POST went: ``sent``, ``failed: <reason>`` or ``not configured``."""

    outcome: str
    attempts: int


class WebhookSender:
    """POSTs JSON to the webhook with a timeout per attempt and retries with backoff.

    :meth:`send` never raises: every failure is returned as the delivery's outcome, and logged
    with the webhook's host only."""

    def __init__(
        self,
        url: SecretStr | None,
        *,
        timeout_seconds: float,
        retries: int,
        backoff_seconds: float = 1.0,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        """``sleep`` pauses between attempts; a pause that returns True (as
        ``threading.Event.wait`` does once its event is set) ends the retries: the process is
        stopping."""
        self._url = url
        self.timeout_seconds = timeout_seconds
        self.delays = backoff_delays(retries, backoff_seconds)
        self._sleep = sleep

    @property
    def configured(self) -> bool:
        return self._url is not None

    @property
    def host(self) -> str:
        return webhook_host(self._url.get_secret_value()) if self._url else "(none)"

    def send(self, payload: dict[str, str]) -> Delivery:
        if self._url is None:
            return Delivery(NOT_CONFIGURED, 0)
        url = self._url.get_secret_value().strip()
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        reason = "not attempted"
        for attempt in range(1, len(self.delays) + 2):
            retry, failure = self._attempt(url, body)
            if failure is None:
                return Delivery(SENT, attempt)
            reason = failure.replace(url, self.host)  # in case an error message quotes the URL
            if not retry or attempt > len(self.delays):
                break
            logger.info(
                "alert webhook at %s: %s; retrying in %.1f s",
                self.host,
                reason,
                self.delays[attempt - 1],
            )
            if self._sleep(self.delays[attempt - 1]) is True:
                reason += "; stopping before the next attempt"
                break
        logger.warning(
            "alert webhook at %s failed after %d attempt(s): %s", self.host, attempt, reason
        )
        return Delivery(
            f"failed: {reason} ({attempt} attempt{'s' if attempt > 1 else ''})", attempt
        )

    def _attempt(self, url: str, body: bytes) -> tuple[bool, str | None]:
        """(worth retrying, failure reason or None when delivered). The reasons never hold the
        URL: only status codes and socket errors."""
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            # Settings admit http and https URLs only, so urlopen never reads a local file.
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as answer:
                answer.read(65536)
            return False, None
        except urllib.error.HTTPError as exc:
            return retry_worthy(exc.code), f"HTTP {exc.code}"
        except TimeoutError:
            return True, f"no answer within {self.timeout_seconds:g} s"
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError | socket.timeout):
                return True, f"no answer within {self.timeout_seconds:g} s"
            return True, f"cannot connect ({exc.reason})"
        except Exception as exc:  # noqa: BLE001  # a webhook must never stop the checker
            return True, f"{type(exc).__name__}: {str(exc)[:200]}"
