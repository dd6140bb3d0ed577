"""A fake Jetstream (``/subscribe``, v1) and a fake Bluesky AppView, on 127.0.0.1, for tests and
bench/bluesky.py.

The Jetstream is a real WebSocket server (the ``websockets`` library). It serves a fixed list of
events shaped as Jetstream's documentation describes them (written here, no recorded data),
honours ``cursor`` (events with ``time_us`` at or after it), ``wantedDids`` and
``wantedCollections``, refuses ``compress=true`` together with a permessage-deflate offer (HTTP
400, as the real server does), and can drop a connection after N messages, go quiet, or be
stopped and restarted on the same port. The AppView answers ``app.bsky.actor.getProfiles``.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

POST = "app.bsky.feed.post"
LIKE = "app.bsky.feed.like"


@dataclass(frozen=True)
class FakeEvent:
    time_us: int
    did: str
    wire: str  # the message as sent
    collection: str | None = None  # commit events only


def _iso(time_us: int) -> str:
    return datetime.fromtimestamp(time_us / 1e6, UTC).isoformat().replace("+00:00", "Z")


def post_event(
    did: str,
    rkey: str,
    time_us: int,
    text: str,
    *,
    langs: Sequence[str] = ("en",),
    tags: Sequence[str] = (),
    mentions: Sequence[str] = (),
    reply: bool = False,
    quote: bool = False,
    created_at: str | None = None,
) -> FakeEvent:
    record: dict[str, Any] = {
        "$type": POST,
        "text": text,
        "createdAt": created_at or _iso(time_us - 150_000),
        "langs": list(langs),
    }
    features = [{"$type": "app.bsky.richtext.facet#tag", "tag": tag} for tag in tags] + [
        {"$type": "app.bsky.richtext.facet#mention", "did": m} for m in mentions
    ]
    if features:
        record["facets"] = [
            {"index": {"byteStart": 0, "byteEnd": 1}, "features": [feature]} for feature in features
        ]
    if reply:
        parent = {"cid": "bafyparent", "uri": f"at://did:plc:other/{POST}/3parent"}
        record["reply"] = {"parent": parent, "root": parent}
    if quote:
        record["embed"] = {
            "$type": "app.bsky.embed.record",
            "record": {"cid": "bafyquoted", "uri": f"at://did:plc:other/{POST}/3quoted"},
        }
    event = {
        "did": did,
        "time_us": time_us,
        "kind": "commit",
        "commit": {
            "rev": f"rev{time_us}",
            "operation": "create",
            "collection": POST,
            "rkey": rkey,
            "record": record,
            "cid": f"bafy{rkey}",
        },
    }
    return FakeEvent(time_us, did, json.dumps(event), POST)


def delete_event(did: str, rkey: str, time_us: int, collection: str = POST) -> FakeEvent:
    event = {
        "did": did,
        "time_us": time_us,
        "kind": "commit",
        "commit": {"rev": f"rev{time_us}", "operation": "delete", "collection": collection,
                   "rkey": rkey},
    }  # fmt: skip
    return FakeEvent(time_us, did, json.dumps(event), collection)


def like_event(did: str, rkey: str, time_us: int) -> FakeEvent:
    event = {
        "did": did,
        "time_us": time_us,
        "kind": "commit",
        "commit": {"rev": f"rev{time_us}", "operation": "create", "collection": LIKE,
                   "rkey": rkey, "record": {"$type": LIKE, "createdAt": _iso(time_us)}},
    }  # fmt: skip
    return FakeEvent(time_us, did, json.dumps(event), LIKE)


def identity_event(did: str, handle: str, time_us: int) -> FakeEvent:
    event = {
        "did": did,
        "time_us": time_us,
        "kind": "identity",
        "identity": {"did": did, "handle": handle, "seq": time_us // 1000, "time": _iso(time_us)},
    }
    return FakeEvent(time_us, did, json.dumps(event))


def account_event(did: str, time_us: int, active: bool = True) -> FakeEvent:
    event = {
        "did": did,
        "time_us": time_us,
        "kind": "account",
        "account": {"active": active, "did": did, "seq": time_us // 1000, "time": _iso(time_us)},
    }
    return FakeEvent(time_us, did, json.dumps(event))


def raw_event(time_us: int, did: str, wire: str) -> FakeEvent:
    return FakeEvent(time_us, did, wire)


WORDS = ["tea", "coffee", "matcha", "espresso", "latte", "water", "juice", "soda", "milk",
         "morning", "cup", "pot", "green", "black", "iced", "hot", "great", "today"]  # fmt: skip


@dataclass
class SampleStream:
    """A stream of events and what a correct consumer makes of it."""

    events: list[FakeEvent]
    handles: dict[str, str]  # DID -> handle, as the AppView knows them
    expected_post_ids: list[str]  # in stream order
    expected_dead_letters: int
    posts_by_did: dict[str, list[str]] = field(default_factory=dict)


def sample_stream(
    posts: int,
    *,
    accounts: int = 40,
    seed: int = 7,
    bad_every: int = 50,
    start_us: int | None = None,
) -> SampleStream:
    """``posts`` post creates among deletes, likes, identity and account events, and (every
    ``bad_every`` posts) a malformed message of one of four kinds. Times start at ``start_us``
    (default: ten minutes ago, well inside Jetstream's 36-hour lookback)."""
    rand = random.Random(seed)
    dids = [f"did:plc:fake{n:04d}" for n in range(accounts)]
    handles = {did: f"user{n}.bsky.social" for n, did in enumerate(dids)}
    events: list[FakeEvent] = []
    expected: list[str] = []
    by_did: dict[str, list[str]] = {}
    bad = 0
    moment = start_us if start_us is not None else int((time.time() - 600) * 1_000_000)
    for n in range(posts):
        moment += rand.randint(1, 40_000)
        did = rand.choice(dids)
        rkey = f"3k{n:08d}"
        text = " ".join(rand.choices(WORDS, k=rand.randint(2, 9)))
        tags = rand.sample(WORDS, k=rand.randint(0, 2))
        events.append(
            post_event(did, rkey, moment, f"{text} " + " ".join(f"#{t}" for t in tags),
                       tags=tags, reply=n % 5 == 0, quote=n % 7 == 0)
        )  # fmt: skip
        expected.append(f"at://{did}/{POST}/{rkey}")
        by_did.setdefault(did, []).append(expected[-1])
        if n % 9 == 0:
            moment += 7
            events.append(like_event(did, f"3l{n:08d}", moment))
        if n % 13 == 0:
            moment += 7
            events.append(delete_event(did, f"3k{max(n - 3, 0):08d}", moment))
        if n % 17 == 0:
            moment += 7
            events.append(identity_event(did, handles[did], moment))
        if n % 19 == 0:
            moment += 7
            events.append(account_event(did, moment))
        if bad_every and n % bad_every == bad_every - 1:
            moment += 7
            bad += 1
            kind = bad % 4
            if kind == 0:
                wire = (
                    '{"did": "'
                    + did
                    + '", "time_us": '
                    + str(moment)
                    + ', "kind": "commit", "commit": {'
                )
            elif kind == 1:
                wire = json.dumps({"did": did, "time_us": moment, "kind": "mystery"})
            elif kind == 2:
                wire = json.dumps(
                    {
                        "did": did,
                        "time_us": moment,
                        "kind": "commit",
                        "commit": {"operation": "create", "collection": POST, "rkey": f"3x{n}"},
                    }
                )
            else:
                wire = json.dumps(
                    {
                        "did": did,
                        "time_us": moment,
                        "kind": "commit",
                        "commit": {
                            "operation": "create",
                            "collection": POST,
                            "rkey": f"3y{n}",
                            "record": {"text": 42},
                        },
                    }
                )
            events.append(raw_event(moment, did, wire))  # fmt: skip
    return SampleStream(events, handles, expected, bad, by_did)


class FakeJetstream:
    """Serves ``events`` to every connection, from its cursor on. ``drops``: the n-th connection
    (from 0) is closed after ``drops[n]`` messages, and goes quiet (open, sending nothing) after
    ``stalls[n]``. ``then``: what a connection does after the
    last event: ``hold`` (stay open and quiet, like a live tail) or ``close``."""

    def __init__(
        self,
        events: Iterable[FakeEvent],
        *,
        drops: Sequence[int | None] = (),
        stalls: Sequence[int | None] = (),
        then: str = "hold",
        port: int = 0,
    ) -> None:
        self.events = sorted(events, key=lambda event: event.time_us)
        self.drops = list(drops)
        self.stalls = list(stalls)
        self.then = then
        self.port = port
        self.requests: list[dict[str, list[str]]] = []
        self.sent = 0
        self._lock = threading.Lock()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/subscribe"

    def start(self) -> FakeJetstream:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._stopping.clear()
        self._server = serve(
            self._handle, sock=listener, process_request=self._check_request, max_size=2**20
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(10)
        self._server = self._thread = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> FakeJetstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        query = parse_qs(urlsplit(request.path).query)
        offered = request.headers.get("Sec-WebSocket-Extensions") or ""
        if query.get("compress") == ["true"] and "permessage-deflate" in offered:
            return Response(
                HTTPStatus.BAD_REQUEST, "Bad Request", Headers(),
                b"compress=true and permessage-deflate cannot be used together",
            )  # fmt: skip
        return None

    def _handle(self, connection: ServerConnection) -> None:
        query = parse_qs(urlsplit(connection.request.path).query)  # type: ignore[union-attr]
        with self._lock:
            number = len(self.requests)
            self.requests.append(query)
        drop_after = self.drops[number] if number < len(self.drops) else None
        stall_after = self.stalls[number] if number < len(self.stalls) else None
        cursor = int(query["cursor"][0]) if "cursor" in query else None
        dids = set(query.get("wantedDids", []))
        collections = set(query.get("wantedCollections", []))
        sent = 0
        for event in self.events:
            if cursor is not None and event.time_us < cursor:
                continue
            if dids and event.did not in dids:
                continue
            if collections and event.collection is not None and event.collection not in collections:
                continue
            if drop_after is not None and sent >= drop_after:
                connection.close(1011, "fake drop")
                return
            if stall_after is not None and sent >= stall_after:
                break
            connection.send(event.wire)
            sent += 1
            with self._lock:
                self.sent += 1
        if self.then == "close" and stall_after is None:
            connection.close()
            return
        while not self._stopping.is_set():  # a quiet live tail, until either side closes
            try:
                connection.recv(timeout=0.1)
            except TimeoutError:
                continue
            except ConnectionClosed:
                return


class FakeAppView:
    """``GET /xrpc/app.bsky.actor.getProfiles?actors=...``: profiles of the DIDs in ``handles``;
    with ``failing`` true it answers 502 to everything."""

    def __init__(self, handles: dict[str, str]) -> None:
        self.handles = handles
        self.failing = False
        self.calls: list[list[str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                actors = parse_qs(parts.query).get("actors", [])
                outer.calls.append(actors)
                if outer.failing or parts.path != "/xrpc/app.bsky.actor.getProfiles":
                    self.send_error(HTTPStatus.BAD_GATEWAY)
                    return
                if len(actors) > 25:
                    self.send_error(HTTPStatus.BAD_REQUEST, "at most 25 actors")
                    return
                profiles = [
                    {"did": did, "handle": outer.handles[did], "displayName": "x"}
                    for did in actors
                    if did in outer.handles
                ]
                body = json.dumps({"profiles": profiles}).encode()
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeAppView:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)
