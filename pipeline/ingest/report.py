"""What a produce run reports: its summary, the send failures it counted, and its progress line.

Kept apart from :mod:`.producer` (the sending) so the CLI, the fan-out senders and tests can
read a run's outcome without the Kafka client.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

logger = logging.getLogger(__name__)

# Send failures logged in full and listed in the summary; the rest are counted.
REPORTED_FAILURES = 5


@dataclass
class ProduceSummary:
    """What a run did. ``read`` = ``produced`` + rejected + ``failed_posts``: every record read is
    either delivered, a dead letter, or a failed send. ``failed_dead_letters`` counts rejections
    whose dead letter could not be delivered (they are in ``rejected`` too)."""

    read: int = 0
    produced: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    failed_posts: int = 0
    failed_dead_letters: int = 0
    failures: list[str] = field(default_factory=list)
    duplicates_seen: int = 0
    sent_again: int = 0  # records sent again after a Kafka outage (:mod:`.outage`)
    seconds: float = 0.0
    interrupted: bool = False
    stopped: str | None = None  # why reading stopped before the input ended, if it did

    @property
    def failed(self) -> int:
        return self.failed_posts + self.failed_dead_letters

    def to_json(self) -> dict[str, object]:
        return {
            "read": self.read,
            "produced": self.produced,
            "rejected": dict(sorted(self.rejected.items())),
            "rejected_total": sum(self.rejected.values()),
            "failed": self.failed,
            "failed_posts": self.failed_posts,
            "failed_dead_letters": self.failed_dead_letters,
            "failures": self.failures,
            "duplicates_seen": self.duplicates_seen,
            "sent_again": self.sent_again,
            "seconds": round(self.seconds, 3),
            "posts_per_second": round(self.read / self.seconds) if self.seconds else None,
            "interrupted": self.interrupted,
            "stopped": self.stopped,
        }


class SendFailures:
    """Counts failed sends of posts and dead letters; logs and keeps the first few."""

    def __init__(self, on_error: Callable[[Exception], None] | None = None) -> None:
        self.posts = 0
        self.dead_letters = 0
        self.first: list[str] = []
        self._on_error = on_error

    def note(self, what: str, description: str) -> None:
        if what == "post":
            self.posts += 1
        else:
            self.dead_letters += 1
        if len(self.first) < REPORTED_FAILURES:
            self.first.append(f"{what}: {description}")
            logger.error("a %s could not be sent: %s", what, description)

    def add_counted(self, what: str, count: int, messages: list[str]) -> None:
        """``count`` failures described (in part) by ``messages``, e.g. from sender processes."""
        if what == "post":
            self.posts += count
        else:
            self.dead_letters += count
        for message in messages[: max(0, REPORTED_FAILURES - len(self.first))]:
            self.first.append(f"{what}: {message}")
            logger.error("a %s could not be sent: %s", what, message)

    def errback(self, what: str) -> Callable[[Exception], None]:
        def failed(exc: Exception) -> None:
            self.note(what, f"{type(exc).__name__}: {exc}")
            if self._on_error:
                self._on_error(exc)

        return failed


class ProgressLine:
    """Progress of a long send: one line redrawn on a terminal; otherwise (a log file, as under
    `trendoff run`) an INFO log line every ``LOGGED_EVERY_SECONDS``, so that a long replay's log
    shows it moving."""

    LOGGED_EVERY_SECONDS = 30.0

    def __init__(self, stream: TextIO = sys.stderr, every_seconds: float | None = None) -> None:
        self.stream = stream
        self.terminal = stream.isatty()
        default_every = 0.5 if self.terminal else self.LOGGED_EVERY_SECONDS
        self.every = default_every if every_seconds is None else every_seconds
        self._last = time.monotonic()

    def update(self, summary: ProduceSummary, started: float, *, final: bool = False) -> None:
        now = time.monotonic()
        # Off a terminal the caller's own summary line closes the log; no final line here.
        if (final and not self.terminal) or (not final and now - self._last < self.every):
            return
        self._last = now
        rate = summary.read / (now - started) if now > started else 0.0
        line = (
            f"read {summary.read:,}  produced {summary.produced:,}  "
            f"rejected {sum(summary.rejected.values()):,}  {rate:,.0f} posts/s"
        )
        if self.terminal:
            self.stream.write("\r" + line + ("\n" if final else ""))
            self.stream.flush()
        else:
            logger.info("progress: %s", line)
