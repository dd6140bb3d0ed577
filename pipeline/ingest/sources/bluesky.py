"""The live Bluesky source: every public post, through a Jetstream instance's ``/subscribe``.

Jetstream needs no account and no key. The source asks for ``app.bsky.feed.post`` only
(``wantedCollections``), optionally for chosen accounts only (``wantedDids``), and resumes with
``cursor`` (see :mod:`.bluesky_cursor`). It offers WebSocket permessage-deflate and never
Jetstream's own ``compress=true`` (zstd with a dictionary): offering both is refused by the server,
and deflate needs no dictionary file (docs/bluesky.md).

The cursor moves only with Kafka's acknowledgements, so the source must see the producer's sends:
:meth:`BlueskySource.acking` wraps a producer for :func:`pipeline.ingest.producer.produce`, which
sends each record as soon as it gets it. Call :meth:`BlueskySource.save_cursor` after the producer
flushed. Connections that drop or stall are reopened with exponential back-off and jitter, on the
next instance of the list when one does not answer.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.sync.client import connect

from pipeline.errors import TrendoffError
from pipeline.ingest.model import Post, Rejected
from pipeline.ingest.sources.bluesky_cursor import CursorStore, CursorTracker, RecentKeys
from pipeline.ingest.sources.bluesky_events import (
    BadEvent,
    HandleEvent,
    PostEvent,
    SkippedEvent,
    parse_event,
    parse_langs,
)
from pipeline.ingest.sources.bluesky_handles import (
    MAX_ACTORS_PER_CALL,
    AppViewResolver,
    HandleCache,
)
from pipeline.ingest.sources.bluesky_options import (
    MAX_WANTED_DIDS,
    BlueskyOptions,
    BlueskyStats,
    backoff_delay,
    parse_dids,
    parse_urls,
    subscribe_url,
)
from pipeline.settings import Settings

logger = logging.getLogger(__name__)

# How far Jetstream instances keep events; an older cursor starts at their oldest event.
LOOKBACK_US = 36 * 3600 * 1_000_000
MAX_MESSAGE_BYTES = 8 * 1024 * 1024  # larger frames close the connection (websockets' max_size)
_TICK_SECONDS = 0.25  # how often a quiet connection wakes to flush handles and check for stalls


class _Stalled(Exception):
    pass


@dataclass
class _Pending:
    record: Post | Rejected
    token: int | None


def open_bluesky_source(
    settings: Settings,
    *,
    jetstream_url: str | None = None,
    dids: str = "",
    langs: str = "",
    **tuning: Any,
) -> BlueskySource:
    """The source as ``trendoff produce --source bluesky`` configures it; ``tuning`` overrides
    :class:`BlueskyOptions` fields (tests use short back-offs)."""
    urls = parse_urls(jetstream_url if jetstream_url else settings.jetstream_url)
    options = BlueskyOptions(urls=urls, dids=parse_dids(dids), langs=parse_langs(langs), **tuning)
    return BlueskySource(
        options,
        CursorStore.for_namespace(settings.state_dir, settings.namespace),
        AppViewResolver(settings.bluesky_appview_url),
    )


class BlueskySource:
    name = "bluesky"

    def __init__(
        self,
        options: BlueskyOptions,
        store: CursorStore,
        resolver: AppViewResolver,
        *,
        handles: HandleCache | None = None,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rand: random.Random | None = None,
    ) -> None:
        if not options.urls:
            raise TrendoffError("no Jetstream URL", hint="set TRENDOFF_JETSTREAM_URL")
        if len(options.dids) > MAX_WANTED_DIDS:
            raise TrendoffError(f"Jetstream follows at most {MAX_WANTED_DIDS:,} accounts")
        self.options = options
        self.store = store
        self.resolver = resolver
        self.handles = handles or HandleCache()
        self.stats = BlueskyStats()
        self.tracker = CursorTracker()
        self.recent = RecentKeys()
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._rand = rand or random.Random()
        self._pending: list[_Pending] = []
        self._unresolved: set[str] = set()
        self._oldest_pending_at = 0.0
        self._token_for_send: int | None = None
        self._saved_cursor: int | None = None
        self._last_save = self._last_progress = time.monotonic()
        self._posts_at_last_progress = 0

    # --- Producer side -------------------------------------------------------------------------

    def acking(self, producer: Any) -> AckingProducer:
        return AckingProducer(producer, self)

    def take_send_token(self) -> int | None:
        token, self._token_for_send = self._token_for_send, None
        return token

    def save_cursor(self) -> int | None:
        """Store the cursor (and what was sent just before it); the cursor saved, if any."""
        cursor = self.tracker.cursor()
        if cursor is None:
            return None
        rewind_us = int(self.options.rewind_seconds * 1_000_000)
        # Resuming reads from cursor - rewind: what was sent since then must be recognised.
        recent = [(t, key) for t, key in self.recent.since(cursor - rewind_us) if t <= cursor]
        self.store.save(cursor, recent)
        self.recent.forget_before(cursor - 2 * rewind_us)
        self.stats.cursor = self._saved_cursor = cursor
        return cursor

    # --- Reading ---------------------------------------------------------------------------------

    def records(self) -> Generator[Post | Rejected, None, None]:
        saved = self.store.load()
        if saved is not None:
            self.tracker.handled(saved.cursor)
            for moment, key in saved.recent:
                self.recent.add(moment, key)
            self.stats.resumed_from = saved.cursor
            logger.info(
                "bluesky: resuming after cursor %d (saved %s)", saved.cursor, saved.saved_at
            )
        urls = list(self.options.urls)
        index, attempt = 0, 0
        try:
            while True:
                url = subscribe_url(urls[index % len(urls)], self.options.dids, self._resume_at())
                delivered = False
                try:
                    with connect(
                        url,
                        open_timeout=10,
                        close_timeout=2,
                        max_size=MAX_MESSAGE_BYTES,
                        compression="deflate",
                        user_agent_header="trendoff",
                    ) as connection:
                        self.stats.connections += 1
                        logger.info("bluesky: connected to %s", url)
                        last_message = time.monotonic()
                        while True:
                            try:
                                message = connection.recv(timeout=_TICK_SECONDS)
                            except TimeoutError:
                                if time.monotonic() - last_message > self.options.stall_seconds:
                                    raise _Stalled from None
                                yield from self._release(quiet=True)
                                self._housekeeping()
                                continue
                            last_message = time.monotonic()
                            delivered, attempt = True, 0
                            self._read(message)
                            yield from self._release(quiet=False)
                            self._housekeeping()
                except InvalidStatus as exc:
                    status = exc.response.status_code
                    if 400 <= status < 500 and status not in (408, 429):
                        raise TrendoffError(
                            f"the Jetstream at {urls[index % len(urls)]} refused the "
                            f"subscription (HTTP {status})",
                            hint="check TRENDOFF_JETSTREAM_URL and --dids",
                        ) from exc
                    reason = f"HTTP {status}"
                except InvalidURI as exc:
                    raise TrendoffError(f"not a WebSocket URL: {exc}") from exc
                except _Stalled:
                    self.stats.stalls += 1
                    reason = f"no message for {self.options.stall_seconds:g} s"
                except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError) as exc:
                    reason = f"{type(exc).__name__}: {exc}"
                if not delivered:
                    index += 1  # this instance did not answer: try the next one
                delay = backoff_delay(
                    attempt,
                    self.options.backoff_initial_seconds,
                    self.options.backoff_max_seconds,
                    self._rand,
                )
                attempt += 1
                self.stats.reconnects += 1
                logger.warning(
                    "bluesky: connection lost (%s); reconnecting in %.1f s (reconnect %d)",
                    reason,
                    delay,
                    self.stats.reconnects,
                )
                self._sleep(delay)
        finally:
            self.save_cursor()

    def _resume_at(self) -> int | None:
        # After a restart: the saved cursor. Within a run: the last event read (what was read but
        # not yet acknowledged is still in the producer or the handle queue). Either way a few
        # seconds earlier, since instances stamp their own times; RecentKeys drops what was sent.
        latest = self.stats.last_time_us
        if latest is None:
            latest = self.tracker.cursor()
        if latest is None:
            return None
        start = latest - int(self.options.rewind_seconds * 1_000_000)
        oldest_kept = int(self._wall_clock() * 1_000_000) - LOOKBACK_US
        if start < oldest_kept:
            self.stats.lookback_clamped = True
            logger.warning(
                "bluesky: cursor %d is older than the %d h Jetstream keeps; resuming from its "
                "oldest event, so posts in between are missing",
                start,
                LOOKBACK_US // 3_600_000_000,
            )
            start = oldest_kept
        return start

    def _read(self, message: str | bytes) -> None:
        event = parse_event(message, self.options.langs)
        self.stats.events += 1
        if isinstance(event, PostEvent):
            time_us, post = event.time_us, event.post
            self.stats.last_time_us = time_us
            if post.post_id in self.recent:
                self.stats.replayed_dropped += 1
            else:
                self.recent.add(time_us, post.post_id)
                self.stats.posts += 1
                self.stats.created_at_replaced += event.created_at_replaced
                if self.handles.get(post.author_id) is None and not self.resolver.gave_up_on(
                    post.author_id
                ):
                    self._unresolved.add(post.author_id)
                self._queue(post, self.tracker.begin(time_us))
            self.tracker.handled(time_us)
        elif isinstance(event, HandleEvent):
            self.stats.last_time_us = event.time_us
            self.handles.put(event.did, event.handle)
            self.stats.handles_from_identity += 1
            self.tracker.handled(event.time_us)
        elif isinstance(event, SkippedEvent):
            self.stats.last_time_us = event.time_us
            self.stats.skipped[event.what] += 1
            self.tracker.handled(event.time_us)
        else:
            self._read_bad(event)

    def _read_bad(self, event: BadEvent) -> None:
        time_us = event.time_us
        if time_us is None:  # no time: no cursor to move, and nothing to recognise it by later
            self.stats.dead_letters += 1
            self._queue(event.rejected, None)
            return
        self.stats.last_time_us = time_us
        key = "raw:" + hashlib.blake2b(event.rejected.raw, digest_size=12).hexdigest()
        if key in self.recent:
            self.stats.replayed_dropped += 1
        else:
            self.recent.add(time_us, key)
            self.stats.dead_letters += 1
            self._queue(event.rejected, self.tracker.begin(time_us))
        self.tracker.handled(time_us)

    def _queue(self, record: Post | Rejected, token: int | None) -> None:
        if not self._pending:
            self._oldest_pending_at = time.monotonic()
        self._pending.append(_Pending(record, token))

    def _release(self, *, quiet: bool) -> Iterator[Post | Rejected]:
        """Yield queued records in read order once their authors' handles are known (or given
        up on): at once when every handle is cached, otherwise in batches of lookups."""
        if not self._pending:
            return
        if self._unresolved:
            waited = time.monotonic() - self._oldest_pending_at
            if not (
                len(self._unresolved) >= MAX_ACTORS_PER_CALL
                or waited >= self.options.handle_wait_seconds
                or (quiet and waited >= _TICK_SECONDS)
            ):
                return
            self._look_up_handles()
        pending, self._pending = self._pending, []
        for item in pending:
            record = item.record
            if isinstance(record, Post):
                handle = self.handles.get(record.author_id)
                if handle is not None:
                    record = record._replace(author_handle=handle)
            self._token_for_send = item.token
            yield record
        self._token_for_send = None

    def _look_up_handles(self) -> None:
        dids = sorted(self._unresolved)
        self._unresolved.clear()
        calls, failures = self.resolver.calls, self.resolver.failures
        for did, handle in self.resolver.resolve(dids).items():
            self.handles.put(did, handle)
        self.stats.handle_lookups += self.resolver.calls - calls
        self.stats.handle_lookup_failures += self.resolver.failures - failures

    def _housekeeping(self) -> None:
        now = time.monotonic()
        if now - self._last_save >= self.options.save_every_seconds:
            self._last_save = now
            self.save_cursor()
        if now - self._last_progress >= self.options.progress_every_seconds:
            seconds = now - self._last_progress
            rate = (self.stats.posts - self._posts_at_last_progress) / seconds
            lag = (
                self._wall_clock() - self.stats.last_time_us / 1_000_000
                if self.stats.last_time_us is not None
                else float("nan")
            )
            logger.info(
                "bluesky: %.1f posts/s, %.1f s behind the firehose, %d reconnects, "
                "%d in flight, cursor %s",
                rate,
                lag,
                self.stats.reconnects,
                self.tracker.in_flight,
                self._saved_cursor,
            )
            self._last_progress, self._posts_at_last_progress = now, self.stats.posts


class AckingProducer:
    """A Kafka producer whose every send of a source record moves the cursor once acknowledged.
    Anything else (flush, close, partitions_for) goes to the wrapped producer.

    A record whose delivery failed is sent again by the producer's outage handling
    (:mod:`pipeline.ingest.outage`) with the very same value object; it keeps the token it was
    first sent with, so the cursor never passes a record that Kafka has not taken."""

    def __init__(self, producer: Any, source: BlueskySource) -> None:
        self._producer = producer
        self._source = source
        # id(value) -> (value, token) of failed sends; the value is held so its id stays unique.
        self._failed: dict[int, tuple[Any, int]] = {}

    def send(self, topic: str, *args: Any, **kwargs: Any) -> Any:
        future = self._producer.send(topic, *args, **kwargs)
        value = kwargs.get("value")
        sent_before = self._failed.pop(id(value), None)
        token = sent_before[1] if sent_before is not None else self._source.take_send_token()
        if token is not None:
            future.add_callback(self._acknowledged, token)
            future.add_errback(self._send_failed, value, token)
        return future

    def _acknowledged(self, token: int, _metadata: object) -> None:
        self._source.tracker.finish(token)

    def _send_failed(self, value: Any, token: int, _error: Exception) -> None:
        self._failed[id(value)] = (value, token)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._producer, name)
