"""The Bluesky source's options, counters and small pure helpers: the subscription URL, parsing
of the command-line lists, the back-off delays."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pipeline.errors import TrendoffError
from pipeline.ingest.sources.bluesky_events import POST_COLLECTION

MAX_WANTED_DIDS = 10_000  # Jetstream's limit


@dataclass(frozen=True)
class BlueskyOptions:
    urls: Sequence[str]
    dids: Sequence[str] = ()
    langs: frozenset[str] = frozenset()
    rewind_seconds: float = 3.0
    stall_seconds: float = 30.0
    backoff_initial_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    handle_wait_seconds: float = 1.0
    save_every_seconds: float = 2.0
    progress_every_seconds: float = 10.0


@dataclass
class BlueskyStats:
    events: int = 0
    posts: int = 0
    dead_letters: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    replayed_dropped: int = 0
    created_at_replaced: int = 0
    handles_from_identity: int = 0
    handle_lookups: int = 0
    handle_lookup_failures: int = 0
    connections: int = 0
    reconnects: int = 0
    stalls: int = 0
    lookback_clamped: bool = False
    resumed_from: int | None = None
    cursor: int | None = None
    last_time_us: int | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "events": self.events,
            "posts": self.posts,
            "dead_letters": self.dead_letters,
            "skipped": dict(sorted(self.skipped.items())),
            "replayed_dropped": self.replayed_dropped,
            "created_at_replaced": self.created_at_replaced,
            "handles_from_identity": self.handles_from_identity,
            "handle_lookups": self.handle_lookups,
            "handle_lookup_failures": self.handle_lookup_failures,
            "connections": self.connections,
            "reconnects": self.reconnects,
            "stalls": self.stalls,
            "lookback_clamped": self.lookback_clamped,
            "resumed_from": self.resumed_from,
            "cursor": self.cursor,
        }


def subscribe_url(base: str, dids: Sequence[str], cursor: int | None) -> str:
    """``base`` with the Jetstream query: posts only, the wanted DIDs, the cursor."""
    parts = urlsplit(base)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("wantedDids", "cursor")]
    if not any(k == "wantedCollections" for k, _ in query):
        query.append(("wantedCollections", POST_COLLECTION))
    query += [("wantedDids", did) for did in dids]
    if cursor is not None:
        query.append(("cursor", str(cursor)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def parse_urls(text: str) -> list[str]:
    urls = [part.strip() for part in text.split(",") if part.strip()]
    bad = [url for url in urls if urlsplit(url).scheme not in ("ws", "wss")]
    if not urls or bad:
        raise TrendoffError(
            f"not Jetstream WebSocket URLs: {', '.join(bad) or repr(text)}",
            hint="e.g. wss://jetstream2.us-east.bsky.network/subscribe, comma-separated",
        )
    return urls


def parse_dids(text: str) -> list[str]:
    dids = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    bad = [did for did in dids if not did.startswith("did:") or len(did) > 2048]
    if bad:
        raise TrendoffError(
            f"not DIDs: {', '.join(bad[:5])}",
            hint="--dids takes account DIDs like did:plc:z72i7hdynmk6r22z27h6tvur",
        )
    return dids


def backoff_delay(attempt: int, initial: float, maximum: float, rand: random.Random) -> float:
    """Exponential back-off with jitter: between half and all of ``initial * 2**attempt``."""
    ceiling = min(maximum, initial * 2 ** min(attempt, 30))
    return rand.uniform(ceiling / 2, ceiling)
