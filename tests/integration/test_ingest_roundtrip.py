"""The whole dev file through the producer and back out of Kafka: nothing lost, nothing doubled,
every rejected row accounted for by reason — checked against a count that shares no code with
the CSV source."""

from __future__ import annotations

import csv
import gzip
import hashlib
import itertools
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition

from pipeline.ingest.avro import decode_post
from pipeline.ingest.producer import produce
from pipeline.ingest.sources import open_source
from tests.conftest import DEV_TWEETS

pytestmark = pytest.mark.integration

MAX_TEXT_BYTES = 64 * 1024


def fingerprint(author: str, created_at: datetime, text: str) -> int:
    digest = hashlib.blake2b(
        f"{author}\x1f{created_at.isoformat()}\x1f{text}".encode(), digest_size=8
    )
    return int.from_bytes(digest.digest(), "big")


def independent_rows() -> Iterator[tuple[dict[str, str], datetime] | str]:
    """Each dev row with its time, or the reason it is not a post: rules written out again here,
    sharing no code with the sources."""
    csv.field_size_limit(sys.maxsize)
    with gzip.open(DEV_TWEETS, "rt", encoding="utf-8", newline="") as text:
        for row in csv.DictReader(text):
            author, content = row["author_id"].strip(), row["content"]
            stamp = row["publish_date"].strip()
            if not author:
                yield "missing_author"
            elif not content.strip():
                yield "missing_text"
            elif not stamp:
                yield "missing_time"
            elif len(content.encode()) > MAX_TEXT_BYTES:
                yield "text_too_long"
            else:
                try:
                    created = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
                except ValueError:
                    yield "bad_time"
                    continue
                yield row, created


def independent_count() -> tuple[Counter[str], int, Counter[str]]:
    """Per-author valid rows, an order-independent checksum, and invalid rows by reason."""
    authors: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    checksum = 0
    for outcome in independent_rows():
        if isinstance(outcome, str):
            rejected[outcome] += 1
            continue
        row, created = outcome
        author = row["author_id"].strip()
        authors[author] += 1
        checksum = (checksum + fingerprint(author, created, row["content"])) % 2**64
    return authors, checksum, rejected


def consume_all(settings, topic: str) -> list:
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        ends = consumer.end_offsets(partitions)
        messages = []
        remaining = {p for p in partitions if ends[p] > 0}
        while remaining:
            for partition, batch in consumer.poll(timeout_ms=5000, max_records=50_000).items():
                messages.extend(batch)
                if consumer.position(partition) >= ends[partition]:
                    remaining.discard(partition)
        return messages
    finally:
        consumer.close()


def test_whole_dev_file_round_trips_exactly(namespace_settings) -> None:
    settings = namespace_settings
    summary = produce(settings, open_source("csv", [DEV_TWEETS], fmt="ira").records())
    authors, checksum, rejected = independent_count()

    assert summary.produced == sum(authors.values())
    assert dict(summary.rejected) == dict(rejected)
    assert_topic_holds(settings, authors, checksum, rejected)


def assert_topic_holds(
    settings, authors: Counter[str], checksum: int, rejected: Counter[str]
) -> None:
    """The posts topic holds exactly these posts (keyed by author id), the dead-letter topic
    exactly these rejections."""
    seen_authors: Counter[str] = Counter()
    seen_checksum = 0
    for message in consume_all(settings, settings.posts_topic):
        post = decode_post(message.value)
        assert message.key == post["author_id"].encode()
        seen_authors[post["author_handle"]] += 1
        seen_checksum = (
            seen_checksum + fingerprint(post["author_handle"], post["created_at"], post["text"])
        ) % 2**64
    assert seen_authors == authors
    assert seen_checksum == checksum

    reasons = Counter(
        dict(message.headers)["reason"].decode()
        for message in consume_all(settings, settings.dead_letter_topic)
    )
    assert reasons == rejected


# Renderings of a dev sample in the other input formats: (valid rows, folder) -> the file, plus
# the rejections its deliberately broken records must produce.
SAMPLE_ROWS = 20_000
Rendering = Callable[[list[tuple[dict[str, str], datetime]], Path], tuple[Path, Counter[str]]]


