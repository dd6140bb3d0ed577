"""The Bluesky source against a fake Jetstream and a fake AppView on 127.0.0.1 (real WebSocket and
HTTP servers): drops, stalls, fail-over, resume, handles, and the cursor's link to acknowledgements.
Kafka itself is in tests/integration/test_bluesky_kafka.py; here acknowledgements are simulated."""

from __future__ import annotations

import itertools
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import TrendoffError
from pipeline.ingest.model import Post, Rejected
from pipeline.ingest.sources.bluesky import BlueskySource
from pipeline.ingest.sources.bluesky_cursor import CursorStore, CursorTracker, RecentKeys
from pipeline.ingest.sources.bluesky_events import BadEvent, parse_event
from pipeline.ingest.sources.bluesky_handles import AppViewResolver, HandleCache
from pipeline.ingest.sources.bluesky_options import (
    BlueskyOptions,
    backoff_delay,
    parse_dids,
    parse_urls,
    subscribe_url,
)
from tests.fakes.jetstream import FakeAppView, FakeJetstream, SampleStream, sample_stream


class HeldFuture:
    def __init__(self) -> None:
        self.callbacks: list[tuple[Any, tuple[Any, ...]]] = []
        self.errbacks: list[tuple[Any, tuple[Any, ...]]] = []

    def add_callback(self, function: Any, *args: Any) -> HeldFuture:
        self.callbacks.append((function, args))
        return self

    def add_errback(self, function: Any, *args: Any) -> HeldFuture:
        self.errbacks.append((function, args))
        return self

    def fail(self) -> None:
        for function, args in self.errbacks:
            function(*args, TimeoutError("expired"))

    def acknowledge(self) -> None:
        for function, args in self.callbacks:
            function(*args, "metadata")


class HeldProducer:
    """Records sends; acknowledges them only when told."""

    def __init__(self) -> None:
        self.futures: list[HeldFuture] = []
        self.sent: list[tuple[str, Any]] = []

    def send(self, topic: str, **kwargs: Any) -> HeldFuture:
        self.sent.append((topic, kwargs.get("value")))
        self.futures.append(HeldFuture())
        return self.futures[-1]

    def acknowledge_all(self) -> None:
        for future in self.futures:
            future.acknowledge()


def make_source(urls: list[str], store: Path, appview: str, **tuning: Any) -> BlueskySource:
    options = BlueskyOptions(
        urls=urls,
        backoff_initial_seconds=0.02,
        backoff_max_seconds=0.1,
        save_every_seconds=0.05,
        **tuning,
    )
    return BlueskySource(
        options, CursorStore(store), AppViewResolver(appview, min_interval=0.0, timeout=2.0)
    )


def send_all(source: BlueskySource, count: int, producer: HeldProducer) -> list[Post | Rejected]:
    """What ``produce`` does with a source's records: send each as soon as it arrives."""
    acking = source.acking(producer)
    taken: list[Post | Rejected] = []
    records = source.records()
    for record in itertools.islice(records, count):
        acking.send("posts" if isinstance(record, Post) else "dlq", value=record)
        taken.append(record)
    records.close()
    return taken


@pytest.fixture
def stream() -> SampleStream:
    return sample_stream(400)


@pytest.fixture
def appview(stream: SampleStream) -> Iterator[FakeAppView]:
    with FakeAppView(stream.handles) as fake:
        yield fake


def total(stream: SampleStream) -> int:
    return len(stream.expected_post_ids) + stream.expected_dead_letters


def post_ids(records: list[Post | Rejected]) -> list[str]:
    return [record.post_id for record in records if isinstance(record, Post)]


def test_drops_mid_stream_lose_and_double_nothing(
    stream: SampleStream, appview: FakeAppView, tmp_path: Path
) -> None:
    with FakeJetstream(stream.events, drops=[120, 1, 200]) as jetstream:
        source = make_source([jetstream.url], tmp_path / "c.json", appview.url)
        records = send_all(source, total(stream), HeldProducer())
    assert post_ids(records) == stream.expected_post_ids
    assert sum(isinstance(r, Rejected) for r in records) == stream.expected_dead_letters
    assert source.stats.reconnects == 3
    assert source.stats.replayed_dropped > 0  # the rewind re-read posts, and they were dropped
    first, *resumed = jetstream.requests
    assert "cursor" not in first and first["wantedCollections"] == ["app.bsky.feed.post"]
    assert all("cursor" in query and "compress" not in query for query in resumed)


