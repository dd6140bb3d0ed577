"""The live X sources against a fake X API v2 on 127.0.0.1, driven through tweepy itself."""

from __future__ import annotations

import itertools
import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import SecretStr

from pipeline.cli import build_parser
from pipeline.cli_produce import cmd_produce
from pipeline.errors import TrendoffError
from pipeline.ingest.model import Post, Rejected, RejectReason
from pipeline.ingest.sources import Source
from pipeline.ingest.sources.x_api import XStreamSource, XTimelineSource, open_x_source
from pipeline.ingest.sources.x_rules import RULE_TAG, pack_rules
from pipeline.settings import Settings
from pipeline.text import load_lexicon

TOKEN = "test-bearer-token-0123456789"
RULE_LIMIT = 512  # X's rule length limit at the standard access levels
PAGE_SIZE = 2  # the fake's page size: small, so a few tweets make several pages
KEEP_ALIVE_SECONDS = 0.05


def user(user_id: str, username: str, followers: int) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": username,
        "name": username.replace("_", " ").title(),
        "location": "Oslo",
        "public_metrics": {"followers_count": followers, "following_count": 3, "tweet_count": 40},
    }


def tweet(tweet_id: int, author_id: str, text: str, **extra: Any) -> dict[str, Any]:
    values = {
        "id": str(tweet_id),
        "text": text,
        "author_id": author_id,
        "created_at": f"2024-03-0{tweet_id % 9 + 1}T10:15:30.000Z",
        "lang": "en",
        "public_metrics": {"retweet_count": tweet_id % 5, "like_count": tweet_id % 7},
    }
    values.update(extra)
    return values


USERS = [user("99", "dana_k", 321), user("77", "Eli_M", 12)]
GHOST = "404"  # an author id no user object is served for
TIMELINES = {
    "99": [
        tweet(101, "99", "cold brew again"),
        tweet(102, "99", "tea > coffee", referenced_tweets=[{"type": "retweeted", "id": "5"}]),
        tweet(103, "99", "matcha latte"),
        tweet(104, "99", "water, just water"),
        tweet(105, "99", "espresso o'clock"),
    ],
    "77": [
        tweet(201, "77", "a stout please"),
        tweet(202, GHOST, "my author is gone"),
        tweet(203, "77", "oat milk flat white"),
    ],
}


@dataclass
class FakeX:
    """What the fake API serves, and what it was asked."""

    url: str = ""
    users: list[dict[str, Any]] = field(default_factory=lambda: list(USERS))
    timelines: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: dict(TIMELINES))
    rules: list[dict[str, Any]] = field(default_factory=list)
    rule_posts: list[dict[str, Any]] = field(default_factory=list)
    stream_lines: list[bytes] = field(default_factory=list)
    stream_status: int = 200
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    authorizations: set[str] = field(default_factory=set)
    stream_client_left: threading.Event = field(default_factory=threading.Event)
    stopping: threading.Event = field(default_factory=threading.Event)
    next_rule_id: Iterator[int] = field(default_factory=lambda: itertools.count(1000))

    def queries(self, path: str, method: str = "GET") -> list[dict[str, str]]:
        """The query of each request to ``path``, in order."""
        return [query for verb, at, query in self.requests if (verb, at) == (method, path)]


class FakeXHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # chunked streaming and kept-alive connections, as X does
    server: FakeXServer

    def log_message(self, format: str, *args: Any) -> None:
        logging.getLogger(__name__).debug(format, *args)

    def do_GET(self) -> None:
        fake, path, query = self._record()
        if path == "/2/users/by":
            wanted = query["usernames"].split(",")
            known = {u["username"].lower(): u for u in fake.users}
            found = [known[name.lower()] for name in wanted if name.lower() in known]
            errors = [
                {"value": name, "detail": f"Could not find user with usernames: [{name}]."}
                for name in wanted
                if name.lower() not in known
            ]
            self._json({"data": found, **({"errors": errors} if errors else {})})
        elif path.startswith("/2/users/") and path.endswith("/tweets"):
            self._timeline_page(fake, path.split("/")[3], query)
        elif path == "/2/tweets/search/stream/rules":
            body: dict[str, Any] = {"meta": {"result_count": len(fake.rules)}}
            if fake.rules:
                body["data"] = fake.rules
            self._json(body)
        elif path == "/2/tweets/search/stream":
            self._stream(fake)
        else:
            self._json({"title": "Not Found"}, status=404)

    def do_POST(self) -> None:
        fake, path, _ = self._record()
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if path != "/2/tweets/search/stream/rules":
            self._json({"title": "Not Found"}, status=404)
            return
        fake.rule_posts.append(body)
        if "delete" in body:
            ids = set(body["delete"]["ids"])
            fake.rules = [rule for rule in fake.rules if rule["id"] not in ids]
            self._json({"meta": {"summary": {"deleted": len(ids)}}})
        else:
            created = [{**rule, "id": str(next(fake.next_rule_id))} for rule in body["add"]]
            fake.rules.extend(created)
            self._json({"data": created, "meta": {"summary": {"created": len(created)}}})

    def _record(self) -> tuple[FakeX, str, dict[str, str]]:
        fake = self.server.fake
        parts = urlsplit(self.path)
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        fake.requests.append((self.command, parts.path, query))
        fake.authorizations.add(self.headers.get("Authorization", ""))
        return fake, parts.path, query

    def _timeline_page(self, fake: FakeX, user_id: str, query: dict[str, str]) -> None:
        tweets = fake.timelines.get(user_id, [])
        start = int(query.get("pagination_token", "0"))
        page = tweets[start : start + PAGE_SIZE]
        authors = {t["author_id"] for t in page}
        meta: dict[str, Any] = {"result_count": len(page)}
        if start + PAGE_SIZE < len(tweets):
            meta["next_token"] = str(start + PAGE_SIZE)
        body: dict[str, Any] = {"meta": meta}
        if page:
            body["data"] = page
            body["includes"] = {"users": [u for u in fake.users if u["id"] in authors]}
        self._json(body)

    def _stream(self, fake: FakeX) -> None:
        if fake.stream_status != 200:
            self._json({"title": "Unauthorized"}, status=fake.stream_status)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for line in fake.stream_lines:
                self._chunk(line + b"\r\n")
            # Then keep-alives until the client hangs up, as X sends them on a quiet stream.
            while not fake.stopping.is_set():
                self._chunk(b"\r\n")
                time.sleep(KEEP_ALIVE_SECONDS)
        except OSError:  # the client closed the connection
            fake.stream_client_left.set()
        self.close_connection = True

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _json(self, body: Any, status: int = 200) -> None:
        encoded = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(encoded)))
        self.end_headers()
        self.wfile.write(encoded)


class FakeXServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeX) -> None:
        super().__init__(("127.0.0.1", 0), FakeXHandler)
        self.fake = fake


@pytest.fixture
def fake_x() -> Iterator[FakeX]:
    fake = FakeX()
    server = FakeXServer(fake)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="fake X API", daemon=True
    )
    thread.start()
    yield fake
    fake.stopping.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def deadline() -> Iterator[None]:
    """Fail, rather than hang, a stream test whose stream never ends."""

    def expire(signum: int, frame: object) -> None:
        raise AssertionError("the stream test ran out of time")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, 20)
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


def expected_post(raw: dict[str, Any], author: dict[str, Any]) -> Post:
    """The post a tweet should become, spelled out from the served objects."""
    references = raw.get("referenced_tweets", [])
    return Post(
        post_id=raw["id"],
        source="x",
        author_id=author["id"],
        author_handle=author["username"],
        text=raw["text"],
        created_at=datetime.fromisoformat(raw["created_at"]),
        author_name=author["name"],
        lang=raw["lang"],
        region=author["location"],
        followers=author["public_metrics"]["followers_count"],
        following=author["public_metrics"]["following_count"],
        author_post_count=author["public_metrics"]["tweet_count"],
        is_retweet=any(reference["type"] == "retweeted" for reference in references),
        retweet_count=raw["public_metrics"]["retweet_count"],
        like_count=raw["public_metrics"]["like_count"],
    )


