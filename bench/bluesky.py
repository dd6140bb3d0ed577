"""Bluesky source throughput: a fake Jetstream at full speed -> the source -> Kafka.

    .venv/bin/python bench/bluesky.py [--posts N] [--accounts N]

Needs the local stack (`trendoff stack up`). The fake Jetstream (tests/fakes/jetstream.py) runs in
its own process and sends every event as fast as the connection takes them, with
permessage-deflate as the real instances negotiate it; a fake AppView answers handle lookups. The
run uses a fresh namespace, dropped after. Handles start known (a warm cache, as after the first
minutes of a run) unless ``--cold``. Prints posts/s end to end (read, map, resolve handles,
encode, send, flush), and what permessage-deflate saves on these events against their plain size.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
import uuid
import zlib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests package, for the fakes

from pipeline.admin import drop_namespace, initialise
from pipeline.ingest.producer import build_producer, produce
from pipeline.ingest.sources import pacing
from pipeline.ingest.sources.bluesky import open_bluesky_source
from pipeline.settings import Settings
from tests.fakes.jetstream import FakeAppView, FakeJetstream, sample_stream


def serve(posts: int, accounts: int, ports: Any, stop: Any) -> None:
    stream = sample_stream(posts, accounts=accounts, bad_every=0)
    with FakeJetstream(stream.events) as jetstream:
        ports.put(jetstream.port)
        stop.wait()


def deflate_ratio(wires: list[str]) -> tuple[int, int]:
    """Plain and permessage-deflate sizes (one compressor for the connection, as with context
    takeover; each message ends in a sync flush, as RFC 7692 asks)."""
    compressor = zlib.compressobj(wbits=-15)
    plain = compressed = 0
    for wire in wires:
        data = wire.encode()
        plain += len(data)
        compressed += len(compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)) - 4
    return plain, compressed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=50_000)
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument(
        "--cold",
        action="store_true",
        help="start with no handles known (lookups, 25 a call, 5 calls/s, then dominate)",
    )
    args = parser.parse_args()

    context = multiprocessing.get_context("spawn")
    ports, stop = context.Queue(), context.Event()
    server = context.Process(target=serve, args=(args.posts, args.accounts, ports, stop))
    server.start()
    port = ports.get(timeout=120)
    stream = sample_stream(args.posts, accounts=args.accounts, bad_every=0)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        namespace=f"bench_bsky_{uuid.uuid4().hex[:8]}",
        state_dir=Path(tempfile.mkdtemp(prefix="bench-bluesky-")),
    )
    initialise(settings)
    try:
        with FakeAppView(stream.handles) as appview:
            settings = settings.model_copy(update={"bluesky_appview_url": appview.url})
            source = open_bluesky_source(settings, jetstream_url=f"ws://127.0.0.1:{port}/subscribe")
            if not args.cold:  # steady state: the accounts seen before are known
                for did, handle in stream.handles.items():
                    source.handles.put(did, handle)
            kafka = build_producer(settings)
            records = source.records()
            started = time.perf_counter()
            summary = produce(
                settings, pacing.limit(records, args.posts), producer=source.acking(kafka)
            )
            seconds = time.perf_counter() - started
            records.close()
            source.save_cursor()
            kafka.close()
        plain, compressed = deflate_ratio([event.wire for event in stream.events])
        print(f"posts produced   {summary.produced:,} in {seconds:.2f} s")
        print(f"end to end       {summary.produced / seconds:,.0f} posts/s")
        print(f"handle lookups   {source.stats.handle_lookups} calls")
        print(
            f"permessage-deflate: {plain / 1e6:.1f} MB of events -> {compressed / 1e6:.1f} MB "
            f"({compressed / plain:.0%})"
        )
    finally:
        stop.set()
        server.join(30)
        drop_namespace(settings)


if __name__ == "__main__":
    main()
