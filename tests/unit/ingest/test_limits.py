"""Limits every post meets before it is sent: field sizes, a plausible time, text UTF-8 can carry,
a record the topic accepts — and dead letters that always fit a Kafka message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from pipeline.ingest.dead_letters import MAX_EXCERPT_BYTES, MAX_HEADER_BYTES, dead_letter
from pipeline.ingest.limits import sendable
from pipeline.ingest.model import (
    EARLIEST_POST_TIME,
    MAX_FIELD_BYTES,
    InvalidRecord,
    Post,
    Rejected,
    RejectReason,
    build_post,
    check_post,
)
from pipeline.ingest.sources import pacing
from tests.unit.ingest.conftest import make_post

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def build(**overrides: object) -> Post:
    values: dict[str, object] = {
        "post_id": "1",
        "source": "file",
        "author_id": None,
        "author_handle": "alice_b",
        "text": "tea",
        "created_at": "2015-05-25 12:38:00",
    }
    values.update(overrides)
    return build_post(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["post_id", "author_id", "author_handle", "region", "lang"])
def test_over_long_fields_are_rejected_with_their_name(field: str) -> None:
    limit = MAX_FIELD_BYTES[field]
    assert build(**{field: "é" * (limit // 2)}).created_at  # exactly at the limit: accepted
    with pytest.raises(InvalidRecord) as caught:
        build(**{field: "é" * (limit // 2) + "x"})
    assert caught.value.reason is RejectReason.FIELD_TOO_LONG
    assert field in caught.value.message


def test_a_handle_too_long_for_a_cassandra_key_is_rejected() -> None:
    with pytest.raises(InvalidRecord) as caught:
        build(author_handle="h" * 70_000)
    assert caught.value.reason is RejectReason.FIELD_TOO_LONG


@pytest.mark.parametrize(
    "stamp",
    [
        "0001-01-01 00:00:00",
        "9999-12-31 23:59:59",
        "2005-12-31 23:59:59",
        "9999-12-31T23:00:00-05:00",  # past datetime.max once in UTC
        "0001-01-01T00:30:00+01:00",  # before datetime.min once in UTC
    ],
)
def test_times_outside_the_accepted_range_are_bad_time(stamp: str) -> None:
    with pytest.raises(InvalidRecord) as caught:
        build(created_at=stamp)
    assert caught.value.reason is RejectReason.BAD_TIME


def test_the_time_range_is_2006_to_one_day_from_now() -> None:
    assert build(created_at=EARLIEST_POST_TIME).created_at == EARLIEST_POST_TIME
    soon = datetime.now(UTC) + timedelta(hours=23)
    assert build(created_at=soon).created_at == soon
    with pytest.raises(InvalidRecord):
        build(created_at=datetime.now(UTC) + timedelta(days=1, minutes=1))
    local = datetime(2020, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    assert build(created_at=local).created_at == datetime(2020, 1, 1, tzinfo=UTC)


def test_check_post_applies_the_limits_to_posts_built_elsewhere() -> None:
    check_post(make_post(), latest=NOW)
    with pytest.raises(InvalidRecord) as caught:
        check_post(make_post(created_at=datetime(9999, 1, 1, tzinfo=UTC)), latest=NOW)
    assert caught.value.reason is RejectReason.BAD_TIME
    with pytest.raises(InvalidRecord) as caught:
        check_post(make_post(post_id="p" * 10_000), latest=NOW)
    assert caught.value.reason is RejectReason.FIELD_TOO_LONG


def test_retime_never_overflows_because_far_dates_are_rejected_first() -> None:
    """Moving posts to "now" cannot push a year-9999 date past datetime.max: such a date is a
    rejection before any move, and moves of accepted dates stay far inside the range."""
    records: list[Post | Rejected] = []
    for stamp in ("2015-05-25 12:38:00", "9999-12-31 23:59:59", "2016-01-01 00:00:00"):
        try:
            records.append(build(created_at=stamp))
        except InvalidRecord as invalid:
            records.append(Rejected(stamp.encode(), "x:1", invalid.reason, invalid.message))
    newest = pacing.newest_created(records)
    assert newest is not None
    moved = list(pacing.retime_now(records, newest, now=lambda: NOW))
    assert [type(record) for record in moved] == [Post, Rejected, Post]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"text": "bad \ud800 surrogate"}, "invalid_utf8"),
        ({"post_id": "id-\udfff"}, "invalid_utf8"),
        ({"author_handle": "h" * 300}, "field_too_long"),
        ({"created_at": datetime(1, 1, 1, tzinfo=UTC)}, "bad_time"),
        ({"created_at": datetime(9999, 12, 31, tzinfo=UTC)}, "bad_time"),
    ],
)
def test_posts_that_cannot_be_sent_become_rejections_not_exceptions(
    overrides: dict[str, object], reason: str
) -> None:
    checked = sendable(make_post(**overrides), value_limit=1_000_000)
    assert isinstance(checked, Rejected)
    assert checked.reason == reason
    assert checked.raw.isascii()  # the post's JSON, surrogates escaped
    _, headers = dead_letter(checked)
    assert dict(headers)["reason"] == reason.encode()


def test_a_post_over_the_topic_message_limit_is_record_too_large() -> None:
    post = make_post(text="x" * 5_000)
    key_and_value = sendable(post, value_limit=10_000)
    assert isinstance(key_and_value, tuple)
    checked = sendable(post, value_limit=4_000)
    assert isinstance(checked, Rejected)
    assert checked.reason is RejectReason.RECORD_TOO_LARGE


def test_dead_letters_are_bounded_and_say_how_big_the_input_was() -> None:
    huge = Rejected(b"r" * 5_000_000, "f.csv:" + "9" * 5000, RejectReason.ROW_TOO_LONG, "m" * 9000)
    value, headers = dead_letter(huge)
    named = dict(headers)
    assert value == b"r" * MAX_EXCERPT_BYTES
    assert named["truncated"] == b"true"
    assert named["raw_bytes"] == b"5000000"
    assert all(len(content) <= MAX_HEADER_BYTES for content in named.values())
    small = Rejected(b"row", "f.csv:2", RejectReason.BAD_ROW, "lone \ud800 in a message")
    value, headers = dead_letter(small)
    assert value == b"row"
    assert "truncated" not in dict(headers)
    assert dict(headers)["message"] == b"lone \\ud800 in a message"
