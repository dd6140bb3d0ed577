"""The records every source yields — a valid :class:`Post` or a :class:`Rejected` input — and the
validation rules they all share, so a post means the same thing whatever it was read from.

``Post`` is a ``NamedTuple`` rather than a frozen dataclass: it is just as immutable, but builds in
about a third of the time (a frozen dataclass pays ``object.__setattr__`` per field), and the Avro
encoder walks its fields in order without a lookup per name. At tens of thousands of posts a
second both matter. Its field order is the order of ``pipeline/schemas/post.avsc``; the encoder
checks that on import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import NamedTuple

# Posts on X are at most a few thousand bytes; 64 KiB leaves room for any platform's long posts
# while keeping one bad row from bloating a Kafka batch.
MAX_TEXT_BYTES = 64 * 1024
# A character is at most 4 bytes of UTF-8, so shorter texts need no encoding to check the limit.
_TEXT_CHARS_ALWAYS_SHORT_ENOUGH = MAX_TEXT_BYTES // 4
MAX_LONG = 2**63 - 1
_SAFE_DIGITS = len(str(MAX_LONG)) - 1
# Several exports write -1 for a count they did not capture.
UNKNOWN_COUNT = -1
# Whole numbers as text; spreadsheets and pandas write them as 12.0 in float columns.
_WHOLE_NUMBER = re.compile(r"-?[0-9]+(?:\.0*)?")


class Post(NamedTuple):
    """One valid post. ``created_at`` is timezone-aware UTC; optional fields are ``None`` when the
    input did not say."""

    post_id: str
    source: str
    author_id: str
    author_handle: str
    text: str
    created_at: datetime
    author_name: str | None = None
    lang: str | None = None
    region: str | None = None
    followers: int | None = None
    following: int | None = None
    author_post_count: int | None = None
    is_retweet: bool = False
    retweet_count: int | None = None
    like_count: int | None = None
    # Schema version 2 (Bluesky): filled by sources whose input marks them, empty otherwise.
    hashtags: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    is_reply: bool = False
    is_quote: bool = False


class RejectReason(StrEnum):
    """Why an input record is not a post. The values travel in dead-letter headers: never rename."""

    MISSING_AUTHOR = "missing_author"
    MISSING_TEXT = "missing_text"
    MISSING_TIME = "missing_time"
    BAD_TIME = "bad_time"
    BAD_TYPE = "bad_type"
    INVALID_UTF8 = "invalid_utf8"
    TEXT_TOO_LONG = "text_too_long"
    NOT_JSON = "not_json"
    BAD_ROW = "bad_row"


@dataclass(frozen=True, slots=True)
class Rejected:
    """An input record that is not a valid post, kept byte for byte so it can be inspected or
    replayed. ``position`` says where it was read, e.g. ``tweets.csv:1234`` (the line it starts on).
    """

    raw: bytes
    position: str
    reason: RejectReason
    message: str


class InvalidRecord(ValueError):
    """Raised by the validation functions; a source turns it into a :class:`Rejected` record."""

    def __init__(self, reason: RejectReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def require_author(handle: str | None) -> str:
    if handle is None or not (handle := handle.strip()):
        raise InvalidRecord(RejectReason.MISSING_AUTHOR, "the post has no author handle")
    return handle


def require_text(text: str | None) -> str:
    if not text or text.isspace():
        raise InvalidRecord(RejectReason.MISSING_TEXT, "the post has no text")
    if len(text) > _TEXT_CHARS_ALWAYS_SHORT_ENOUGH:
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_TEXT_BYTES:
            raise InvalidRecord(
                RejectReason.TEXT_TOO_LONG,
                f"the text is {size:,} bytes of UTF-8; at most {MAX_TEXT_BYTES:,} are accepted",
            )
    return text


def parse_time(value: str | None) -> datetime:
    """An ISO 8601 time (``2015-05-25 12:38:00``, ``2023-01-02T03:04:05.678Z``, ...) as aware UTC.
    A time without a zone is taken as UTC."""
    if value is None or not (value := value.strip()):
        raise InvalidRecord(RejectReason.MISSING_TIME, "the post has no creation time")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRecord(
            RejectReason.BAD_TIME, f"creation time {value!r} is not an ISO 8601 date and time"
        ) from None
    return as_utc(parsed)


def as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_count(value: str | int | float | None, field: str) -> int | None:
    """A non-negative count, or ``None`` when absent or written as -1 (unknown).

    Accepts whole numbers as text (``"12"``, and ``"12.0"`` as spreadsheets and pandas write
    them) or as JSON numbers; anything else is ``bad_type``.
    """
    # The common case first, cheaply: plain ASCII digits, too short to overflow 64 bits.
    if type(value) is str and value.isdigit() and value.isascii() and len(value) <= _SAFE_DIGITS:
        return int(value)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        number = _parse_count_text(value, field)
        if number is None:
            return None
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRecord(
            RejectReason.BAD_TYPE, f"{field} {value!r} is a {type(value).__name__}, not a number"
        )
    elif isinstance(value, float):
        if not value.is_integer():
            raise InvalidRecord(RejectReason.BAD_TYPE, f"{field} {value!r} is not a whole number")
        number = int(value)
    else:
        number = value
    if number < 0:
        if number == UNKNOWN_COUNT:
            return None
        raise InvalidRecord(RejectReason.BAD_TYPE, f"{field} {number} is negative")
    if number > MAX_LONG:
        raise InvalidRecord(RejectReason.BAD_TYPE, f"{field} {number} does not fit in 64 bits")
    return number


def _parse_count_text(value: str, field: str) -> int | None:
    text = value.strip()
    if not text or text.lower() == "nan":  # pandas writes a missing count as NaN
        return None
    if text.isdigit() and text.isascii():  # the common case, without a regular expression
        return int(text)
    # Not int() alone: it also takes "1_000", " ١٢ " and other things no export means as a count.
    if not _WHOLE_NUMBER.fullmatch(text):
        raise InvalidRecord(RejectReason.BAD_TYPE, f"{field} {value!r} is not a whole number")
    return int(text.partition(".")[0])


def optional_text(value: str | None) -> str | None:
    """Empty or blank optional strings mean "not given"."""
    if value is None or not (value := value.strip()):
        return None
    return value


def build_post(
    *,
    post_id: str,
    source: str,
    author_id: str | None,
    author_handle: str | None,
    text: str | None,
    created_at: datetime | str | None,
    author_name: str | None = None,
    lang: str | None = None,
    region: str | None = None,
    followers: str | int | float | None = None,
    following: str | int | float | None = None,
    author_post_count: str | int | float | None = None,
    is_retweet: bool = False,
    retweet_count: str | int | float | None = None,
    like_count: str | int | float | None = None,
) -> Post:
    """Validate raw field values and build a post; raise :class:`InvalidRecord` if they are not
    one. The checks run in a fixed order (author, text, time, counts), so a record with several
    problems is always rejected for the same reason. Without an ``author_id`` the handle is used.
    """
    handle = require_author(author_handle)
    checked_text = require_text(text)
    moment = as_utc(created_at) if isinstance(created_at, datetime) else parse_time(created_at)
    return Post(
        post_id,
        source,
        optional_text(author_id) or handle,
        handle,
        checked_text,
        moment,
        optional_text(author_name),
        optional_text(lang),
        optional_text(region),
        parse_count(followers, "followers"),
        parse_count(following, "following"),
        parse_count(author_post_count, "author_post_count"),
        is_retweet,
        parse_count(retweet_count, "retweet_count"),
        parse_count(like_count, "like_count"),
    )