def test_handles_come_from_identity_events_and_the_appview(
    stream: SampleStream, appview: FakeAppView, tmp_path: Path
) -> None:
    with FakeJetstream(stream.events) as jetstream:
        source = make_source([jetstream.url], tmp_path / "c.json", appview.url)
        records = send_all(source, total(stream), HeldProducer())
    posts = [r for r in records if isinstance(r, Post)]
    assert all(post.author_handle == stream.handles[post.author_id] for post in posts)
    assert appview.calls and all(len(actors) <= 25 for actors in appview.calls)
    assert source.stats.handles_from_identity > 0


def test_when_the_appview_fails_the_did_stands_in(
    stream: SampleStream, appview: FakeAppView, tmp_path: Path
) -> None:
    appview.failing = True
    events = [e for e in stream.events if '"identity"' not in e.wire]
    with FakeJetstream(events) as jetstream:
        source = make_source([jetstream.url], tmp_path / "c.json", appview.url)
        records = send_all(source, total(stream), HeldProducer())
    posts = [r for r in records if isinstance(r, Post)]
    assert post_ids(records) == stream.expected_post_ids
    assert all(post.author_handle == post.author_id for post in posts)
    assert source.stats.handle_lookup_failures > 0
    # A DID whose lookup failed is not asked about again for a while.
    asked = [did for actors in appview.calls for did in actors]
    assert len(asked) == len(set(asked))


def test_a_stalled_connection_is_dropped_and_reopened(
    stream: SampleStream, appview: FakeAppView, tmp_path: Path
) -> None:
    with FakeJetstream(stream.events, stalls=[150]) as jetstream:
        source = make_source([jetstream.url], tmp_path / "c.json", appview.url, stall_seconds=0.5)
        records = send_all(source, total(stream), HeldProducer())
    assert post_ids(records) == stream.expected_post_ids
    assert source.stats.stalls == 1 and source.stats.reconnects == 1


def test_fails_over_to_the_next_instance(
    stream: SampleStream, appview: FakeAppView, tmp_path: Path
) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        dead = f"ws://127.0.0.1:{unused.getsockname()[1]}/subscribe"
    with FakeJetstream(stream.events) as jetstream:
        source = make_source([dead, jetstream.url], tmp_path / "c.json", appview.url)
        records = send_all(source, total(stream), HeldProducer())
    assert post_ids(records) == stream.expected_post_ids
    assert source.stats.reconnects == 1 and source.stats.connections == 1


def test_wanted_dids_are_asked_for_and_honoured(
    stream: SampleStream, appview: FakeAppView, tmp_path: Path
) -> None:
    chosen = sorted(stream.posts_by_did)[:2]
    expected = [pid for pid in stream.expected_post_ids if pid.split("/")[2] in chosen]
    bad = sum(
        isinstance(parse_event(event.wire), BadEvent)
        for event in stream.events
        if event.did in chosen
    )
    with FakeJetstream(stream.events) as jetstream:
        source = make_source(
            [jetstream.url], tmp_path / "c.json", appview.url, dids=chosen, langs=frozenset()
        )
        records = send_all(source, len(expected) + bad, HeldProducer())
    assert jetstream.requests[0]["wantedDids"] == chosen
    assert post_ids(records) == expected


def test_a_refused_subscription_is_an_error_not_a_retry_loop(
    stream: SampleStream, appview: FakeAppView, tmp_path: Path
) -> None:
    # The real server answers 400 to compress=true with permessage-deflate offered; so does
    # the fake. The source never asks for compress=true itself (see the drop test).
    with FakeJetstream(stream.events) as jetstream:
        source = make_source([jetstream.url + "?compress=true"], tmp_path / "c.json", appview.url)
        with pytest.raises(TrendoffError, match="HTTP 400"):
            next(source.records())


