"""Dead letters: how a :class:`~pipeline.ingest.model.Rejected` input travels on ``<ns>.posts.dlq``.

The record's value is the rejected input's raw bytes, cut to an excerpt of at most
``MAX_EXCERPT_BYTES`` so that a dead letter always fits a Kafka message whatever it rejects (a
megabytes-long CSV "row" after a stray quote, an over-long line). Headers say why:

- ``reason``: the :class:`~pipeline.ingest.model.RejectReason` value;
- ``origin``: where it was read (``file.csv:1234``), ``message``: a sentence for people;
- ``stage``: ``producer``; ``raw_bytes``: the size of the whole input; ``truncated``: ``true``
  when the value is only its first ``MAX_EXCERPT_BYTES`` bytes.

Posts the producer itself turns away (see :func:`rejected_post`) carry their JSON as raw bytes.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pipeline.ingest.model import Post, Rejected, RejectReason

# Large enough to show what was wrong with a row, small enough that a dead letter with its
# headers stays far below any broker's message limit (Kafka's default is 1 MiB).
MAX_EXCERPT_BYTES = 16 * 1024
MAX_HEADER_BYTES = 1024

Headers = list[tuple[str, bytes]]


def bounded_utf8(text: str, limit: int = MAX_HEADER_BYTES) -> bytes:
    """``text`` as UTF-8 of at most ``limit`` bytes, cut on a character boundary; characters
    UTF-8 cannot hold (lone surrogates) are written as backslash escapes."""
    data = text.encode("utf-8", "backslashreplace")
    if len(data) <= limit:
        return data
    return data[: limit - 3].decode("utf-8", "ignore").encode() + b"..."


def dead_letter(rejected: Rejected) -> tuple[bytes, Headers]:
    """The value and headers of the dead letter of ``rejected``, bounded in size."""
    raw = rejected.raw
    headers: Headers = [
        ("reason", rejected.reason.value.encode()),
        ("origin", bounded_utf8(rejected.position)),
        ("message", bounded_utf8(rejected.message)),
        ("stage", b"producer"),
        ("raw_bytes", str(len(raw)).encode()),
    ]
    if len(raw) > MAX_EXCERPT_BYTES:
        headers.append(("truncated", b"true"))
        raw = raw[:MAX_EXCERPT_BYTES]
    return raw, headers


def post_json(post: Post) -> bytes:
    """A post as JSON, ASCII-escaped so that even a lone surrogate survives exactly."""
    fields: dict[str, Any] = post._asdict()
    if isinstance(post.created_at, datetime):
        fields["created_at"] = post.created_at.isoformat()
    return json.dumps(fields, ensure_ascii=True, default=str).encode("ascii")


def rejected_post(post: Post, reason: RejectReason, message: str) -> Rejected:
    """A post the producer cannot send, as a rejected input (its JSON, truncated later)."""
    return Rejected(post_json(post), f"post {str(post.post_id)[:200]!r}", reason, message)
