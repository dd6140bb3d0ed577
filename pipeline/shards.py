"""Which partition an account's rows live in.

Account views are spread over ``ACCOUNT_SHARDS`` partitions by a stable hash of the author id, so
no partition grows with the number of accounts times the speed windows. The Spark jobs compute the
shard in the JVM as ``pmod(xxhash64(author), ACCOUNT_SHARDS)`` (:func:`account_shard_column`);
:func:`account_shard` is its Python twin (Spark's ``xxhash64`` is XXH64 of the UTF-8 bytes with
seed 42, read as a signed 64-bit integer). Changing ``ACCOUNT_SHARDS`` moves rows between
partitions, so it is a constant, not a setting: serving reads every shard.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import Column

ACCOUNT_SHARDS = 16
SPARK_HASH_SEED = 42

_MASK = (1 << 64) - 1
_P1 = 0x9E3779B185EBCA87
_P2 = 0xC2B2AE3D27D4EB4F
_P3 = 0x165667B19E3779F9
_P4 = 0x85EBCA77C2B2AE63
_P5 = 0x27D4EB2F165667C5


def _rotl(value: int, bits: int) -> int:
    return ((value << bits) | (value >> (64 - bits))) & _MASK


def _round(acc: int, lane: int) -> int:
    acc = (acc + lane * _P2) & _MASK
    return (_rotl(acc, 31) * _P1) & _MASK


def _merge(acc: int, lane: int) -> int:
    acc ^= _round(0, lane)
    return (acc * _P1 + _P4) & _MASK


def xxhash64(data: bytes, seed: int = SPARK_HASH_SEED) -> int:
    """XXH64 of ``data`` as a signed 64-bit integer, the value Spark's ``xxhash64`` returns."""
    length = len(data)
    pos = 0
    if length >= 32:
        lanes = [
            (seed + _P1 + _P2) & _MASK,
            (seed + _P2) & _MASK,
            seed & _MASK,
            (seed - _P1) & _MASK,
        ]
        while pos + 32 <= length:
            for i in range(4):
                word = int.from_bytes(data[pos : pos + 8], "little")
                lanes[i] = _round(lanes[i], word)
                pos += 8
        acc = (
            _rotl(lanes[0], 1) + _rotl(lanes[1], 7) + _rotl(lanes[2], 12) + _rotl(lanes[3], 18)
        ) & _MASK
        for lane in lanes:
            acc = _merge(acc, lane)
    else:
        acc = (seed + _P5) & _MASK
    acc = (acc + length) & _MASK
    while pos + 8 <= length:
        acc ^= _round(0, int.from_bytes(data[pos : pos + 8], "little"))
        acc = (_rotl(acc, 27) * _P1 + _P4) & _MASK
        pos += 8
    if pos + 4 <= length:
        acc ^= (int.from_bytes(data[pos : pos + 4], "little") * _P1) & _MASK
        acc = (_rotl(acc, 23) * _P2 + _P3) & _MASK
        pos += 4
    while pos < length:
        acc ^= (data[pos] * _P5) & _MASK
        acc = (_rotl(acc, 11) * _P1) & _MASK
        pos += 1
    acc ^= acc >> 33
    acc = (acc * _P2) & _MASK
    acc ^= acc >> 29
    acc = (acc * _P3) & _MASK
    acc ^= acc >> 32
    return acc - (1 << 64) if acc >= 1 << 63 else acc


def account_shard(author: str, shards: int = ACCOUNT_SHARDS) -> int:
    """The partition of ``author``'s account rows (Spark: :func:`account_shard_column`)."""
    # Python's % with a positive divisor is Spark's pmod: never negative.
    return xxhash64(author.encode("utf-8")) % shards


def account_shard_column(author: Column, shards: int = ACCOUNT_SHARDS) -> Column:
    """``pmod(xxhash64(author), shards)``: :func:`account_shard`, computed in the JVM."""
    from pyspark.sql import functions as F

    return F.pmod(F.xxhash64(author), F.lit(shards)).cast("int")
