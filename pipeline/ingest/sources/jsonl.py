"""JSON Lines of X API v2 responses, as recorded from the filtered stream or recent search.

Each line is one response: ``{"data": {...tweet...}, "includes": {"users": [...]}}`` (``data`` may
also be a list of tweets, as search pages are). Tweet fields read: ``id``, ``text``,
``author_id``, ``created_at`` (ISO 8601, ``Z``), ``lang``, ``public_metrics.retweet_count`` and
``.like_count``, ``referenced_tweets`` (a ``retweeted`` reference makes a retweet). The author is
looked up in ``includes.users`` by id: ``username``, ``name``, ``location``, and
``public_metrics.followers_count``, ``.following_count``, ``.tweet_count``. Without that user
object there is no handle, so the tweet is rejected as ``missing_author``.

Files may be gzip (recognised by content). Blank lines are skipped; a line that is not JSON is
``not_json``; one that is not UTF-8 (or holds a lone surrogate escape) is ``invalid_utf8``; one
over ``MAX_LINE_BYTES`` is ``row_too_long`` (only its start is kept).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pipeline.ingest.model import InvalidRecord, Post, Rejected, RejectReason, build_post
from pipeline.ingest.sources.files import (
    GZIP_DAMAGE_ERRORS,
    MAX_LINE_BYTES,
    display_name,
    open_binary,
    read_line,
)

logger = logging.getLogger(__name__)

SOURCE_LABEL = "x"


class JsonLinesSource:
    """Posts from JSON Lines files of X API v2 responses, read one after another."""

    name = "jsonl"

    def __init__(self, paths: Sequence[str | Path]) -> None:
        self.paths = [Path(path) for path in paths]

    def records(self) -> Iterator[Post | Rejected]:
        for path in self.paths:
            yield from self._file_records(path)

    def _file_records(self, path: Path) -> Iterator[Post | Rejected]:
        where = display_name(path)
        line_number = 0
        with open_binary(path) as stream:
            while True:
                try:
                    raw, whole_size = read_line(stream)
                except GZIP_DAMAGE_ERRORS as exc:
                    message = (
                        f"the gzip stream is truncated or corrupt ({type(exc).__name__}: {exc}) "
                        f"after line {line_number}; the rest of the file is lost"
                    )
                    logger.error("%s: %s", where, message)
                    yield Rejected(b"", f"{where}:{line_number + 1}", RejectReason.BAD_ROW, message)
                    return
                if not raw:
                    return
                line_number += 1
                if whole_size:
                    yield Rejected(
                        raw,
                        f"{where}:{line_number}",
                        RejectReason.ROW_TOO_LONG,
                        f"the line is {whole_size:,} bytes; at most {MAX_LINE_BYTES:,} are read "
                        "(this excerpt is its start)",
                    )
                elif raw.strip():
                    yield from records_from_line(raw, f"{where}:{line_number}")


def records_from_line(raw: bytes, position: str) -> Iterator[Post | Rejected]:
    """The posts in one recorded API response (or why it has none)."""
    try:
        response = json.loads(raw)
    except UnicodeDecodeError as exc:
        yield Rejected(raw, position, RejectReason.INVALID_UTF8, f"the line is not UTF-8: {exc}")
        return
    except json.JSONDecodeError as exc:
        yield Rejected(raw, position, RejectReason.NOT_JSON, f"the line is not JSON: {exc}")
        return
    yield from records_from_response(response, position, raw)


def records_from_response(
    response: Any, position: str, raw: bytes | None = None
) -> Iterator[Post | Rejected]:
    """The posts in one parsed API response (or why it has none).

    A rejection keeps ``raw``, the bytes the response was parsed from. A response parsed elsewhere
    (by an API client) has no such bytes; then a rejected tweet keeps its own JSON, so replaying
    the dead letter does not resend the tweets that were fine, and a rejected response its whole
    JSON.
    """
    try:
        tweets, users = _tweets_and_users(response)
    except InvalidRecord as invalid:
        yield Rejected(_raw_or_json(raw, response), position, invalid.reason, invalid.message)
        return
    for tweet in tweets:
        try:
            yield post_from_tweet(tweet, users)
        except InvalidRecord as invalid:
            yield Rejected(_raw_or_json(raw, tweet), position, invalid.reason, invalid.message)


def _raw_or_json(raw: bytes | None, value: Any) -> bytes:
    if raw is not None:
        return raw
    # ASCII escapes keep even a lone surrogate (which UTF-8 cannot hold) exactly replayable.
    return json.dumps(value, separators=(",", ":")).encode("ascii")


def _tweets_and_users(
    response: Any,
) -> tuple[list[Mapping[str, Any]], dict[str, Mapping[str, Any]]]:
    if not isinstance(response, dict):
        raise InvalidRecord(
            RejectReason.BAD_TYPE, f"expected a JSON object, found {type(response).__name__}"
        )
    if "data" in response:
        data = response["data"]
    elif "id" in response and "text" in response:  # a bare tweet object
        data = response
    else:
        errors = response.get("errors")
        detail = f": {json.dumps(errors)[:300]}" if errors else ""
        raise InvalidRecord(RejectReason.BAD_ROW, f"the response holds no tweet{detail}")
    tweets: list[Mapping[str, Any]] = data if isinstance(data, list) else [data]
    if not all(isinstance(tweet, dict) for tweet in tweets):
        raise InvalidRecord(RejectReason.BAD_TYPE, "data must be a tweet object or a list of them")
    includes = response.get("includes") or {}
    user_list = includes.get("users", []) if isinstance(includes, dict) else None
    if not isinstance(user_list, list):
        raise InvalidRecord(RejectReason.BAD_TYPE, "includes.users must be a list of users")
    users: dict[str, Mapping[str, Any]] = {
        str(user["id"]): user for user in user_list if isinstance(user, dict) and "id" in user
    }
    return tweets, users


def post_from_tweet(tweet: Mapping[str, Any], users: Mapping[str, Mapping[str, Any]]) -> Post:
    """A post from an X API v2 tweet object and the users of its response."""
    tweet_id = _identifier(tweet.get("id"), "id")
    if tweet_id is None:
        raise InvalidRecord(RejectReason.BAD_ROW, "the tweet has no id")
    author_id = _identifier(tweet.get("author_id"), "author_id")
    user = users.get(author_id) if author_id is not None else None
    if user is None:
        raise InvalidRecord(
            RejectReason.MISSING_AUTHOR,
            f"tweet {tweet_id}: no user object for author_id {author_id} in includes.users",
        )
    tweet_metrics = _object(tweet.get("public_metrics"), "public_metrics")
    user_metrics = _object(user.get("public_metrics"), "user public_metrics")
    references = tweet.get("referenced_tweets") or []
    if not isinstance(references, list):
        raise InvalidRecord(RejectReason.BAD_TYPE, "referenced_tweets must be a list")
    is_retweet = any(
        isinstance(reference, dict) and reference.get("type") == "retweeted"
        for reference in references
    )
    return build_post(
        post_id=tweet_id,
        source=SOURCE_LABEL,
        author_id=author_id,
        author_handle=_string(user.get("username"), "username"),
        text=_string(tweet.get("text"), "text"),
        created_at=_string(tweet.get("created_at"), "created_at"),
        author_name=_string(user.get("name"), "name"),
        lang=_string(tweet.get("lang"), "lang"),
        region=_string(user.get("location"), "location"),
        followers=_count(user_metrics.get("followers_count"), "followers_count"),
        following=_count(user_metrics.get("following_count"), "following_count"),
        author_post_count=_count(user_metrics.get("tweet_count"), "tweet_count"),
        is_retweet=is_retweet,
        retweet_count=_count(tweet_metrics.get("retweet_count"), "retweet_count"),
        like_count=_count(tweet_metrics.get("like_count"), "like_count"),
    )


def _string(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRecord(
            RejectReason.BAD_TYPE, f"{field} {value!r} is a {type(value).__name__}, not a string"
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # JSON can escape lone surrogates (\ud800), UTF-8 cannot hold them
        raise InvalidRecord(
            RejectReason.INVALID_UTF8, f"{field} holds a lone surrogate, which is not UTF-8"
        ) from None
    return value


def _identifier(value: Any, field: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidRecord(
            RejectReason.BAD_TYPE, f"{field} {value!r} is a {type(value).__name__}, not an id"
        )
    return str(value)


def _count(value: Any, field: str) -> int | None:
    # JSON counts must be numbers; a string here means the recording is not what it claims.
    if isinstance(value, str):
        raise InvalidRecord(RejectReason.BAD_TYPE, f"{field} {value!r} is a string, not a number")
    return value  # type: ignore[no-any-return]  # build_post checks the number itself


def _object(value: Any, field: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidRecord(
            RejectReason.BAD_TYPE, f"{field} must be an object, found {type(value).__name__}"
        )
    return value
