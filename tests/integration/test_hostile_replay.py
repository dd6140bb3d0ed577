"""Issue 13's replay: real dev posts with every kind of hostile input mixed in, through the whole
real stack. The producer, the speed and master jobs and a batch all finish; every normal row is
counted exactly (serving == reference recount); every bad row is a dead letter with its reason;
produced + rejected == rows in the file.

The file is written to ``tmp_path`` in the followthehashtag (fth) format, which has a post id
column, from dev posts read with the CSV source; no dev data is committed.
"""

from __future__ import annotations

import csv
import io
import itertools
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.ingest.dead_letters import MAX_EXCERPT_BYTES
from pipeline.ingest.limits import RECORD_OVERHEAD_BYTES, sendable
from pipeline.ingest.model import Post, Rejected
from pipeline.ingest.producer import produce
from pipeline.ingest.sources import open_source
from pipeline.ingest.sources.csv_lines import MAX_ROW_BYTES
from pipeline.ingest.sources.csv_profiles import FTH_COLUMNS
from pipeline.ingest.sources.files import MAX_LINE_BYTES
from pipeline.jobs import batch
from pipeline.reference import recount_records
from pipeline.serving import Serving
from pipeline.settings import Settings
from pipeline.text import load_lexicon
from tests.conftest import DEV_TWEETS, fresh_namespace
from tests.integration.test_ingest_roundtrip import consume_all
from tests.integration.test_lambda_exact import assert_exact, drain
from tests.integration.test_producer_failures import set_topic_limit

pytestmark = pytest.mark.integration

DEV_POSTS = 14_000
# Lowered on the test's posts topic so that a post within every field limit can still be too big
# for the broker: the producer must turn it into a dead letter instead of a failed send.
POSTS_TOPIC_LIMIT = 32 * 1024
HEADER = list(FTH_COLUMNS)
TOKEN_BOMB = "tokenbomb"  # the author of valid posts whose text normalises to one huge token


def fth_fields(post_id: str, handle: str, text: str, date: str, hour: str) -> list[str]:
    fields = dict.fromkeys(HEADER, "")
    fields.update(
        {
            "Tweet Id": post_id,
            "Date": date,
            "Hour": hour,
            "User Name": handle,
            "Nickname": handle,
            "Tweet content": text,
            "Followers": "10",
            "Following": "20",
        }
    )
    return [fields[name] for name in HEADER]


def normal_fields(number: int, post: Post) -> list[str]:
    return fth_fields(
        str(10**17 + number),
        post.author_handle,
        post.text,
        post.created_at.strftime("%Y-%m-%d"),
        post.created_at.strftime("%H:%M:%S"),
    )


def row_bytes(fields: list[str]) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerow(fields)
    return buffer.getvalue().encode("utf-8")


def hostile_rows() -> Iterator[tuple[bytes, str | None]]:
    """Each hostile row as raw bytes, with the reason it must be rejected for (None: a valid post
    that must still not stop a job)."""

    def row(
        post_id: str, handle: str = "hostile", text: str = "tea and coffee", **kw: str
    ) -> bytes:
        return row_bytes(
            fth_fields(post_id, handle, text, kw.get("date", "2016-03-21"), kw.get("hour", "10:00"))
        )

    # Item 1: huge text, handle, id; a single token that NFKC blows up past Cassandra's key
    # limit (27 KB of text, within the topic's limit, becomes a token of over 100 KB).
    yield row("h1", text="x" * 70_000), "text_too_long"
    yield row("h2", handle="h" * 70_000), "field_too_long"
    yield row("9" * 70_000), "field_too_long"
    yield row("h4", handle=TOKEN_BOMB, text="coffee " + "\u3300" * 9_000), None
    yield row("h5", handle=TOKEN_BOMB, text="tea " + "\ufdf2" * 9_000 + " break"), None
    # Item 2: dates out of range.
    yield row("h6", date="0001-01-01", hour="00:00"), "bad_time"
    yield row("h7", date="9999-12-31", hour="23:59:59"), "bad_time"
    yield row("h8", date="2099-01-01", hour="12:00"), "bad_time"
    # Lone surrogates (as CESU-8 bytes, the only way a CSV can carry them) in an id and a text.
    yield row("h9-PLACE").replace(b"PLACE", b"\xed\xa0\x80"), "invalid_utf8"
    yield row("h10", text="tea PLACE").replace(b"PLACE", b"\xed\xb0\x80"), "invalid_utf8"
    # An over-long line (no newline for 3 MiB).
    yield row("h11", text="y" * (3 * MAX_LINE_BYTES)), "row_too_long"
    # Bigger than the topic's message limit, yet within every field limit.
    yield row("h12", text="z " * 20_000), "record_too_large"
    # A stray quote closed a few lines later (by the next quoted field).
    yield b'h13,2016-03-21,10:00,x,stray,"unclosed tea,1,1,,,,,,,,,,\n', "bad_row"


