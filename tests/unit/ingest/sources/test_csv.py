from __future__ import annotations

import gzip
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.ingest.model import Post, Rejected, RejectReason
from pipeline.ingest.sources.csv import CsvSource
from pipeline.ingest.sources.csv_profiles import CsvHeaderError, parse_mapping
from tests.unit.ingest.conftest import FTH_HEADER, IRA_HEADER, csv_bytes, fth_row, ira_row

WriteCsv = Callable[..., Path]


def read(path: Path, **options: object) -> list[Post | Rejected]:
    return list(CsvSource([path], **options).records())  # type: ignore[arg-type]


def only_posts(records: list[Post | Rejected]) -> list[Post]:
    assert all(isinstance(record, Post) for record in records), records
    return records  # type: ignore[return-value]


def test_ira_row_becomes_a_post(write_csv: WriteCsv) -> None:
    [post] = only_posts(read(write_csv([ira_row()]), fmt="ira"))
    assert post.author_handle == post.author_id == "alice_b"
    assert post.text == "Morning coffee and the news"
    assert post.created_at == datetime(2015, 5, 25, 12, 38, tzinfo=UTC)
    assert (post.region, post.lang) == ("United States", "English")
    assert (post.following, post.followers, post.author_post_count) == (59, 51, 353)
    assert post.source == "file"
    assert post.is_retweet is False
    assert post.post_id.startswith("csv-")


@pytest.mark.parametrize(
    ("post_type", "retweet", "expected"),
    [
        ("", "0", False),
        ("R", "1", True),
        ("RETWEET", "1", True),
        ("Q", "1", False),
        ("", "1", True),
    ],
)
def test_ira_retweets(write_csv: WriteCsv, post_type: str, retweet: str, expected: bool) -> None:
    [post] = only_posts(read(write_csv([ira_row(post_type=post_type, retweet=retweet)])))
    assert post.is_retweet is expected


def test_embedded_newlines_and_quotes_keep_rows_whole_and_positions_physical(
    write_csv: WriteCsv,
) -> None:
    rows = [
        ira_row(content='she said "hi,\nthere"\nand left'),  # lines 2-4
        ira_row(author_id=""),  # line 5: rejected
        ira_row(content="second\r\nwith CRLF inside"),  # lines 6-7
        ira_row(author_id="", content="x\ny"),  # lines 8-9: rejected
    ]
    records = read(write_csv(rows))
    assert isinstance(records[0], Post)
    assert records[0].text == 'she said "hi,\nthere"\nand left'
    assert isinstance(records[1], Rejected)
    assert records[1].position.endswith("posts.csv:5")
    assert isinstance(records[2], Post)
    assert records[2].text == "second\r\nwith CRLF inside"
    assert isinstance(records[3], Rejected)
    assert records[3].position.endswith("posts.csv:8")
    assert records[3].raw == csv_bytes(None, [rows[3]])


def test_nul_bytes_are_kept_as_text(write_csv: WriteCsv) -> None:
    [post] = only_posts(read(write_csv([ira_row(content="before\x00after")])))
    assert post.text == "before\x00after"


def test_replacement_characters_are_valid_and_kept(write_csv: WriteCsv) -> None:
    [post] = only_posts(read(write_csv([ira_row(content="caf\ufffd \ufffd\ufffd ok")])))
    assert post.text == "caf\ufffd \ufffd\ufffd ok"


def test_megabyte_text_is_rejected_without_breaking_later_rows(write_csv: WriteCsv) -> None:
    records = read(write_csv([ira_row(content="x" * 1_000_000), ira_row()]))
    assert [type(r) for r in records] == [Rejected, Post]
    assert isinstance(records[0], Rejected)
    assert records[0].reason is RejectReason.TEXT_TOO_LONG
    assert "1,000,000 bytes" in records[0].message