def stream_line(raw: dict[str, Any], author: dict[str, Any] | None) -> bytes:
    body: dict[str, Any] = {"data": raw, "matching_rules": [{"id": "1000", "tag": RULE_TAG}]}
    if author is not None:
        body["includes"] = {"users": [author]}
    return json.dumps(body).encode()


def timeline(fake: FakeX, users: list[str]) -> XTimelineSource:
    return XTimelineSource(SecretStr(TOKEN), users, base_url=fake.url)


def stream(fake: FakeX) -> XStreamSource:
    return XStreamSource(SecretStr(TOKEN), load_lexicon(), base_url=fake.url)


def keywords_of(rule: str) -> list[str]:
    return [keyword.strip('"') for keyword in rule.split(" OR ")]


# Timeline backfill


def test_timeline_pages_through_every_user_and_converts_each_tweet(fake_x: FakeX) -> None:
    records = list(timeline(fake_x, ["dana_k", "eli_m"]).records())

    by_id = {u["id"]: u for u in USERS}
    expected: list[Post | RejectReason] = []
    for served in USERS:
        for raw in TIMELINES[served["id"]]:
            author = by_id.get(raw["author_id"])
            expected.append(expected_post(raw, author) if author else RejectReason.MISSING_AUTHOR)
    got = [record.reason if isinstance(record, Rejected) else record for record in records]
    assert got == expected
    # Several pages each, each asked for with the token the page before it gave.
    for user_id, tweets in TIMELINES.items():
        tokens = [q.get("pagination_token") for q in fake_x.queries(f"/2/users/{user_id}/tweets")]
        assert len(tokens) == -(-len(tweets) // PAGE_SIZE) >= 2
        assert tokens == [None, *(str(n) for n in range(PAGE_SIZE, len(tweets), PAGE_SIZE))]
    [lookup] = fake_x.queries("/2/users/by")  # one lookup for both users
    assert lookup["usernames"] == "dana_k,eli_m"
    assert fake_x.authorizations == {f"Bearer {TOKEN}"}


def test_timeline_asks_for_every_field_the_conversion_reads(fake_x: FakeX) -> None:
    list(timeline(fake_x, ["dana_k"]).records())
    [query, *_] = fake_x.queries("/2/users/99/tweets")
    assert query["expansions"] == "author_id"
    assert set(query["tweet.fields"].split(",")) >= {
        "author_id",
        "created_at",
        "lang",
        "public_metrics",
        "referenced_tweets",
    }
    assert set(query["user.fields"].split(",")) >= {"location", "public_metrics"}


def test_tweet_without_its_author_in_includes_is_rejected(fake_x: FakeX) -> None:
    records = list(timeline(fake_x, ["eli_m"]).records())
    [rejected] = [record for record in records if isinstance(record, Rejected)]
    assert rejected.reason is RejectReason.MISSING_AUTHOR
    assert rejected.position == "x-timeline:Eli_M:page 1"
    # The dead letter holds the tweet alone, so a replay does not resend its page-mates.
    assert json.loads(rejected.raw) == TIMELINES["77"][1]
    assert [r.post_id for r in records if isinstance(r, Post)] == ["201", "203"]


def test_malformed_tweet_is_rejected_and_the_rest_still_read(fake_x: FakeX) -> None:
    fake_x.timelines["99"] = [
        tweet(301, "99", "fine"),
        tweet(302, "99", "bad counts", public_metrics="many"),
        tweet(303, "99", "fine too"),
    ]
    records = list(timeline(fake_x, ["dana_k"]).records())
    assert [type(r).__name__ for r in records] == ["Post", "Rejected", "Post"]
    assert isinstance(records[1], Rejected) and records[1].reason is RejectReason.BAD_TYPE


def test_unknown_users_are_skipped_with_a_warning(
    fake_x: FakeX, caplog: pytest.LogCaptureFixture
) -> None:
    records = list(timeline(fake_x, ["nobody_here", "dana_k"]).records())
    assert {r.author_handle for r in records if isinstance(r, Post)} == {"dana_k"}
    assert "nobody_here" in caplog.text
    with pytest.raises(TrendoffError, match="none of the users"):
        list(timeline(fake_x, ["nobody_here"]).records())


def test_empty_timeline_is_no_record(fake_x: FakeX) -> None:
    fake_x.timelines["99"] = []
    assert list(timeline(fake_x, ["dana_k"]).records()) == []


def test_bearer_token_never_reaches_the_logs(
    fake_x: FakeX, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        list(timeline(fake_x, ["dana_k"]).records())
        stream(fake_x).sync_rules()
    # tweepy logs each request's headers at DEBUG: the token would be there if not redacted.
    assert any(
        r.name == "tweepy.client" and "Authorization" in r.getMessage() for r in caplog.records
    )
    assert TOKEN not in caplog.text


# Stream rules


def test_rules_pack_every_lexicon_term_into_few_short_rules(fake_x: FakeX) -> None:
    source = stream(fake_x)
    done = source.sync_rules()

    lexicon = load_lexicon()
    terms = {" ".join(t) for terms in lexicon.categories.values() for t in terms}
    ours = [rule["value"] for rule in fake_x.rules if rule.get("tag") == RULE_TAG]
    assert ours == source.rules == done.added
    assert len(ours) >= 2  # the built-in lexicon needs several rules: the packing is exercised
    assert all(len(rule) <= RULE_LIMIT for rule in ours)
    assert sorted(k for rule in ours for k in keywords_of(rule)) == sorted(terms)
    # Multi-word terms are exact phrases.
    assert '"cold brew"' in " OR ".join(ours) and '"7 up"' in " OR ".join(ours)
    # Full rules: the first keyword of each rule would not have fit in the one before.
    for previous, following in itertools.pairwise(ours):
        assert len(previous) + len(" OR ") + len(following.split(" OR ")[0]) > RULE_LIMIT


def test_rule_sync_is_idempotent_and_deletes_only_our_stale_rules(fake_x: FakeX) -> None:
    source = stream(fake_x)
    fake_x.rules = [
        {"id": "1", "value": source.rules[0], "tag": RULE_TAG},  # still wanted
        {"id": "2", "value": "old OR terms", "tag": RULE_TAG},  # ours, stale
        {"id": "3", "value": "old OR terms", "tag": "someone-else"},
        {"id": "4", "value": "untagged"},
    ]
    done = source.sync_rules()
    assert done.kept == [source.rules[0]]
    assert done.deleted == ["old OR terms"]
    assert fake_x.rule_posts[0] == {"delete": {"ids": ["2"]}}
    assert fake_x.rule_posts[1] == {
        "add": [{"value": value, "tag": RULE_TAG} for value in source.rules[1:]]
    }
    assert {rule["id"] for rule in fake_x.rules} >= {"1", "3", "4"}
    assert sorted(r["value"] for r in fake_x.rules if r.get("tag") == RULE_TAG) == sorted(
        source.rules
    )

    posts_before = len(fake_x.rule_posts)
    again = source.sync_rules()
    assert len(fake_x.rule_posts) == posts_before  # nothing to change: no POST at all
    assert again.added == again.deleted == [] and sorted(again.kept) == sorted(source.rules)


def test_pack_rules_keeps_to_the_limit() -> None:
    assert pack_rules(["aa", "bb", "cc"], limit=8) == ["aa OR bb", "cc"]
    assert pack_rules([], limit=8) == []
    with pytest.raises(TrendoffError, match="holds 8"):
        pack_rules(["a-very-long-term"], limit=8)


# Filtered stream


@pytest.mark.usefixtures("deadline")
def test_stream_yields_posts_skips_keep_alives_and_rejects_non_json(fake_x: FakeX) -> None:
    dana, eli = USERS
    first, second = TIMELINES["99"][0], TIMELINES["77"][0]
    fake_x.stream_lines = [
        stream_line(first, dana),
        b"",  # keep-alives inside the data, too
        b"",
        b"{not json",
        stream_line(TIMELINES["77"][1], None),
        stream_line(second, eli),
    ]
    records = stream(fake_x).records()
    got = list(itertools.islice(records, 4))
    records.close()

    assert got[0] == expected_post(first, dana)
    assert isinstance(got[1], Rejected) and got[1].reason is RejectReason.NOT_JSON
    assert got[1].raw == b"{not json" and got[1].position == "x-stream:2"
    assert isinstance(got[2], Rejected) and got[2].reason is RejectReason.MISSING_AUTHOR
    assert got[3] == expected_post(second, eli)
    # Rules were synced before connecting, and the stream asked for the fields read.
    paths = [path for _, path, _ in fake_x.requests]
    assert paths.index("/2/tweets/search/stream/rules") < paths.index("/2/tweets/search/stream")
    [query] = fake_x.queries("/2/tweets/search/stream")
    assert query["expansions"] == "author_id" and "created_at" in query["tweet.fields"]
    assert fake_x.stream_client_left.wait(5), "closing records() must close the connection"


@pytest.mark.usefixtures("deadline")
def test_ctrl_c_ends_the_stream_and_reaches_the_caller(fake_x: FakeX) -> None:
    fake_x.stream_lines = [stream_line(TIMELINES["99"][0], USERS[0])]
    records = stream(fake_x).records()
    assert isinstance(next(records), Post)
    with pytest.raises(KeyboardInterrupt):
        records.throw(KeyboardInterrupt)
    assert fake_x.stream_client_left.wait(5), "the stream thread must hang up"


@pytest.mark.usefixtures("deadline")
def test_stream_refused_is_a_clear_error_not_endless_retries(fake_x: FakeX) -> None:
    fake_x.stream_status = 401
    started = time.monotonic()
    with pytest.raises(TrendoffError, match="refused the filtered stream"):
        list(stream(fake_x).records())
    assert time.monotonic() - started < 5  # tweepy alone would back off and retry forever


# Opening from settings, and the CLI


def test_missing_token_is_a_clear_error(make_settings: Callable[..., Settings]) -> None:
    for kind, settings in itertools.product(
        ("x-stream", "x-timeline"), (make_settings(), make_settings(x_bearer_token=""))
    ):
        with pytest.raises(TrendoffError) as raised:
            open_x_source(kind, settings, users="dana_k" if kind == "x-timeline" else "")
        assert "bearer token" in raised.value.message
        assert raised.value.hint == "set TRENDOFF_X_BEARER_TOKEN"


def test_timeline_needs_users(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(x_bearer_token=TOKEN)
    for users in ("", " , "):
        with pytest.raises(TrendoffError, match="needs the accounts") as raised:
            open_x_source("x-timeline", settings, users=users)
        assert "--users" in (raised.value.hint or "")
    with pytest.raises(TrendoffError, match="not X usernames: no spaces"):
        open_x_source("x-timeline", settings, users="dana_k,no spaces")
    args = build_parser().parse_args(["produce", "--source", "x-timeline"])
    with pytest.raises(TrendoffError, match="needs the accounts"):
        cmd_produce(args, settings)


def test_open_x_source_builds_each_source(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(x_bearer_token=TOKEN)
    backfill = open_x_source("x-timeline", settings, users="@dana_k, Eli_M,DANA_K")
    assert isinstance(backfill, XTimelineSource) and isinstance(backfill, Source)
    assert backfill.usernames == ["dana_k", "Eli_M"]
    live = open_x_source("x-stream", settings)
    assert isinstance(live, XStreamSource) and isinstance(live, Source)
    assert (backfill.name, live.name) == ("x-timeline", "x-stream")
    assert TOKEN not in repr(vars(backfill)) + repr(vars(live))
    with pytest.raises(TrendoffError, match="x-timeline only"):
        open_x_source("x-stream", settings, users="dana_k")
