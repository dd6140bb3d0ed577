"""Jetstream events as Trendoff records: pure functions, no I/O.

A Jetstream (``/subscribe``, v1) message is one JSON object with the account's ``did``, the
instance's ``time_us`` (microseconds since the epoch: the cursor) and a ``kind``:

- ``commit``: a repository write, ``commit.operation`` ``create`` / ``update`` / ``delete`` of a
  record in ``commit.collection`` with key ``commit.rkey``; creates carry the ``record``.
- ``identity``: the account's handle (changed, or confirmed).
- ``account``: the account was activated or deactivated.

A create in ``app.bsky.feed.post`` becomes a :class:`Post`; an identity event teaches a handle;
everything else is counted and skipped, or, when it is not a Jetstream event at all, rejected
with a reason (:class:`Rejected`, the dead-letter topic).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.ingest.model import InvalidRecord, Post, Rejected, RejectReason, require_text

POST_COLLECTION = "app.bsky.feed.post"
SOURCE_LABEL = "bluesky"
TAG_FACET = "app.bsky.richtext.facet#tag"
MENTION_FACET = "app.bsky.richtext.facet#mention"
QUOTE_EMBEDS = frozenset({"app.bsky.embed.record", "app.bsky.embed.recordWithMedia"})
# Jetstream events are a few KiB; a megabyte is no post, whatever it claims to be.
MAX_EVENT_BYTES = 1024 * 1024
# A record's createdAt is the client's claim. Further than this from the time Jetstream saw the
# event (a wrong clock, or a post imported with its old date), the event's time stands in.
MAX_CLOCK_AHEAD = timedelta(minutes=10)
MAX_CLOCK_BEHIND = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class PostEvent:
    """A new post. ``created_at_replaced``: the record's createdAt was unusable or out of bounds,
    so ``post.created_at`` is the event's time."""

    post: Post
    time_us: int
    created_at_replaced: bool = False


@dataclass(frozen=True, slots=True)
class HandleEvent:
    did: str
    handle: str
    time_us: int


@dataclass(frozen=True, slots=True)
class SkippedEvent:
    """A valid event that is not a new post; ``what`` names it in the summary's counts."""

    what: str
    time_us: int


@dataclass(frozen=True, slots=True)
class BadEvent:
    """Not a usable Jetstream event; ``time_us`` when the message still had one."""

    rejected: Rejected
    time_us: int | None


Event = PostEvent | HandleEvent | SkippedEvent | BadEvent


def post_id(did: str, rkey: str) -> str:
    """The post's AT URI: stable, and the same on every Jetstream instance."""
    return f"at://{did}/{POST_COLLECTION}/{rkey}"


def parse_langs(text: str) -> frozenset[str]:
    """``en,ja`` -> {"en", "ja"}: primary language subtags, lowercase."""
    return frozenset(part.strip().lower().split("-")[0] for part in text.split(",") if part.strip())


def parse_event(raw: bytes | str, wanted_langs: Collection[str] = ()) -> Event:
    """One Jetstream message as an event. Never raises for bad input: that is a :class:`BadEvent`.

    ``wanted_langs``: when given, a post none of whose ``langs`` is among them is skipped
    (``lang_filtered``), as is a post that names no language.
    """
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if len(data) > MAX_EVENT_BYTES:
        return _bad(data, None, RejectReason.BAD_ROW, f"event of {len(data):,} bytes is too big")
    try:
        event = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return _bad(data, None, RejectReason.NOT_JSON, f"not JSON: {exc}")
    if not isinstance(event, dict):
        return _bad(data, None, RejectReason.NOT_JSON, "not a JSON object")
    time_us = event.get("time_us")
    if type(time_us) is not int or time_us <= 0:
        return _bad(data, None, RejectReason.BAD_ROW, f"time_us {time_us!r} is not a time")
    did = event.get("did")
    if not isinstance(did, str) or not did.startswith("did:") or not _is_utf8(did):
        return _bad(data, time_us, RejectReason.MISSING_AUTHOR, f"did {did!r} is not a DID")
    kind = event.get("kind")
    if kind == "commit":
        return _commit(data, event, did, time_us, wanted_langs)
    if kind == "identity":
        identity = event.get("identity")
        handle = identity.get("handle") if isinstance(identity, dict) else None
        if isinstance(handle, str) and handle and _is_utf8(handle):
            return HandleEvent(did, handle, time_us)
        return SkippedEvent("identity_without_handle", time_us)
    if kind == "account":
        return SkippedEvent("account", time_us)
    return _bad(data, time_us, RejectReason.BAD_ROW, f"unknown event kind {kind!r}")