def render_fth(rows: list[tuple[dict[str, str], datetime]], folder: Path) -> tuple[Path, Counter]:
    header = [
        "Tweet Id", "Date", "Hour", "User Name", "Nickname", "Bio", "Tweet content", "Favs",
        "RTs", "Latitude", "Longitude", "Country", "Place (as appears on Bio)",
        "Profile picture", "Followers", "Following", "Listed", "Tweet language (ISO 639-1)",
        "Tweet Url",
    ]  # fmt: skip
    path = folder / "fth.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for number, (row, created) in enumerate(rows):
            author = row["author_id"].strip()
            fields = dict.fromkeys(header, "")
            fields.update(
                {
                    "Tweet Id": str(10**17 + number),
                    "Date": created.strftime("%Y-%m-%d"),
                    "Hour": created.strftime("%H:%M:%S"),
                    "User Name": author,
                    "Nickname": author,
                    "Tweet content": row["content"],
                    "Followers": row["followers"],
                    "Following": row["following"],
                }
            )
            writer.writerow([fields[name] for name in header])
        broken = dict.fromkeys(header, "")
        broken.update({"Tweet Id": "1", "Nickname": "x", "Tweet content": "tea", "Date": "soon"})
        broken["Hour"] = "10:00"
        writer.writerow([broken[name] for name in header])
        broken.update({"Tweet Id": "2", "Date": "2016-03-21", "Hour": "10:00", "Nickname": ""})
        writer.writerow([broken[name] for name in header])
    return path, Counter({"bad_time": 1, "missing_author": 1})


def render_jsonl(rows: list[tuple[dict[str, str], datetime]], folder: Path) -> tuple[Path, Counter]:
    path = folder / "x.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for number, (row, created) in enumerate(rows):
            author = row["author_id"].strip()
            user_id = str(int.from_bytes(hashlib.blake2b(author.encode(), digest_size=6).digest()))
            response = {
                "data": {
                    "id": str(10**17 + number),
                    "text": row["content"],
                    "author_id": user_id,
                    "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                },
                "includes": {"users": [{"id": user_id, "username": author, "name": author}]},
            }
            out.write(json.dumps(response, ensure_ascii=False) + "\n")
        out.write("{not json\n")
        orphan = {"data": {"id": "1", "text": "tea", "author_id": "9", "created_at": "2016"}}
        out.write(json.dumps(orphan) + "\n")
    return path, Counter({"not_json": 1, "missing_author": 1})


@pytest.mark.parametrize(
    ("source", "fmt", "render"), [("csv", "fth", render_fth), ("jsonl", "auto", render_jsonl)]
)
def test_other_formats_of_a_dev_sample_round_trip_exactly(
    namespace_settings, tmp_path: Path, source: str, fmt: str, render: Rendering
) -> None:
    rows = [
        outcome
        for outcome in itertools.islice(independent_rows(), SAMPLE_ROWS)
        if not isinstance(outcome, str)
    ]
    path, rejected = render(rows, tmp_path)
    authors = Counter(row["author_id"].strip() for row, _ in rows)
    checksum = (
        sum(fingerprint(row["author_id"].strip(), created, row["content"]) for row, created in rows)
        % 2**64
    )

    summary = produce(namespace_settings, open_source(source, [path], fmt=fmt).records())

    assert summary.produced == len(rows)
    assert dict(summary.rejected) == dict(rejected)
    assert_topic_holds(namespace_settings, authors, checksum, rejected)


def test_several_sender_processes_lose_nothing_and_keep_each_authors_order(
    namespace_settings,
) -> None:
    rows = 50_000
    expected_order: dict[str, list[int]] = {}
    rejected: Counter[str] = Counter()
    for outcome in itertools.islice(independent_rows(), rows):
        if isinstance(outcome, str):
            rejected[outcome] += 1
            continue
        row, created = outcome
        author = row["author_id"].strip()
        expected_order.setdefault(author, []).append(fingerprint(author, created, row["content"]))
    authors = Counter({author: len(prints) for author, prints in expected_order.items()})
    checksum = sum(sum(prints) for prints in expected_order.values()) % 2**64

    records = itertools.islice(open_source("csv", [DEV_TWEETS], fmt="ira").records(), rows)
    summary = produce(namespace_settings, records, senders=2)

    assert summary.produced == sum(authors.values())
    assert dict(summary.rejected) == dict(rejected)
    assert_topic_holds(namespace_settings, authors, checksum, rejected)
    # An author's posts share a key, so one partition; in offset order they are in input order.
    seen_order: dict[str, list[int]] = {}
    messages = consume_all(namespace_settings, namespace_settings.posts_topic)
    for message in sorted(messages, key=lambda m: (m.partition, m.offset)):
        post = decode_post(message.value)
        seen_order.setdefault(post["author_handle"], []).append(
            fingerprint(post["author_handle"], post["created_at"], post["text"])
        )
    assert seen_order == expected_order
