"""The remembering partitioner picks exactly the partitions kafka-python's default one picks."""

from __future__ import annotations

from kafka.partitioner import DefaultPartitioner

from pipeline.ingest.producer import RememberingPartitioner


class Metadata:
    """The slice of kafka-python's ClusterMetadata a partitioner reads."""

    def __init__(self, partitions: int) -> None:
        self.partitions = set(range(partitions))

    def topics(self) -> set[str]:
        return {"posts"}

    def partitions_for_topic(self, topic: str) -> set[int]:
        return self.partitions

    def available_partitions_for_topic(self, topic: str) -> set[int]:
        return self.partitions


def choose(partitioner, key: bytes | None, cluster: Metadata) -> int:
    return partitioner.partition("posts", key, key, b"v", b"v", cluster)


def test_same_partition_as_the_default_for_every_key_again_and_again() -> None:
    cluster = Metadata(partitions=7)
    remembering, default = RememberingPartitioner(), DefaultPartitioner()
    keys = [f"author-{n}".encode() for n in range(500)] + ["автор".encode(), b""]
    for _ in range(3):
        for key in keys:
            assert choose(remembering, key, cluster) == choose(default, key, cluster), key


def test_a_new_partition_count_is_not_answered_from_memory() -> None:
    remembering, default = RememberingPartitioner(), DefaultPartitioner()
    keys = [f"author-{n}".encode() for n in range(200)]
    for key in keys:
        choose(remembering, key, Metadata(partitions=4))
    grown = Metadata(partitions=12)
    assert [choose(remembering, k, grown) for k in keys] == [
        choose(default, k, grown) for k in keys
    ]
    assert any(choose(default, k, grown) >= 4 for k in keys)


def test_keyless_records_still_spread() -> None:
    cluster = Metadata(partitions=4)
    chosen = {choose(RememberingPartitioner(), None, cluster) for _ in range(200)}
    assert len(chosen) > 1
