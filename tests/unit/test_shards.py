"""The account shard: a pure, stable function of the author id (its Spark twin is checked against
a real Spark session in tests/integration/test_account_shards.py)."""

from __future__ import annotations

from collections import Counter

from pipeline.shards import ACCOUNT_SHARDS, account_shard, xxhash64


def as_signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def test_xxhash64_matches_the_published_xxh64_vectors() -> None:
    # Reference values of XXH64 with seed 0 (xxHash's own sanity checks).
    assert xxhash64(b"", seed=0) == as_signed(0xEF46DB3751D8E999)
    assert xxhash64(b"a", seed=0) == as_signed(0xD24EC4F1A98C6E5B)
    assert xxhash64(b"abc", seed=0) == as_signed(0x44BC2CF5AD770999)


def test_shards_are_in_range_stable_and_spread() -> None:
    authors = [f"did:plc:{n:024x}" for n in range(4000)]
    shards = [account_shard(author) for author in authors]
    assert all(0 <= shard < ACCOUNT_SHARDS for shard in shards)
    assert shards == [account_shard(author) for author in authors]
    counts = Counter(shards)
    # Every shard used, none holding more than twice its fair share.
    assert len(counts) == ACCOUNT_SHARDS
    assert max(counts.values()) < 2 * len(authors) / ACCOUNT_SHARDS


def test_shard_of_a_non_ascii_id_hashes_its_utf8_bytes() -> None:
    assert account_shard("café") == xxhash64("café".encode()) % ACCOUNT_SHARDS