def test_non_utf8_row_is_rejected_with_its_raw_bytes(write_file: Callable[..., Path]) -> None:
    good = csv_bytes(IRA_HEADER, [ira_row()])
    bad_row = csv_bytes(None, [ira_row(content="PLACE", author_id="bob")])
    bad_row = bad_row.replace(b"PLACE", b"caf\xe9 latin-1")  # Latin-1 é: not UTF-8
    path = write_file(good + bad_row + csv_bytes(None, [ira_row()]))
    records = read(path)
    assert [type(r) for r in records] == [Post, Rejected, Post]
    rejected = records[1]
    assert isinstance(rejected, Rejected)
    assert rejected.reason is RejectReason.INVALID_UTF8
    assert b"caf\xe9 latin-1" in rejected.raw
    assert rejected.raw.startswith(b"bob,")
    assert rejected.position.endswith(":3")


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"author_id": ""}, "missing_author"),
        ({"author_id": "   "}, "missing_author"),
        ({"content": ""}, "missing_text"),
        ({"publish_date": ""}, "missing_time"),
        ({"publish_date": "25/05/2015 noon"}, "bad_time"),
        ({"followers": "abc"}, "bad_type"),
        ({"updates": "12.5"}, "bad_type"),
        ({"retweet": "maybe"}, "bad_type"),
    ],
)
def test_invalid_fields_are_rejected(
    write_csv: WriteCsv, values: dict[str, str], reason: str
) -> None:
    [record] = read(write_csv([ira_row(**values)]))
    assert isinstance(record, Rejected)
    assert record.reason == reason
    assert record.position.endswith("posts.csv:2")
    assert record.raw == csv_bytes(None, [ira_row(**values)])


def test_wrong_column_count_is_a_bad_row(write_file: Callable[..., Path]) -> None:
    path = write_file(csv_bytes(IRA_HEADER, [ira_row()[:5], [*ira_row(), "extra"], ira_row()]))
    records = read(path)
    assert [getattr(r, "reason", None) for r in records] == ["bad_row", "bad_row", None]
    assert "expected 11 columns, found 5" in records[0].message  # type: ignore[union-attr]


def test_blank_lines_are_skipped(write_file: Callable[..., Path]) -> None:
    content = csv_bytes(IRA_HEADER, [ira_row()]) + b"\n\n" + csv_bytes(None, [ira_row()])
    assert len(only_posts(read(write_file(content)))) == 2