def test_restart_resumes_after_the_acknowledged_cursor_exactly(
    stream: SampleStream, appview: FakeAppView, tmp_path: Path
) -> None:
    store = tmp_path / "c.json"
    with FakeJetstream(stream.events) as jetstream:
        first = make_source([jetstream.url], store, appview.url)
        producer = HeldProducer()
        part_one = send_all(first, 150, producer)
        producer.acknowledge_all()
        first.save_cursor()
        second = make_source([jetstream.url], store, appview.url)
        part_two = send_all(second, total(stream) - 150, HeldProducer())
    assert post_ids(part_one) + post_ids(part_two) == stream.expected_post_ids
    assert second.stats.resumed_from == first.stats.cursor
    assert second.stats.replayed_dropped > 0
    assert int(jetstream.requests[1]["cursor"][0]) == first.stats.cursor - 3_000_000


def test_the_cursor_waits_for_every_acknowledgement(
    stream: SampleStream, appview: FakeAppView, tmp_path: Path
) -> None:
    store = CursorStore(tmp_path / "c.json")
    with FakeJetstream(stream.events) as jetstream:
        source = make_source([jetstream.url], store.path, appview.url)
        producer = HeldProducer()
        send_all(source, 100, producer)
    assert source.tracker.cursor() is None or source.tracker.cursor() < stream.events[0].time_us
    early = store.load()  # nothing acknowledged: nothing saved past the first event
    assert early is None or early.cursor < stream.events[0].time_us
    producer.futures[0].acknowledge()
    producer.futures[2].acknowledge()  # out of order: the second send still holds the cursor
    after_first = source.tracker.cursor()
    second_post = stream.expected_post_ids[1]
    second_time = next(e.time_us for e in stream.events if '"create"' in e.wire and
                       second_post.rsplit("/", 1)[1] in e.wire)  # fmt: skip
    assert after_first is not None and after_first < second_time
    producer.acknowledge_all()
    cursor = source.save_cursor()
    last_sent = stream.expected_post_ids[98].rsplit("/", 1)[1]  # 99 posts and a dead letter
    assert cursor is not None
    assert cursor >= next(e.time_us for e in stream.events if last_sent in e.wire)
    saved = store.load()
    assert saved is not None and saved.cursor == cursor and saved.recent
    # Memory: ids more than two rewinds before the cursor are forgotten once it is saved.
    assert all(moment >= cursor - 6_000_000 for moment, _ in source.recent.since(0))
    assert all(moment >= cursor - 3_000_000 for moment, _ in saved.recent)


def test_a_record_sent_again_keeps_its_own_cursor_token(
    stream: SampleStream, appview: FakeAppView, tmp_path: Path
) -> None:
    """After an outage the producer sends a failed record again, between newer records: the
    cursor must wait for that record, not for whichever record was read last."""
    with FakeJetstream(stream.events) as jetstream:
        source = make_source([jetstream.url], tmp_path / "c.json", appview.url)
        producer = HeldProducer()
        acking = source.acking(producer)
        records = source.records()
        first = next(records)
        acking.send("posts", value=first)
        producer.futures[0].fail()  # its batch expired while Kafka was away
        second = next(records)
        acking.send("posts", value=first)  # sent again first, as PatientSender does
        acking.send("posts", value=second)
        records.close()
    producer.futures[2].acknowledge()  # the newer record is taken, the first is not:
    held = source.tracker.cursor()  # the cursor may not pass the first
    producer.futures[1].acknowledge()
    moved = source.tracker.cursor()
    assert moved is not None and (held is None or held < moved)


def test_tracker_recent_keys_and_store(tmp_path: Path) -> None:
    tracker = CursorTracker()
    assert tracker.cursor() is None
    token = tracker.begin(10)
    tracker.handled(10)
    tracker.handled(20)
    assert tracker.cursor() == 9
    tracker.finish(token)
    assert tracker.cursor() == 20
    keys = RecentKeys(limit=3)
    for moment, key in [(0, "a"), (50, "b"), (150, "c")]:
        keys.add(moment, key)
    keys.forget_before(50)
    assert "a" not in keys and "b" in keys and "c" in keys
    keys.add(151, "d")
    keys.add(152, "e")
    assert len(keys) == 3 and "b" not in keys
    assert keys.since(151) == [(151, "d"), (152, "e")]
    store = CursorStore(tmp_path / "deep" / "c.json")
    store.save(123, [(120, "x")])
    saved = store.load()
    assert saved is not None and saved.cursor == 123 and saved.recent == [(120, "x")]
    store.path.write_text("{broken")
    assert store.load() is None


