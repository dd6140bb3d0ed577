"""Jetstream events -> posts, handles, counted skips and dead letters (pure mapping)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from pipeline.ingest.model import RejectReason
from pipeline.ingest.sources.bluesky_events import (
    MAX_EVENT_BYTES,
    BadEvent,
    HandleEvent,
    PostEvent,
    SkippedEvent,
    facet_features,
    parse_event,
    parse_langs,
)
from tests.fakes.jetstream import (
    account_event,
    delete_event,
    identity_event,
    like_event,
    post_event,
)

DID = "did:plc:abcdefghijklmnopqrstuvwx"
T = 1_795_000_000_123_456  # microseconds


def test_a_post_create_becomes_a_post() -> None:
    event = post_event(
        DID, "3kabc", T, "Matcha today #tea @bob", langs=["ja", "en"],
        tags=["tea", "#tea", "Green"], mentions=["did:plc:bob", "did:plc:bob"],
        reply=True, quote=True, created_at="2026-11-17T08:13:20.000Z",
    )  # fmt: skip
    parsed = parse_event(event.wire)
    assert isinstance(parsed, PostEvent)
    post = parsed.post
    assert post.post_id == f"at://{DID}/app.bsky.feed.post/3kabc"
    assert post.source == "bluesky"
    assert post.author_id == DID and post.author_handle == DID  # the handle comes later
    assert post.text == "Matcha today #tea @bob"
    assert post.created_at == datetime(2026, 11, 17, 8, 13, 20, tzinfo=UTC)
    assert post.lang == "ja"
    assert post.hashtags == ("tea", "Green")
    assert post.mentions == ("did:plc:bob",)
    assert post.is_reply and post.is_quote and not post.is_retweet
    assert parsed.time_us == T and not parsed.created_at_replaced


def test_plain_post_has_no_flags() -> None:
    parsed = parse_event(post_event(DID, "3k1", T, "hello").wire.encode())
    assert isinstance(parsed, PostEvent)
    assert parsed.post.hashtags == () and parsed.post.mentions == ()
    assert not parsed.post.is_reply and not parsed.post.is_quote


@pytest.mark.parametrize(
    "created_at",
    [
        "2099-01-01T00:00:00Z",
        "1970-01-01T00:00:00Z",
        "not a date",
        "2026-11-18T11:30:00Z",
        "2026-11-15T00:00:00Z",
    ],
)
def test_unusable_created_at_falls_back_to_the_event_time(created_at: str) -> None:
    parsed = parse_event(post_event(DID, "3k1", T, "hi", created_at=created_at).wire)
    assert isinstance(parsed, PostEvent)
    assert parsed.created_at_replaced
    assert parsed.post.created_at == datetime.fromtimestamp(T / 1e6, UTC)


def test_language_filter_on_primary_subtags() -> None:
    wanted = parse_langs("EN, ja")
    assert wanted == {"en", "ja"}
    us = parse_event(post_event(DID, "1", T, "hi", langs=["en-US"]).wire, wanted)
    assert isinstance(us, PostEvent)
    german = parse_event(post_event(DID, "2", T, "hallo", langs=["de"]).wire, wanted)
    assert german == SkippedEvent("lang_filtered", T)
    unknown = parse_event(post_event(DID, "3", T, "??", langs=[]).wire, wanted)
    assert unknown == SkippedEvent("lang_filtered", T)
    assert isinstance(parse_event(post_event(DID, "3", T, "??", langs=[]).wire), PostEvent)


def test_other_events_are_counted_skips_or_handles() -> None:
    assert parse_event(delete_event(DID, "3k1", T).wire) == SkippedEvent("delete", T)
    assert parse_event(like_event(DID, "3l1", T).wire) == SkippedEvent("other_collection", T)
    assert parse_event(account_event(DID, T).wire) == SkippedEvent("account", T)
    bad_handle = identity_event(DID, "\ud800.bsky.social", T).wire
    assert parse_event(bad_handle) == SkippedEvent("identity_without_handle", T)
    assert parse_event(identity_event(DID, "alice.bsky.social", T).wire) == HandleEvent(
        DID, "alice.bsky.social", T
    )
    update = json.loads(post_event(DID, "3k1", T, "edited").wire)
    update["commit"]["operation"] = "update"
    assert parse_event(json.dumps(update)) == SkippedEvent("update", T)
    assert parse_event(post_event(DID, "3k1", T, "   ").wire) == SkippedEvent("no_text", T)


def broken(**changes: object) -> str:
    event = json.loads(post_event(DID, "3k1", T, "hello").wire)
    for path, value in changes.items():
        target = event
        *parents, last = path.split("__")
        for part in parents:
            target = target[part]
        if value is None:
            del target[last]
        else:
            target[last] = value
    return json.dumps(event)


@pytest.mark.parametrize(
    ("wire", "reason", "has_time"),
    [
        ('{"did": "x", "time_us": 1, "kind": "commit", "commit": {', RejectReason.NOT_JSON, False),
        ("[1, 2]", RejectReason.NOT_JSON, False),
        (b"\xff\xfe not utf-8", RejectReason.NOT_JSON, False),
        (broken(time_us="soon"), RejectReason.BAD_ROW, False),
        (broken(time_us=None), RejectReason.BAD_ROW, False),
        (broken(did="alice"), RejectReason.MISSING_AUTHOR, True),
        (broken(kind="mystery"), RejectReason.BAD_ROW, True),
        (broken(commit="yes"), RejectReason.BAD_ROW, True),
        (broken(commit__operation="rename"), RejectReason.BAD_ROW, True),
        (broken(commit__rkey=None), RejectReason.BAD_ROW, True),
        (broken(commit__record=None), RejectReason.BAD_ROW, True),
        (broken(commit__record__text=42), RejectReason.BAD_TYPE, True),
        (broken(commit__record__text="x" * 70_000), RejectReason.TEXT_TOO_LONG, True),
        (broken(commit__record__text="half \ud800 pair"), RejectReason.INVALID_UTF8, True),
        (broken(commit__record__langs=["\udfff"]), RejectReason.INVALID_UTF8, True),
        (broken(did="did:plc:\ud800"), RejectReason.MISSING_AUTHOR, True),
    ],
)
def test_bad_input_is_a_dead_letter_with_a_reason(
    wire: str | bytes, reason: RejectReason, has_time: bool
) -> None:
    parsed = parse_event(wire)
    assert isinstance(parsed, BadEvent)
    assert parsed.rejected.reason == reason
    assert parsed.rejected.raw == (wire if isinstance(wire, bytes) else wire.encode())
    assert parsed.rejected.message
    assert (parsed.time_us == T) is has_time


def test_absurd_sizes_are_refused_before_parsing() -> None:
    wire = broken(commit__record__text="y" * (MAX_EVENT_BYTES + 1))
    parsed = parse_event(wire)
    assert isinstance(parsed, BadEvent)
    assert parsed.rejected.reason == RejectReason.BAD_ROW
    assert "too big" in parsed.rejected.message


def test_malformed_facets_are_ignored() -> None:
    facets = [
        None,
        {"features": "no"},
        {"features": [None, {"$type": "app.bsky.richtext.facet#tag"}, {"$type": "x", "tag": "y"}]},
        {"features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "#ok"}]},
        {"features": [{"$type": "app.bsky.richtext.facet#mention", "did": 7}]},
    ]
    assert facet_features(facets) == (("ok",), ())
    assert facet_features("nope") == ((), ())


def test_appview_answers_keep_only_usable_handles() -> None:
    from pipeline.ingest.sources.bluesky_handles import handles_from_profiles

    answer = {
        "profiles": [
            {"did": "did:plc:a", "handle": "a.bsky.social"},
            {"did": "did:plc:b", "handle": "handle.invalid"},
            {"did": "did:plc:c", "handle": "\ud800.bsky.social"},
            {"did": "did:plc:d"},
            "junk",
        ]
    }
    assert handles_from_profiles(answer) == {"did:plc:a": "a.bsky.social"}
    assert handles_from_profiles([]) == {}
