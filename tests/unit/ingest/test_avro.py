from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.ingest.avro import (
    HEADER_LENGTH,
    SINGLE_OBJECT_HEADER,
    WRITER_FINGERPRINT,
    WRITER_SCHEMA_JSON,
    AvroDecodeError,
    PostEncodeError,
    SchemaRegistry,
    UnknownSchemaError,
    decode_post,
    encode_post,
    post_from_record,
    schema_fingerprint,
    single_object_header,
)
from pipeline.ingest.model import Post
from tests.unit.ingest.conftest import make_post


def test_header_matches_the_avro_reference_vector() -> None:
    # From Apache Avro's Ruby test-suite: schema "int" -> C3 01 8F 5C 39 3F 1A D5 75 72.
    assert single_object_header('"int"') == bytes.fromhex("c3018f5c393f1ad57572")


def test_writer_header_is_marker_plus_fingerprint_of_the_schema_file() -> None:
    assert SINGLE_OBJECT_HEADER == b"\xc3\x01" + WRITER_FINGERPRINT
    assert len(SINGLE_OBJECT_HEADER) == HEADER_LENGTH == 10
    assert schema_fingerprint(json.loads(WRITER_SCHEMA_JSON)) == WRITER_FINGERPRINT
    assert json.loads(WRITER_SCHEMA_JSON)["name"] == "Post"
    assert json.loads(WRITER_SCHEMA_JSON)["namespace"] == "io.trendoff"


optional_text = st.none() | st.text(max_size=40)
optional_count = st.none() | st.integers(min_value=0, max_value=2**63 - 1)
# Whole milliseconds: timestamp-millis keeps no more, so only those round-trip exactly.
moments = st.integers(min_value=-(10**12), max_value=4 * 10**12).map(
    lambda ms: datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
)

posts = st.builds(
    Post,
    post_id=st.text(min_size=1, max_size=30),
    source=st.sampled_from(["x", "file", "synthetic"]),
    author_id=st.text(max_size=20),
    author_handle=st.text(min_size=1, max_size=20),
    # Long texts too, so multi-byte length prefixes are covered.
    text=st.text(max_size=400) | st.text(max_size=50).map(lambda t: t * 300),
    created_at=moments,
    author_name=optional_text,
    lang=optional_text,
    region=optional_text,
    followers=optional_count,
    following=optional_count,
    author_post_count=optional_count,
    is_retweet=st.booleans(),
    retweet_count=optional_count,
    like_count=st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1),
)


@settings(max_examples=400, deadline=None)
@given(posts)
def test_encoding_is_byte_for_byte_fastavro_and_round_trips(post: Post) -> None:
    payload = encode_post(post)
    writer_schema = fastavro.parse_schema(json.loads(WRITER_SCHEMA_JSON))
    reference = io.BytesIO()
    fastavro.schemaless_writer(reference, writer_schema, post._asdict())
    assert payload == SINGLE_OBJECT_HEADER + reference.getvalue()
    assert post_from_record(decode_post(payload)) == post


def test_many_posts_round_trip() -> None:
    start = datetime(2021, 6, 1, tzinfo=UTC)
    originals = [
        make_post(
            post_id=str(n),
            text=f"post number {n} " * (n % 7),
            created_at=start + timedelta(seconds=37 * n),
            followers=None if n % 3 else n * 1000,
            is_retweet=n % 2 == 0,
        )
        for n in range(5000)
    ]
    decoded = [post_from_record(decode_post(encode_post(post))) for post in originals]
    assert decoded == originals


def test_body_after_the_header_is_plain_avro_of_the_writer_schema() -> None:
    # What the Spark jobs do with from_avro(substring(value, 11), WRITER_SCHEMA_JSON).
    post = make_post()
    body = encode_post(post)[HEADER_LENGTH:]
    record = fastavro.schemaless_reader(
        io.BytesIO(body), fastavro.parse_schema(json.loads(WRITER_SCHEMA_JSON)), None
    )
    assert isinstance(record, dict)
    assert record["post_id"] == post.post_id
    assert record["created_at"] == post.created_at


def evolved_schema(extra_field: dict[str, object]) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(WRITER_SCHEMA_JSON)
    schema["fields"].append(extra_field)
    return schema


def test_newer_reader_schema_reads_old_messages_with_defaults() -> None:
    reader = evolved_schema({"name": "quote_count", "type": ["null", "long"], "default": None})
    reader2 = evolved_schema({"name": "sentiment", "type": "string", "default": "unknown"})
    old_message = encode_post(make_post())
    assert decode_post(old_message, reader)["quote_count"] is None
    decoded = decode_post(old_message, json.dumps(reader2))
    assert decoded["sentiment"] == "unknown"
    assert decoded["text"] == make_post().text


def test_messages_of_a_registered_newer_writer_decode() -> None:
    newer = fastavro.parse_schema(
        evolved_schema({"name": "quote_count", "type": ["null", "long"], "default": None})
    )
    body = io.BytesIO()
    fastavro.schemaless_writer(body, newer, {**make_post()._asdict(), "quote_count": 9})
    message = single_object_header(newer) + body.getvalue()

    registry = SchemaRegistry([WRITER_SCHEMA_JSON])
    with pytest.raises(UnknownSchemaError):
        decode_post(message, registry=registry)
    registry.register(newer)
    assert decode_post(message, registry=registry)["quote_count"] == 9
    # Read with today's schema, the added field is dropped.
    old_view = decode_post(message, WRITER_SCHEMA_JSON, registry=registry)
    assert "quote_count" not in old_view
    assert post_from_record(old_view) == make_post()


def test_unknown_fingerprint_names_it() -> None:
    message = bytearray(encode_post(make_post()))
    message[2:10] = bytes.fromhex("0102030405060708")
    with pytest.raises(UnknownSchemaError, match="0102030405060708") as caught:
        decode_post(bytes(message))
    assert isinstance(caught.value, ValueError)
    assert WRITER_FINGERPRINT.hex() in str(caught.value)


@pytest.mark.parametrize(
    ("payload", "found"),
    [
        (b"\x00\x01" + WRITER_FINGERPRINT + b"rest", "0001"),
        (b'{"post_id": "1"}', "7b22"),
        (b"\xc3", "shorter"),
        (b"", "shorter"),
    ],
)
def test_bad_marker_or_short_message(payload: bytes, found: str) -> None:
    with pytest.raises(AvroDecodeError, match=found):
        decode_post(payload)


def test_truncated_and_padded_bodies_are_decode_errors() -> None:
    message = encode_post(make_post())
    with pytest.raises(AvroDecodeError):
        decode_post(message[:-5])
    with pytest.raises(AvroDecodeError, match="3 bytes are left"):
        decode_post(message + b"abc")


def test_posts_that_avro_cannot_carry_are_refused() -> None:
    with pytest.raises(PostEncodeError, match="naive"):
        encode_post(make_post(created_at=datetime(2020, 1, 1)))  # noqa: DTZ001 - on purpose
    with pytest.raises(PostEncodeError, match="long"):
        encode_post(make_post(followers=2**63))
    with pytest.raises(PostEncodeError):
        encode_post(make_post(text="\ud800 lone surrogate"))


def test_encode_speed_floor() -> None:
    # A loose floor (the target is 100k/s on an idle core) that still catches a 10x regression.
    import time

    post = make_post(
        text="a typical post of about a hundred characters, with a link https://t.co/x"
    )
    count = 20_000
    started = time.perf_counter()
    for _ in range(count):
        encode_post(post)
    assert count / (time.perf_counter() - started) > 20_000
