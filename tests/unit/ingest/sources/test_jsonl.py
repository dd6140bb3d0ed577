from __future__ import annotations

import gzip
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.ingest.model import Post, Rejected
from pipeline.ingest.sources.jsonl import JsonLinesSource


def response(
    tweet: dict[str, Any] | None = None, user: dict[str, Any] | None = None
) -> dict[str, Any]:
    data = {
        "id": "1600000000000000001",
        "text": "iced coffee season",
        "author_id": "99",
        "created_at": "2022-12-06T10:15:30.000Z",
        "lang": "en",
        "public_metrics": {"retweet_count": 2, "like_count": 7, "reply_count": 0},
    }
    data.update(tweet or {})
    author = {
        "id": "99",
        "username": "dana_k",
        "name": "Dana K",
        "location": "Oslo",
        "public_metrics": {"followers_count": 321, "following_count": 12, "tweet_count": 4567},
    }
    author.update(user or {})
    return {"data": data, "includes": {"users": [author]}}


def read(path: Path) -> list[Post | Rejected]:
    return list(JsonLinesSource([path]).records())


def test_stream_response_becomes_a_post(write_jsonl: Callable[..., Path]) -> None:
    [post] = read(write_jsonl([response()]))
    assert isinstance(post, Post)
    assert post == Post(
        post_id="1600000000000000001",
        source="x",
        author_id="99",
        author_handle="dana_k",
        text="iced coffee season",
        created_at=datetime(2022, 12, 6, 10, 15, 30, tzinfo=UTC),
        author_name="Dana K",
        lang="en",
        region="Oslo",
        followers=321,
        following=12,
        author_post_count=4567,
        is_retweet=False,
        retweet_count=2,
        like_count=7,
    )


def test_retweets_and_search_pages(write_jsonl: Callable[..., Path]) -> None:
    page = response({"referenced_tweets": [{"type": "retweeted", "id": "5"}]})
    quoted = response({"id": "2", "referenced_tweets": [{"type": "quoted", "id": "5"}]})["data"]
    page["data"] = [page["data"], quoted]
    posts = [r for r in read(write_jsonl([page])) if isinstance(r, Post)]
    assert [(p.post_id, p.is_retweet) for p in posts] == [
        ("1600000000000000001", True),
        ("2", False),
    ]


def test_hostile_lines(write_jsonl: Callable[..., Path]) -> None:
    lines: list[Any] = [
        b"{not json",
        b'{"data": {"id": "1", "text": "caf\xe9"}}',
        b"",  # blank: skipped
        response({"text": "\ud800 lone"}),
        response({"text": ""}),
        response({"text": "x" * 1_000_000}),
        response({"created_at": "last tuesday"}),
        response({"created_at": None}),
        response(user={"public_metrics": {"followers_count": "abc"}}),
        response({"author_id": "7"}),  # no such user included
        response(user={"username": ""}),
        response({"text": 12}),
        [1, 2],
        {"errors": [{"title": "operational-disconnect"}]},
        response({"text": "nul\x00 inside"}),
    ]
    records = read(write_jsonl(lines))
    reasons = [r.reason.value if isinstance(r, Rejected) else "post" for r in records]
    assert reasons == [
        "not_json",
        "invalid_utf8",
        "invalid_utf8",
        "missing_text",
        "text_too_long",
        "bad_time",
        "missing_time",
        "bad_type",
        "missing_author",
        "missing_author",
        "bad_type",
        "bad_type",
        "bad_row",
        "post",
    ]
    positions = [r.position.rsplit(":", 1)[1] for r in records if isinstance(r, Rejected)]
    assert positions[:3] == ["1", "2", "4"]
    assert records[0].raw == b"{not json\n"  # type: ignore[union-attr]
    assert "operational-disconnect" in records[12].message  # type: ignore[union-attr]


def test_empty_and_truncated_gzip_files(write_file: Callable[..., Path]) -> None:
    assert read(write_file(b"", "empty.jsonl")) == []
    import json

    content = b"".join(json.dumps(response({"id": str(n)})).encode() + b"\n" for n in range(3000))
    whole = gzip.compress(content)
    records = read(write_file(whole[: len(whole) // 2], "cut.jsonl.gz"))
    assert all(isinstance(r, Post) for r in records[:-1])
    assert len(records) > 1
    last = records[-1]
    assert isinstance(last, Rejected)
    assert last.reason == "bad_row"
    assert "truncated" in last.message


@pytest.mark.parametrize("tweet_id", [123, "123"])
def test_numeric_ids_become_strings(write_jsonl: Callable[..., Path], tweet_id: object) -> None:
    [post] = read(write_jsonl([response({"id": tweet_id})]))
    assert isinstance(post, Post)
    assert post.post_id == "123"