def write_hostile_file(path: Path, posts: list[Post]) -> tuple[int, Counter[str], int]:
    """Write the file; return (rows written, expected rejections by reason, valid posts)."""
    plain = [
        post for post in posts if not any(char in post.text for char in ',"\r\n')
    ]  # rows csv writes without quotes: a stray quote before them runs on and on
    plain_ids = {post.post_id for post in plain}
    quoted = [post for post in posts if post.post_id not in plain_ids]
    plain_block_bytes = 0
    block: list[Post] = []
    for post in plain:
        block.append(post)
        plain_block_bytes += len(row_bytes(normal_fields(0, post)))
        if plain_block_bytes > 1.2 * MAX_ROW_BYTES:
            break
    assert plain_block_bytes > MAX_ROW_BYTES, "not enough unquoted dev rows for the stray quote"
    block_ids = {post.post_id for post in block}
    rest = [post for post in posts if post.post_id not in block_ids]
    hostile = list(hostile_rows())
    expected: Counter[str] = Counter(reason for _, reason in hostile if reason)
    valid = len(posts) + sum(1 for _, reason in hostile if reason is None)
    rows = 0
    number = itertools.count()
    with path.open("wb") as out:
        out.write(row_bytes(HEADER))
        # A stray quote that is never closed within MAX_ROW_BYTES: the unquoted rows after it
        # would all be swallowed into one megabytes-long "row" without the bound.
        for post in rest[:200]:
            out.write(row_bytes(normal_fields(next(number), post)))
            rows += 1
        out.write(b'h0,2016-03-21,10:00,x,runaway,"never closed tea,1,1,,,,,,,,,,\n')
        expected["row_too_long"] += 1
        rows += 1
        for post in block:
            out.write(row_bytes(normal_fields(next(number), post)))
            rows += 1
        # Every other hostile row, spread through the remaining normal rows.
        remaining = rest[200:]
        step = max(1, len(remaining) // (len(hostile) + 1))
        for index, post in enumerate(remaining):
            if index % step == 0 and hostile:
                out.write(hostile.pop(0)[0])
                rows += 1
            out.write(row_bytes(normal_fields(next(number), post)))
            rows += 1
        for raw, _ in hostile:
            out.write(raw)
            rows += 1
    assert quoted, "the dev sample has quoted rows too"
    return rows, expected, valid


@pytest.fixture
def hostile_settings(stack: Settings, tmp_path: Path) -> Iterator[Settings]:
    from pipeline.admin import drop_namespace, initialise

    state = tmp_path / "state"
    state.mkdir()
    (state / "jvm").symlink_to(stack.state_dir / "jvm")
    settings = stack.model_copy(
        update={"namespace": fresh_namespace("hx"), "state_dir": state, "ingest_window_seconds": 1}
    )
    initialise(settings)
    yield settings
    drop_namespace(settings)


def test_hostile_input_replayed_through_the_real_stack(
    hostile_settings: Settings, tmp_path: Path, spark
) -> None:
    settings = hostile_settings
    if not DEV_TWEETS.exists():
        pytest.fail(f"development data not found at {DEV_TWEETS}: the suite needs ../shared/data")
    dev = itertools.islice(open_source("csv", [DEV_TWEETS], fmt="ira").records(), DEV_POSTS)
    posts = [record for record in dev if isinstance(record, Post)]
    path = tmp_path / "hostile.csv"
    rows, expected_rejections, valid = write_hostile_file(path, posts)
    set_topic_limit(settings, settings.posts_topic, POSTS_TOPIC_LIMIT)

    summary = produce(settings, open_source("csv", [path], fmt="fth").records())

    assert summary.failed == 0, summary.failures
    assert summary.read == rows
    assert summary.produced + sum(summary.rejected.values()) == rows
    assert summary.produced == valid
    assert dict(summary.rejected) == dict(expected_rejections)
    letters = consume_all(settings, settings.dead_letter_topic)
    assert Counter(dict(m.headers)["reason"].decode() for m in letters) == expected_rejections
    for letter in letters:
        headers = dict(letter.headers)
        assert headers["message"], headers
        assert len(letter.value) <= MAX_EXCERPT_BYTES
        assert int(headers["raw_bytes"]) >= len(letter.value)

    # The reference counts what the source reads, less what the producer turned away.
    value_limit = POSTS_TOPIC_LIMIT - RECORD_OVERHEAD_BYTES
    records = [
        record
        for record in open_source("csv", [path], fmt="fth").records()
        if isinstance(record, Post) and not isinstance(sendable(record, value_limit), Rejected)
    ]
    truth = recount_records(records, load_lexicon(settings.lexicon_path))
    assert truth.posts == valid
    assert truth.posts_by_author[TOKEN_BOMB] == 2
    authors = sorted(truth.posts_by_author)
    pairs = [(TOKEN_BOMB, authors[0]), (authors[1], authors[-1]), (authors[2], authors[3])]

    # Speed only, then batch only: the streaming jobs and the batch finish, counts are exact.
    drain(settings, "speed", "master")
    assert_exact(settings, truth, pairs, records, min_trending_terms=0)
    with Serving(settings) as serving:
        assert serving.word_counts(TOKEN_BOMB) == dict(truth.words_by_author[TOKEN_BOMB])
    time.sleep(2 * settings.ingest_window_seconds + 2)
    result = batch.run_once(settings, spark=spark)
    assert result.status == "succeeded"
    assert result.posts_counted == truth.posts
    assert_exact(settings, truth, pairs, records, min_trending_terms=0)
    with Serving(settings) as serving:
        assert serving.word_counts(TOKEN_BOMB) == dict(truth.words_by_author[TOKEN_BOMB])
