"""The batch slot's packed vocabulary, made by Spark, unpacks in Python to exactly what went in."""

from __future__ import annotations

import random

import pytest

from pipeline.jobs.aggregates import packed_vocabulary
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
