from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from pipeline.ingest.model import (
    MAX_TEXT_BYTES,
    InvalidRecord,
    RejectReason,
    build_post,
    parse_count,
    parse_time,
    require_text,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12", 12),
        (" 7 ", 7),
        ("0", 0),
        ("12.0", 12),
        ("", None),
        ("  ", None),
        (None, None),
        ("NaN", None),
        ("-1", None),  # exports write -1 for "unknown"
        (-1, None),
        (5, 5),
        (3.0, 3),
        (str(2**63 - 1), 2**63 - 1),
    ],
)
def test_counts_accept_whole_numbers(value: object, expected: int | None) -> None:
    assert parse_count(value, "followers") == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value", ["abc", "1_000", "12.5", "-2", "١٢", "1e3", str(2**63), True, 1.5, [1], "0x10"]
)
def test_counts_reject_other_values_as_bad_type(value: object) -> None:
    with pytest.raises(InvalidRecord) as caught:
        parse_count(value, "followers")  # type: ignore[arg-type]
    assert caught.value.reason is RejectReason.BAD_TYPE
    assert "followers" in caught.value.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2015-05-25 12:38:00", datetime(2015, 5, 25, 12, 38, tzinfo=UTC)),
        ("2023-01-02T03:04:05.678Z", datetime(2023, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)),
        ("2023-01-02T05:04:05+02:00", datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ],
)
def test_times_are_utc(value: str, expected: datetime) -> None:
    parsed = parse_time(value)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "missing_time"),
        (None, "missing_time"),
        ("yesterday", "bad_time"),
        ("2015-13-01", "bad_time"),
    ],
)
def test_bad_times(value: str | None, reason: str) -> None:
    with pytest.raises(InvalidRecord) as caught:
        parse_time(value)
    assert caught.value.reason == reason


def test_text_limit_counts_utf8_bytes_not_characters() -> None:
    at_limit = "é" * (MAX_TEXT_BYTES // 2)  # 2 bytes each
    assert require_text(at_limit) == at_limit
    with pytest.raises(InvalidRecord) as caught:
        require_text(at_limit + "x")
    assert caught.value.reason is RejectReason.TEXT_TOO_LONG


@pytest.mark.parametrize("text", ["", "   \n", None])
def test_blank_text_is_missing(text: str | None) -> None:
    with pytest.raises(InvalidRecord) as caught:
        require_text(text)
    assert caught.value.reason is RejectReason.MISSING_TEXT


def base_fields(**overrides: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "post_id": "p1",
        "source": "file",
        "author_id": "",
        "author_handle": " bob ",
        "text": "hello",
        "created_at": "2020-01-01 00:00:00",
        "followers": "3",
        "lang": "",
    }
    fields.update(overrides)
    return fields


def test_build_post_normalises_optional_values() -> None:
    post = build_post(**base_fields())  # type: ignore[arg-type]
    assert post.author_handle == "bob"
    assert post.author_id == "bob"  # no id: the handle stands in
    assert post.lang is None
    assert post.followers == 3
    assert post.created_at == datetime(2020, 1, 1, tzinfo=UTC)


def test_build_post_converts_aware_datetimes_to_utc() -> None:
    local = datetime(2020, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=1)))
    post = build_post(**base_fields(created_at=local))  # type: ignore[arg-type]
    assert post.created_at == datetime(2020, 1, 1, tzinfo=UTC)
    assert post.created_at.tzinfo is UTC


def test_build_post_checks_in_a_fixed_order() -> None:
    with pytest.raises(InvalidRecord) as caught:
        build_post(**base_fields(author_handle="", text="", created_at="x"))  # type: ignore[arg-type]
    assert caught.value.reason is RejectReason.MISSING_AUTHOR
    with pytest.raises(InvalidRecord) as caught:
        build_post(**base_fields(text="", created_at="x"))  # type: ignore[arg-type]
    assert caught.value.reason is RejectReason.MISSING_TEXT