def test_small_helpers() -> None:
    url = subscribe_url("wss://h.example/subscribe?cursor=5&x=1", ["did:plc:a"], 99)
    assert url == (
        "wss://h.example/subscribe?x=1&wantedCollections=app.bsky.feed.post"
        "&wantedDids=did%3Aplc%3Aa&cursor=99"
    )
    assert parse_urls(" ws://a/subscribe , wss://b/subscribe") == [
        "ws://a/subscribe",
        "wss://b/subscribe",
    ]
    with pytest.raises(TrendoffError):
        parse_urls("http://a/subscribe")
    assert parse_dids("did:plc:a, did:plc:a,did:web:b.example") == [
        "did:plc:a",
        "did:web:b.example",
    ]
    with pytest.raises(TrendoffError):
        parse_dids("alice.bsky.social")
    import random

    delays = [backoff_delay(n, 1.0, 60.0, random.Random(n)) for n in range(10)]
    assert 0.5 <= delays[0] <= 1.0 and 4.0 <= delays[3] <= 8.0
    assert all(30.0 <= delay <= 60.0 for delay in delays[6:])
    cache = HandleCache(size=2)
    cache.put("a", "1")
    cache.put("b", "2")
    cache.get("a")
    cache.put("c", "3")
    assert cache.get("b") is None and cache.get("a") == "1" and len(cache) == 2


def test_a_cursor_older_than_the_lookback_is_clamped_and_said(
    stream: SampleStream, appview: FakeAppView, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import time

    store = CursorStore(tmp_path / "c.json")
    forty_hours_ago = int((time.time() - 40 * 3600) * 1_000_000)
    store.save(forty_hours_ago, [])
    with FakeJetstream(stream.events) as jetstream:
        source = make_source([jetstream.url], store.path, appview.url)
        records = send_all(source, total(stream), HeldProducer())
    asked = int(jetstream.requests[0]["cursor"][0])
    assert asked > forty_hours_ago + 3 * 3600 * 1_000_000  # moved up to the 36 h Jetstream keeps
    assert asked <= int((time.time() - 36 * 3600) * 1_000_000)
    assert source.stats.lookback_clamped
    assert "older than the 36 h" in caplog.text
    assert post_ids(records) == stream.expected_post_ids


def test_a_handle_change_keeps_the_did_as_the_account_key(tmp_path: Path) -> None:
    import time

    from tests.fakes.jetstream import identity_event, post_event

    did = "did:plc:renamed"
    now = int(time.time() * 1_000_000)
    events = [
        identity_event(did, "old.bsky.social", now - 4_000_000),
        post_event(did, "3k1", now - 3_000_000, "before the change"),
        identity_event(did, "new.bsky.social", now - 2_000_000),
        post_event(did, "3k2", now - 1_000_000, "after the change"),
    ]
    with FakeAppView({}) as appview, FakeJetstream(events) as jetstream:
        source = make_source([jetstream.url], tmp_path / "c.json", appview.url)
        before, after = send_all(source, 2, HeldProducer())
    assert isinstance(before, Post) and isinstance(after, Post)
    assert (before.author_id, before.author_handle) == (did, "old.bsky.social")
    assert (after.author_id, after.author_handle) == (did, "new.bsky.social")
    assert appview.calls == []  # identity events made the lookups unnecessary


def test_ids_are_forgotten_two_rewinds_behind_the_saved_cursor(
    stream: SampleStream, appview: FakeAppView, tmp_path: Path
) -> None:
    with FakeJetstream(stream.events) as jetstream:
        source = make_source([jetstream.url], tmp_path / "c.json", appview.url, rewind_seconds=0.5)
        producer = HeldProducer()
        send_all(source, total(stream), producer)
    producer.acknowledge_all()
    cursor = source.save_cursor()
    assert cursor is not None
    kept = source.recent.since(0)
    assert kept and all(moment >= cursor - 1_000_000 for moment, _ in kept)
    assert len(kept) < len(stream.expected_post_ids) / 2


def test_the_source_fits_the_sources_interface(tmp_path: Path) -> None:
    from pipeline.ingest.sources import Source

    source = make_source(["ws://127.0.0.1:1/subscribe"], tmp_path / "c.json", "http://127.0.0.1:1")
    assert isinstance(source, Source) and source.name == "bluesky"
