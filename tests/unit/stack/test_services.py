from __future__ import annotations

import base64

from pipeline.stack.services import new_cluster_id


def test_cluster_ids_are_kafka_uuids_that_never_look_like_an_option() -> None:
    ids = [new_cluster_id() for _ in range(5_000)]
    # One id in 64 would start with "-" if nothing prevented it: 5,000 draws all but surely
    # include such draws, so this fails if the redraw is missing.
    assert not any(value.startswith("-") for value in ids)
    assert len(set(ids)) == len(ids)
    for value in ids[:100]:
        assert len(value) == 22
        assert len(base64.urlsafe_b64decode(value + "==")) == 16