def _commit(
    data: bytes, event: dict[str, Any], did: str, time_us: int, wanted_langs: Collection[str]
) -> Event:
    commit = event.get("commit")
    if not isinstance(commit, dict):
        return _bad(data, time_us, RejectReason.BAD_ROW, "commit event without a commit object")
    if commit.get("collection") != POST_COLLECTION:
        return SkippedEvent("other_collection", time_us)
    operation = commit.get("operation")
    if operation == "delete":
        return SkippedEvent("delete", time_us)
    if operation == "update":
        return SkippedEvent("update", time_us)
    if operation != "create":
        return _bad(data, time_us, RejectReason.BAD_ROW, f"unknown operation {operation!r}")
    rkey, record = commit.get("rkey"), commit.get("record")
    if not isinstance(rkey, str) or not rkey:
        return _bad(data, time_us, RejectReason.BAD_ROW, "post create without an rkey")
    if not isinstance(record, dict):
        return _bad(data, time_us, RejectReason.BAD_ROW, "post create without a record")
    text = record.get("text")
    if not isinstance(text, str):
        return _bad(data, time_us, RejectReason.BAD_TYPE, f"text is a {type(text).__name__}")
    if not text.strip():
        return SkippedEvent("no_text", time_us)  # an image or a link alone: no words to count
    langs = _strings(record.get("langs"))
    if wanted_langs and not any(lang.lower().split("-")[0] in wanted_langs for lang in langs):
        return SkippedEvent("lang_filtered", time_us)
    seen_at = datetime.fromtimestamp(time_us / 1_000_000, UTC)
    created_at = _bounded_created_at(record.get("createdAt"), seen_at)
    hashtags, mentions = facet_features(record.get("facets"))
    try:
        checked_text = require_text(text)  # the shared rules: not blank, not too long
    except InvalidRecord as exc:
        return _bad(data, time_us, exc.reason, exc.message)
    # JSON can spell a lone surrogate (\ud800), which no UTF-8 (and no Avro string) can carry.
    if not all(_is_utf8(value) for value in (checked_text, rkey, *langs, *hashtags, *mentions)):
        return _bad(data, time_us, RejectReason.INVALID_UTF8, "a string holds a lone surrogate")
    embed = record.get("embed")
    embed_type = embed.get("$type") if isinstance(embed, dict) else None
    post = Post(
        post_id=post_id(did, rkey),
        source=SOURCE_LABEL,
        author_id=did,
        author_handle=did,  # until the handle is known (see bluesky_handles)
        text=checked_text,
        created_at=created_at or seen_at,
        lang=langs[0] if langs else None,
        hashtags=hashtags,
        mentions=mentions,
        is_reply=isinstance(record.get("reply"), dict),
        is_quote=embed_type in QUOTE_EMBEDS,
    )
    return PostEvent(post, time_us, created_at_replaced=created_at is None)


def _bounded_created_at(value: object, seen_at: datetime) -> datetime | None:
    """The record's createdAt, or None when it is missing, unparsable or out of bounds."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not seen_at - MAX_CLOCK_BEHIND <= moment <= seen_at + MAX_CLOCK_AHEAD:
        return None
    return moment.astimezone(UTC)


def facet_features(facets: object) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Hashtags (without ``#``) and mentioned DIDs from a record's facets, each once, in order.
    Malformed facets are ignored: they annotate the text, which is the post."""
    tags: dict[str, None] = {}
    mentions: dict[str, None] = {}
    if not isinstance(facets, list):
        return (), ()
    for facet in facets:
        features = facet.get("features") if isinstance(facet, dict) else None
        if not isinstance(features, list):
            continue
        for feature in features:
            if not isinstance(feature, dict):
                continue
            kind = feature.get("$type")
            if kind == TAG_FACET and isinstance(feature.get("tag"), str):
                tag = feature["tag"].lstrip("#").strip()
                if tag:
                    tags.setdefault(tag, None)
            elif kind == MENTION_FACET and isinstance(feature.get("did"), str):
                mentions.setdefault(feature["did"], None)
    return tuple(tags), tuple(mentions)


def _is_utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _strings(value: object) -> Sequence[str]:
    if not isinstance(value, list):
        return ()
    return [item for item in value if isinstance(item, str) and item]


def _bad(data: bytes, time_us: int | None, reason: RejectReason, message: str) -> BadEvent:
    where = f"jetstream:{time_us}" if time_us is not None else "jetstream:?"
    return BadEvent(Rejected(data, where, reason, message), time_us)
