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
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

# Posts on X are at most a few thousand bytes; 64 KiB leaves room for any platform's long posts
# while keeping one bad row from bloating a Kafka batch.
MAX_TEXT_BYTES = 64 * 1024
# A character is at most 4 bytes of UTF-8, so shorter texts need no encoding to check the limit.
_TEXT_CHARS_ALWAYS_SHORT_ENOUGH = MAX_TEXT_BYTES // 4
# The other string fields, in bytes of UTF-8. Ids and handles become Cassandra partition and
# clustering keys, which may not exceed 65,535 bytes; real ones are far shorter (X ids 19 digits,
# Bluesky handles at most 253 characters, AT URIs and DIDs a few hundred), so anything longer is
# garbage, and rejecting it keeps one row from stopping the streaming jobs.
MAX_FIELD_BYTES: dict[str, int] = {
    "post_id": 512,
    "source": 64,
    "author_handle": 256,  # before author_id, which is the handle when a source has no id
    "author_id": 512,
    "author_name": 1024,
    "lang": 64,
    "region": 1024,
}
# Post times accepted: from the start of 2006 (the first public posts on X) to one day after
# the post is read (clocks and time zones of sources disagree by hours, never by days). Outside
# this range a date is a typo or a placeholder (year 1, year 9999), which no page should show and
# which moving in time (--retime) could push past what a datetime holds.
EARLIEST_POST_TIME = datetime(2006, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(days=1)
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
    FIELD_TOO_LONG = "field_too_long"
    NOT_JSON = "not_json"
    BAD_ROW = "bad_row"
    ROW_TOO_LONG = "row_too_long"
    RECORD_TOO_LARGE = "record_too_large"


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


def require_short(value: str | None, field: str) -> None:
    """``value`` fits ``MAX_FIELD_BYTES[field]``; ``field_too_long`` otherwise."""
    limit = MAX_FIELD_BYTES[field]
    if value is None or len(value) * 4 <= limit:  # no encoding needed to know it fits
        return
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise InvalidRecord(
            RejectReason.FIELD_TOO_LONG,
            f"{field} is {size:,} bytes of UTF-8; at most {limit:,} are accepted",
        )


class _LatestPostTime:
    """Now plus the tolerance, read from the clock at most once a second: checking every post's
    time must not cost a clock read and a datetime per post."""

    def __init__(self) -> None:
        self._read_at = -1.0
        self._latest = EARLIEST_POST_TIME

    def __call__(self) -> datetime:
        now = time.time()
        if now - self._read_at >= 1.0:
            self._read_at = now
            self._latest = datetime.fromtimestamp(now, UTC) + FUTURE_TOLERANCE
        return self._latest


latest_post_time = _LatestPostTime()


def require_plausible_time(moment: datetime, latest: datetime | None = None) -> datetime:
    """``moment`` if it lies in the accepted range (``EARLIEST_POST_TIME`` to ``latest``, by
    default one day from now); ``bad_time`` otherwise."""
    latest = latest or latest_post_time()
    if not EARLIEST_POST_TIME <= moment <= latest:
        raise InvalidRecord(
            RejectReason.BAD_TIME,
            f"creation time {moment.isoformat()} is outside the accepted range "
            f"{EARLIEST_POST_TIME:%Y-%m-%d} .. {latest.isoformat(timespec='seconds')} "
            f"(one day from now)",
        )
    return moment


def check_post(post: Post, latest: datetime | None = None) -> None:
    """The limits every post must meet before it is sent, whoever built it (a source, the demo
    generator, a move in time): field sizes and the time range. Raises :class:`InvalidRecord`.

    Runs for every post the producer sends, so the common case costs a few comparisons: fields
    are read by position and only a field long enough to matter is encoded."""
    text = post.text
    if not text or len(text) > _TEXT_CHARS_ALWAYS_SHORT_ENOUGH or text.isspace():
        require_text(text)
    for index, field, limit in _LIMITED_FIELDS:
        value: str | None = post[index]  # type: ignore[assignment]  # the string fields only
        if value is not None and len(value) * 4 > limit:
            require_short(value, field)
    moment = post.created_at
    if not EARLIEST_POST_TIME <= moment <= (latest or latest_post_time()):
        require_plausible_time(moment, latest)


_LIMITED_FIELDS = tuple(
    (Post._fields.index(field), field, limit) for field, limit in MAX_FIELD_BYTES.items()
)


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
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00-05:00 is after datetime.max in UTC
        raise InvalidRecord(
            RejectReason.BAD_TIME,
            f"creation time {moment.isoformat()} is outside the range a date can hold in UTC",
        ) from None


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
    one. The checks run in a fixed order (author, text, time, field sizes, counts), so a record
    with several problems is always rejected for the same reason. Without an ``author_id`` the
    handle is used.
    """
    handle = require_author(author_handle)
    checked_text = require_text(text)
    moment = as_utc(created_at) if isinstance(created_at, datetime) else parse_time(created_at)
    require_plausible_time(moment)
    author_id = optional_text(author_id) or handle
    author_name = optional_text(author_name)
    lang, region = optional_text(lang), optional_text(region)
    for field, value in (
        ("post_id", post_id),
        ("author_handle", handle),
        ("author_id", author_id),
        ("author_name", author_name),
        ("lang", lang),
        ("region", region),
    ):
        require_short(value, field)
    return Post(
        post_id,
        source,
        author_id,
        handle,
        checked_text,
        moment,
        author_name,
        lang,
        region,
        parse_count(followers, "followers"),
        parse_count(following, "following"),
        parse_count(author_post_count, "author_post_count"),
        is_retweet,
        parse_count(retweet_count, "retweet_count"),
        parse_count(like_count, "like_count"),
    )