def test_empty_file_and_header_only_yield_nothing(
    write_file: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    assert read(write_file(b"", "empty.csv")) == []
    assert "empty" in caplog.text
    assert read(write_file(csv_bytes(IRA_HEADER, []), "header.csv")) == []
    assert read(write_file(b"", "empty.csv.gz", compress=True)) == []


def test_unknown_header_names_columns_and_profiles(write_csv: WriteCsv) -> None:
    path = write_csv([["1", "2"]], header=["when", "what"])
    with pytest.raises(CsvHeaderError) as caught:
        read(path)
    message = caught.value.one_line()
    assert "when, what" in message
    assert "ira:" in message and "fth:" in message
    assert "--map" in message


def test_explicit_profile_names_missing_columns(write_csv: WriteCsv) -> None:
    path = write_csv([ira_row()[:-1]], header=IRA_HEADER[:-1])
    with pytest.raises(CsvHeaderError, match="retweet"):
        read(path, fmt="ira")


def test_gzip_is_detected_by_content_not_name(write_csv: WriteCsv) -> None:
    compressed_as_csv = write_csv([ira_row()], name="looks-plain.csv", compress=True)
    plain_as_gz = write_csv([ira_row()], name="looks-compressed.csv.gz")
    assert only_posts(read(compressed_as_csv)) == only_posts(read(plain_as_gz))


def test_truncated_gzip_keeps_rows_before_and_ends_with_one_rejection(
    write_file: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    rows = [ira_row(content=f"post {n} " + "filler " * 20) for n in range(2000)]
    whole = gzip.compress(csv_bytes(IRA_HEADER, rows))
    path = write_file(whole[: len(whole) * 2 // 3], "cut.csv.gz")
    records = read(path)
    posts, last = records[:-1], records[-1]
    assert 0 < len(posts) < 2000
    assert all(isinstance(post, Post) for post in posts)
    assert [p.text for p in posts] == [f"post {n} " + "filler " * 20 for n in range(len(posts))]  # type: ignore[union-attr]
    assert isinstance(last, Rejected)
    assert last.reason is RejectReason.BAD_ROW
    assert "truncated or corrupt" in last.message
    assert last.position.endswith(f":{len(posts) + 2}")
    assert "truncated" in caplog.text


def test_ids_are_stable_across_copies_and_distinct_for_identical_rows(
    write_csv: WriteCsv, tmp_path: Path
) -> None:
    path = write_csv([ira_row(), ira_row(), ira_row(content="other")])
    copy = tmp_path / "elsewhere" / "copy.csv"
    copy.parent.mkdir()
    shutil.copy(path, copy)
    first = [post.post_id for post in only_posts(read(path))]
    assert len(set(first)) == 3
    assert [post.post_id for post in only_posts(read(path))] == first
    assert [post.post_id for post in only_posts(read(copy))] == first


def test_same_ordinal_in_different_files_gets_different_ids(write_csv: WriteCsv) -> None:
    one = only_posts(read(write_csv([ira_row(content="a")], name="one.csv")))
    two = only_posts(read(write_csv([ira_row(content="b")], name="two.csv")))
    assert one[0].post_id != two[0].post_id


def test_several_files_read_in_order(write_csv: WriteCsv) -> None:
    one = write_csv([ira_row(content="first")], name="one.csv")
    two = write_csv([ira_row(content="second")], name="two.csv.gz", compress=True)
    posts = only_posts(list(CsvSource([one, two]).records()))
    assert [post.text for post in posts] == ["first", "second"]


def test_fth_export(write_csv: WriteCsv) -> None:
    rows = [
        fth_row(),
        fth_row(
            **{
                "Tweet Id": "2",
                "Date": "21/03/2016",
                "Hour": "9:05:30",
                "Country": "",
                "Place (as appears on Bio)": "Leeds",
                "Tweet content": "RT @x: beer",
            }
        ),
        fth_row(**{"Tweet Id": "3", "Date": "03/21/2016"}),  # month-first is never guessed
        fth_row(**{"Tweet Id": "4", "Hour": "2pm"}),
        fth_row(**{"Tweet Id": "5", "Date": "", "Hour": ""}),
    ]
    records = read(write_csv(rows, header=FTH_HEADER))
    first, second = records[0], records[1]
    assert isinstance(first, Post) and isinstance(second, Post)
    assert first.post_id == "712345678901234567"
    assert first.created_at == datetime(2016, 3, 21, 14, 32, tzinfo=UTC)
    assert (first.author_handle, first.author_name) == ("bea_s", "Bea Smith")
    assert (first.like_count, first.retweet_count, first.followers) == (3, 1, 120)
    assert (first.lang, first.region, first.is_retweet) == ("en", "GB", False)
    assert second.created_at == datetime(2016, 3, 21, 9, 5, 30, tzinfo=UTC)
    assert second.region == "Leeds"
    assert second.is_retweet is True
    assert [getattr(r, "reason", None) for r in records[2:]] == [
        "bad_time",
        "bad_time",
        "missing_time",
    ]


def test_semicolon_delimited_export_with_bom(write_file: Callable[..., Path]) -> None:
    content = b"\xef\xbb\xbf" + csv_bytes(FTH_HEADER, [fth_row()], delimiter=";")
    [post] = only_posts(read(write_file(content)))
    assert post.author_handle == "bea_s"


def test_custom_mapping(write_csv: WriteCsv) -> None:
    header = ["who", "said", "at", "likes", "rt"]
    path = write_csv([["carol", "water please", "2022-07-01T10:00:00Z", "4", "yes"]], header=header)
    mapping = parse_mapping(
        ["author_handle=who", "text=said", "created_at=at", "like_count=likes", "is_retweet=rt"]
    )
    [post] = only_posts(read(path, mapping=mapping))
    assert (post.author_handle, post.text, post.like_count, post.is_retweet) == (
        "carol",
        "water please",
        4,
        True,
    )
    assert post.created_at == datetime(2022, 7, 1, 10, tzinfo=UTC)
    assert post.post_id.startswith("csv-")


def test_mapping_errors_are_clear(write_csv: WriteCsv) -> None:
    with pytest.raises(ValueError, match="field=column"):
        parse_mapping(["text"])
    with pytest.raises(ValueError, match="unknown post field"):
        parse_mapping(["txt=body", "author_handle=a", "created_at=b"])
    with pytest.raises(ValueError, match="created_at"):
        parse_mapping(["text=body", "author_handle=a"])
    path = write_csv([["a", "b", "c"]], header=["a", "b", "c"])
    with pytest.raises(CsvHeaderError, match="missing_column"):
        read(path, mapping={"author_handle": "a", "text": "b", "created_at": "missing_column"})
