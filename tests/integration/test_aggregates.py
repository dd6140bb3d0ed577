"""Packed views made by Spark (vocabularies, term tallies) unpack in Python to exactly what went
in."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.jobs import aggregates
from pipeline.jobs.aggregates import packed_terms, packed_vocabulary
from pipeline.trending import unpack_terms
from pipeline.views import VOCABULARY_CHUNKS, unpack_vocabulary

pytestmark = pytest.mark.integration


def test_packed_vocabulary_round_trips(spark) -> None:
    rng = random.Random(3)
    letters = "abcdefghijklmnopqrstuvwxyzабвгдежзαβγ'’_0123456789"
    vocabularies = {
        "busy": {
            "".join(rng.choice(letters) for _ in range(rng.randint(2, 12))) + "x": rng.randint(
                1, 10**6
            )
            for _ in range(5_000)
        },
        "quiet": {"coffee": 1},
        "кофеман": {"кофе": 3, "don't": 2, "l’eau": 1},
    }
    rows = [
        (author, word, uses)
        for author, vocabulary in vocabularies.items()
        for word, uses in vocabulary.items()
    ]
    frame = spark.createDataFrame(rows, "author string, word string, uses long")
    packed = packed_vocabulary(frame, []).collect()

    for author, vocabulary in vocabularies.items():
        chunks = [row for row in packed if row.author == author]
        assert unpack_vocabulary((row.words, row.uses) for row in chunks) == vocabulary
        assert sorted(row.chunk for row in chunks) == sorted({row.chunk for row in chunks})
        assert all(0 <= row.chunk < VOCABULARY_CHUNKS for row in chunks)
    # 5,000 words fill every chunk: the spread works, no chunk holds the whole vocabulary.
    assert len([row for row in packed if row.author == "busy"]) == VOCABULARY_CHUNKS


def test_speed_vocabulary_packs_each_account_and_micro_batch_into_one_row(spark) -> None:
    rows = [
        ("a", 7, "coffee", 2),
        ("a", 7, "tea", 1),
        ("a", 8, "coffee", 5),
        ("b", 7, "кофе", 3),
    ]
    frame = spark.createDataFrame(rows, "author string, micro_batch long, word string, uses long")
    packed = packed_vocabulary(frame, ["micro_batch"], chunks=1).collect()

    assert sorted((row.author, row.micro_batch) for row in packed) == [("a", 7), ("a", 8), ("b", 7)]
    assert {row.chunk for row in packed} == {0}
    unpacked = {
        (row.author, row.micro_batch): unpack_vocabulary([(row.words, row.uses)]) for row in packed
    }
    assert unpacked == {
        ("a", 7): {"coffee": 2, "tea": 1},
        ("a", 8): {"coffee": 5},
        ("b", 7): {"кофе": 3},
    }


def _term_posts(rng: random.Random, buckets: dict[datetime, int]) -> list[tuple]:
    """(author_id, created_at, terms) posts: ``buckets`` maps a bucket's start to its posts.
    Few authors and terms, so that terms recur across packs; one handle needs JSON escapes."""
    authors = ["ann", "bob", 'odd "handle" \\ with\nnewline', "кофеман", "zed"]
    vocabulary = ["coffee", "#tea", "@bob", "кофе", "latte", "#brunch", "mocha"]
    posts = []
    for start, count in buckets.items():
        for index in range(count):
            moment = start + timedelta(seconds=rng.uniform(0, 299), microseconds=index)
            terms = rng.sample(vocabulary, rng.randint(0, 4))
            posts.append((rng.choice(authors), moment, terms))
    return posts


def _expected_tallies(posts: list[tuple]) -> dict[datetime, dict[str, tuple[int, set[str]]]]:
    tallies: dict[datetime, dict[str, tuple[int, set[str]]]] = defaultdict(dict)
    for author, moment, terms in posts:
        bucket = moment.replace(minute=moment.minute - moment.minute % 5, second=0, microsecond=0)
        for term in terms:
            count, names = tallies[bucket].get(term, (0, set()))
            tallies[bucket][term] = (count + 1, names | {author})
    return tallies


def _unpacked_tallies(rows) -> dict[datetime, dict[str, tuple[int, set[str]]]]:
    """What a reader sees: a term's rows within a bucket added up."""
    tallies: dict[datetime, dict[str, tuple[int, set[str]]]] = defaultdict(dict)
    for row in rows:
        bucket = row.bucket.replace(tzinfo=UTC)
        for term, count, names in unpack_terms(row.terms, row.posts, row.authors):
            seen, authors = tallies[bucket].get(term, (0, set()))
            tallies[bucket][term] = (seen + count, authors | set(names or []))
    return tallies


@pytest.mark.parametrize("packs", [None, 3])
def test_packed_terms_split_dense_buckets_and_still_add_up_to_each_terms_tally(
    spark, monkeypatch, packs
) -> None:
    # Packs of at most 10 posts: the dense bucket is split (in as many packs as its posts with
    # terms need, or the fixed 3); the sparse one stays one row when packs are counted.
    monkeypatch.setattr(aggregates, "POSTS_PER_PACK", 10)
    dense, sparse = datetime(2026, 3, 1, 12, 0, tzinfo=UTC), datetime(2026, 3, 1, 13, 5, tzinfo=UTC)
    posts = _term_posts(random.Random(11), {dense: 45, sparse: 4})
    frame = spark.createDataFrame(
        posts, "author_id string, created_at timestamp, terms array<string>"
    )

    rows = packed_terms(frame, [], 300, packs=packs).collect()

    assert _unpacked_tallies(rows) == _expected_tallies(posts)
    chunks = defaultdict(list)
    for row in rows:
        assert row.hour == row.bucket.replace(minute=0)
        chunks[row.bucket.replace(tzinfo=UTC)].append(row.chunk)
    assert all(len(found) == len(set(found)) for found in chunks.values())
    dense_posts_with_terms = sum(1 for _, moment, terms in posts if terms and moment < sparse)
    assert len(chunks[dense]) == (-(-dense_posts_with_terms // 10) if packs is None else packs)
    if packs is None:
        assert len(chunks[sparse]) == 1
