"""Post schema version 2 (Bluesky's fields) next to version 1: both decode, the new fields encode
byte for byte as fastavro writes them."""

from __future__ import annotations

import io
import json
from typing import Any

import fastavro
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.ingest.avro import (
    KNOWN_SCHEMAS,
    OLDER_SCHEMA_JSONS,
    SINGLE_OBJECT_HEADER,
    WRITER_SCHEMA,
    WRITER_SCHEMA_JSON,
    decode_post,
    encode_post,
    post_from_record,
    single_object_header,
)
from pipeline.ingest.model import Post
from tests.unit.ingest.conftest import make_post

V1_SCHEMA_JSON = OLDER_SCHEMA_JSONS[0]
V2_FIELDS = ("hashtags", "mentions", "is_reply", "is_quote")


def encode_with_v1(post: Post) -> bytes:
    """A message as a producer of schema version 1 wrote it (before the Bluesky fields)."""
    schema = fastavro.parse_schema(json.loads(V1_SCHEMA_JSON))
    body = io.BytesIO()
    fields = {name: value for name, value in post._asdict().items() if name not in V2_FIELDS}
    fastavro.schemaless_writer(body, schema, fields)
    return single_object_header(schema) + body.getvalue()


def test_version_2_only_adds_defaulted_fields_at_the_end() -> None:
    old: dict[str, Any] = json.loads(V1_SCHEMA_JSON)
    new: dict[str, Any] = json.loads(WRITER_SCHEMA_JSON)
    old_names = [field["name"] for field in old["fields"]]
    new_fields = new["fields"]
    assert [field["name"] for field in new_fields[: len(old_names)]] == old_names
    added = new_fields[len(old_names) :]
    assert [field["name"] for field in added] == list(V2_FIELDS)
    assert all("default" in field for field in added)
    assert single_object_header(V1_SCHEMA_JSON) != SINGLE_OBJECT_HEADER
    assert len(KNOWN_SCHEMAS.fingerprints) == 2


def test_a_version_1_message_decodes_with_the_new_fields_defaulted() -> None:
    post = make_post()
    message = encode_with_v1(post)
    assert message[:10] != SINGLE_OBJECT_HEADER
    as_written = decode_post(message)
    assert "hashtags" not in as_written
    assert post_from_record(as_written) == post
    resolved = decode_post(message, WRITER_SCHEMA_JSON)
    assert resolved["hashtags"] == [] and resolved["mentions"] == []
    assert resolved["is_reply"] is False and resolved["is_quote"] is False
    assert post_from_record(resolved) == post


def test_a_version_2_message_is_unreadable_for_a_version_1_only_reader_but_resolves_down() -> None:
    post = make_post(hashtags=("tea",), mentions=("did:plc:abc",), is_reply=True)
    message = encode_post(post)
    old_view = decode_post(message, V1_SCHEMA_JSON)
    assert "hashtags" not in old_view
    assert old_view["text"] == post.text


tags = st.lists(st.text(max_size=12), max_size=5).map(tuple)


@settings(max_examples=200, deadline=None)
@given(tags, tags, st.booleans(), st.booleans())
def test_new_fields_encode_byte_for_byte_as_fastavro(
    hashtags: tuple[str, ...], mentions: tuple[str, ...], is_reply: bool, is_quote: bool
) -> None:
    post = make_post(hashtags=hashtags, mentions=mentions, is_reply=is_reply, is_quote=is_quote)
    reference = io.BytesIO()
    fastavro.schemaless_writer(reference, WRITER_SCHEMA, post._asdict())
    assert encode_post(post) == SINGLE_OBJECT_HEADER + reference.getvalue()
    assert post_from_record(decode_post(encode_post(post))) == post


def test_many_hashtags_take_multi_byte_counts() -> None:
    post = make_post(hashtags=tuple(f"tag{n}" for n in range(300)))
    assert post_from_record(decode_post(encode_post(post))) == post
