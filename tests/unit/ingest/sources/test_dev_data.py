"""The CSV source on the first rows of the real development data (../shared/data)."""

from __future__ import annotations

import csv
import gzip
import io
import itertools
from collections import Counter
from pathlib import Path

import pytest

from pipeline.ingest.model import Post, Rejected
from pipeline.ingest.sources import open_source

# tests/unit/ingest/sources/ -> the repository is parents[4]; shared/ sits beside it.
DEV_TWEETS = (
    Path(__file__).resolve().parents[4] / ".." / "shared" / "data" / "ira-tweets-dev.csv.gz"
).resolve()
ROWS = 20_000


def independent_row_count(path: Path, rows: int) -> int:
    """Data rows among the first ``rows``, counted with nothing but the csv module."""
    with gzip.open(path, "rt", encoding="utf-8", errors="surrogateescape", newline="") as text:
        reader = csv.reader(text)
        next(reader)  # header
        return sum(1 for row in itertools.islice(reader, rows) if row)


def first_records() -> list[Post | Rejected]:
    # A missing data set is a broken checkout, not a reason to pass quietly.
    if not DEV_TWEETS.exists():
        pytest.fail(f"development data not found at {DEV_TWEETS} (../shared/data)")
    return list(itertools.islice(open_source("csv", [DEV_TWEETS], fmt="ira").records(), ROWS))


def test_first_rows_of_the_dev_data() -> None:
    records = first_records()
    posts = [r for r in records if isinstance(r, Post)]
    rejected = [r for r in records if isinstance(r, Rejected)]
    assert len(posts) + len(rejected) == independent_row_count(DEV_TWEETS, ROWS) == ROWS
    assert len(posts) > 0.99 * ROWS, Counter(r.reason.value for r in rejected)

    ids = [post.post_id for post in posts]
    assert len(set(ids)) == len(ids)
    again = [r.post_id for r in first_records() if isinstance(r, Post)]
    assert again == ids

    assert all(post.created_at.tzinfo is not None for post in posts)
    assert {post.source for post in posts} == {"file"}
    # U+FFFD is kept when present (valid UTF-8), never produced by the reader itself.
    with gzip.open(DEV_TWEETS, "rt", encoding="utf-8", newline="") as text:
        raw_rows = list(
            itertools.islice(
                csv.reader(io.StringIO("".join(itertools.islice(text, ROWS + 1)), newline="")),
                1,
                None,
            )
        )
    replacement_rows = sum("\ufffd" in row[1] for row in raw_rows)
    assert sum("\ufffd" in post.text for post in posts) == replacement_rows
