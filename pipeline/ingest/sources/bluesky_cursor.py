"""Where the Bluesky source resumes: the cursor, what was already sent, and a file that keeps both.

The cursor is the ``time_us`` up to which every event has been dealt with: each post (or dead
letter) made from it acknowledged by Kafka, or nothing to send. :class:`CursorTracker` follows
records from the moment they are read until their acknowledgement (it is told from Kafka's I/O
thread, hence the lock). :class:`RecentKeys` remembers what was sent in the last few seconds of
``time_us``, so a stream resumed a little before the cursor drops what it already sent.
:class:`CursorStore` keeps both in ``<state dir>/bluesky/<namespace>.json``, written atomically.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

logger = logging.getLogger(__name__)

# Most keys kept for de-duplication: at 5,000 posts/s, 24 s of posts.
MAX_RECENT_KEYS = 120_000


class CursorTracker:
    """The highest ``time_us`` whose records are all acknowledged (None before any event)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: dict[int, int] = {}  # token -> time_us of a record not yet acknowledged
        self._next_token = 0
        self._handled_up_to: int | None = None

    def begin(self, time_us: int) -> int:
        """A record of the event at ``time_us`` is on its way; finish it with the token."""
        with self._lock:
            token = self._next_token
            self._next_token += 1
            self._in_flight[token] = time_us
            return token

    def finish(self, token: int) -> None:
        with self._lock:
            self._in_flight.pop(token, None)

    def handled(self, time_us: int) -> None:
        """The event at ``time_us`` has been read and dealt with (its records, if any, begun)."""
        with self._lock:
            if self._handled_up_to is None or time_us > self._handled_up_to:
                self._handled_up_to = time_us

    @property
    def in_flight(self) -> int:
        with self._lock:
            return len(self._in_flight)

    def cursor(self) -> int | None:
        with self._lock:
            if self._handled_up_to is None:
                return None
            if not self._in_flight:
                return self._handled_up_to
            # Events of one microsecond can be split around an unacknowledged record: stop
            # just before the oldest such record.
            return min(self._handled_up_to, min(self._in_flight.values()) - 1)


class RecentKeys:
    """Keys of records sent recently, with their ``time_us``, in reading order. Bounded in number
    (oldest out first) and pruned by time with :meth:`forget_before`: the cursor, not the newest
    key, says what can go, since reading may run ahead of acknowledgements."""

    def __init__(self, limit: int = MAX_RECENT_KEYS) -> None:
        self.limit = limit
        self._order: deque[tuple[int, str]] = deque()
        self._keys: set[str] = set()

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, time_us: int, key: str) -> None:
        if key in self._keys:
            return
        self._order.append((time_us, key))
        self._keys.add(key)
        if len(self._order) > self.limit:
            self._keys.discard(self._order.popleft()[1])

    def forget_before(self, time_us: int) -> None:
        while self._order and self._order[0][0] < time_us:
            self._keys.discard(self._order.popleft()[1])

    def since(self, time_us: int) -> list[tuple[int, str]]:
        return [(moment, key) for moment, key in self._order if moment >= time_us]


@dataclass
class SavedCursor:
    cursor: int
    recent: list[tuple[int, str]] = field(default_factory=list)
    saved_at: str = ""


class CursorStore:
    """One JSON file per namespace. A missing file means no cursor: start live."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def for_namespace(cls, state_dir: Path, namespace: str) -> CursorStore:
        return cls(state_dir / "bluesky" / f"{namespace}.json")

    def load(self) -> SavedCursor | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return SavedCursor(
                cursor=int(data["cursor"]),
                recent=[(int(moment), str(key)) for moment, key in data.get("recent", [])],
                saved_at=str(data.get("saved_at", "")),
            )
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as exc:
            # A damaged cursor must not stop the source; starting live loses the gap, say so.
            logger.warning("ignoring unreadable Bluesky cursor file %s: %s", self.path, exc)
            return None

    def save(self, cursor: int, recent: Iterable[tuple[int, str]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "cursor": cursor,
            "saved_at": datetime.now(UTC).isoformat(),
            "recent": [[moment, key] for moment, key in recent],
        }
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(payload), encoding="utf-8")
        temporary.replace(self.path)
