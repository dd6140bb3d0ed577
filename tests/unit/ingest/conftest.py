"""Factories for ingest tests: posts, and CSV / JSON Lines files written into ``tmp_path``."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.ingest.model import Post

IRA_HEADER = [
    "author_id",
    "content",
    "region",
    "language",
    "publish_date",
    "harvested_date",
    "following",
    "followers",
    "updates",
    "post_type",
    "retweet",
]

FTH_HEADER = [
    "Tweet Id",
    "Date",
    "Hour",
    "User Name",
    "Nickname",
    "Bio",
    "Tweet content",
    "Favs",
    "RTs",
    "Latitude",
    "Longitude",
    "Country",
    "Place (as appears on Bio)",
    "Profile picture",
    "Followers",
    "Following",
    "Listed",
    "Tweet language (ISO 639-1)",
    "Tweet Url",
]


def ira_row(**values: str) -> list[str]:
    """A valid IRA row; keyword arguments replace columns by name."""
    row = {
        "author_id": "alice_b",
        "content": "Morning coffee and the news",
        "region": "United States",
        "language": "English",
        "publish_date": "2015-05-25 12:38:00",
        "harvested_date": "2015-05-25 12:38:00",
        "following": "59",
        "followers": "51",
        "updates": "353",
        "post_type": "",
        "retweet": "0",
    }
    unknown = set(values) - set(row)
    assert not unknown, f"not IRA columns: {unknown}"
    row.update(values)
    return [row[name] for name in IRA_HEADER]


def fth_row(**values: str) -> list[str]:
    row = dict.fromkeys(FTH_HEADER, "")
    row.update(
        {
            "Tweet Id": "712345678901234567",
            "Date": "2016-03-21",
            "Hour": "14:32",
            "User Name": "Bea Smith",
            "Nickname": "bea_s",
            "Tweet content": "tea time at last",
            "Favs": "3",
            "RTs": "1",
            "Country": "GB",
            "Followers": "120",
            "Following": "80",
            "Tweet language (ISO 639-1)": "en",
        }
    )
    unknown = set(values) - set(row)
    assert not unknown, f"not fth columns: {unknown}"
    row.update(values)
    return [row[name] for name in FTH_HEADER]


def csv_bytes(
    header: Sequence[str] | None, rows: Sequence[Sequence[str]], delimiter: str = ","
) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[..., Path]:
    """Write bytes to ``tmp_path / name``, gzip-compressed when asked."""

    def write(content: bytes, name: str = "posts.csv", *, compress: bool = False) -> Path:
        path = tmp_path / name
        path.write_bytes(gzip.compress(content) if compress else content)
        return path

    return write


@pytest.fixture
def write_csv(write_file: Callable[..., Path]) -> Callable[..., Path]:
    """Write an IRA-format CSV (or any header) with the csv module's quoting."""

    def write(
        rows: Sequence[Sequence[str]],
        *,
        header: Sequence[str] | None = IRA_HEADER,
        name: str = "posts.csv",
        compress: bool = False,
        delimiter: str = ",",
    ) -> Path:
        return write_file(csv_bytes(header, rows, delimiter), name, compress=compress)

    return write


@pytest.fixture
def write_jsonl(write_file: Callable[..., Path]) -> Callable[..., Path]:
    def write(lines: Sequence[Any], name: str = "tweets.jsonl") -> Path:
        encoded = [line if isinstance(line, bytes) else json.dumps(line).encode() for line in lines]
        return write_file(b"\n".join(encoded) + b"\n", name)

    return write


def make_post(**overrides: Any) -> Post:
    values: dict[str, Any] = {
        "post_id": "1",
        "source": "file",
        "author_id": "42",
        "author_handle": "alice_b",
        "text": "tea or coffee?",
        "created_at": datetime(2020, 2, 29, 23, 59, 59, 123000, tzinfo=UTC),
        "author_name": "Alice B",
        "lang": "en",
        "region": "Lisbon",
        "followers": 10,
        "following": 20,
        "author_post_count": 300,
        "is_retweet": False,
        "retweet_count": 0,
        "like_count": 5,
    }
    values.update(overrides)
    return Post(**values)
