"""Hostile CSV input stays bounded: over-long lines, stray quotes that run on, far dates."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pipeline.ingest.model import Post, Rejected, RejectReason
from pipeline.ingest.sources.csv import CsvSource
from pipeline.ingest.sources.csv_lines import MAX_ROW_BYTES
from pipeline.ingest.sources.files import MAX_LINE_BYTES
from tests.unit.ingest.conftest import IRA_HEADER, csv_bytes, ira_row

WriteFile = Callable[..., Path]


def read(path: Path) -> list[Post | Rejected]:
    return list(CsvSource([path], fmt="ira").records())


def reasons(records: list[Post | Rejected]) -> list[str | None]:
    return [record.reason.value if isinstance(record, Rejected) else None for record in records]


def test_an_over_long_line_is_one_bounded_rejection(write_file: WriteFile) -> None:
    long_line = b"x" * (3 * MAX_LINE_BYTES) + b"\n"
    content = csv_bytes(IRA_HEADER, [ira_row()]) + long_line + csv_bytes(None, [ira_row()])
    records = read(write_file(content, compress=True))
    assert reasons(records) == [None, "row_too_long", None]
    rejected = records[1]
    assert isinstance(rejected, Rejected)
    assert len(rejected.raw) == MAX_LINE_BYTES
    assert rejected.position.endswith(":3")
    assert f"{3 * MAX_LINE_BYTES + 1:,} bytes" in rejected.message
    assert records[2].author_handle == "alice_b"  # type: ignore[union-attr]


def test_a_stray_quote_running_on_for_megabytes_loses_only_its_own_line(
    write_file: WriteFile,
) -> None:
    # An opening quote never closed: without a bound, the rest of the file is one "row".
    stray = b'bob,"unclosed quote,United States,English,2015-05-25 12:38:00,,1,1,1,,0\n'
    filler = [ira_row(author_id=f"user{n}", content="plain words " * 20) for n in range(8000)]
    content = csv_bytes(IRA_HEADER, [ira_row()]) + stray + csv_bytes(None, filler)
    assert len(content) > 2 * MAX_ROW_BYTES
    records = read(write_file(content))
    assert reasons(records)[:3] == [None, "row_too_long", None]
    assert sum(isinstance(record, Post) for record in records) == 1 + len(filler)
    rejected = records[1]
    assert isinstance(rejected, Rejected)
    assert rejected.raw == stray
    assert rejected.position.endswith(":3")
    assert "read again" in rejected.message


def test_a_stray_quote_closed_a_few_lines_later_loses_only_its_own_line(
    write_file: WriteFile,
) -> None:
    stray = b'bob,"unclosed quote,United States,English,2015-05-25 12:38:00,,1,1,1,,0\n'
    following = [ira_row(author_id=f"user{n}", content="with, a comma") for n in range(3)]
    content = csv_bytes(IRA_HEADER, [ira_row()]) + stray + csv_bytes(None, following)
    records = read(write_file(content))
    assert reasons(records) == [None, "bad_row", None, None, None]
    assert [record.author_handle for record in records[2:]] == ["user0", "user1", "user2"]  # type: ignore[union-attr]
    assert records[1].raw == stray  # type: ignore[union-attr]
    # Positions stay physical after reading lines again.
    assert records[1].position.endswith(":3")  # type: ignore[union-attr]


def test_positions_stay_physical_after_a_line_is_read_again(write_file: WriteFile) -> None:
    stray = b'bob,"unclosed,x,y,2015-05-25 12:38:00,,1,1,1,,0\n'
    later_bad = csv_bytes(None, [ira_row(publish_date="9999-12-31 23:59:59")])
    content = (
        csv_bytes(IRA_HEADER, [ira_row()])
        + stray
        + csv_bytes(None, [ira_row(content="a, b")])
        + later_bad
    )
    records = read(write_file(content))
    assert reasons(records) == [None, "bad_row", None, "bad_time"]
    assert records[3].position.endswith(":5")  # type: ignore[union-attr]


def test_year_one_and_year_9999_rows_are_bad_time(write_file: WriteFile) -> None:
    rows = [
        ira_row(publish_date="0001-01-01 00:00:00"),
        ira_row(publish_date="9999-12-31 23:59:59"),
        ira_row(),
    ]
    assert reasons(read(write_file(csv_bytes(IRA_HEADER, rows)))) == ["bad_time", "bad_time", None]


def test_a_huge_handle_is_field_too_long(write_file: WriteFile) -> None:
    rows = [ira_row(author_id="h" * 100_000), ira_row()]
    records = read(write_file(csv_bytes(IRA_HEADER, rows)))
    assert reasons(records) == ["field_too_long", None]
    assert RejectReason.FIELD_TOO_LONG.value in reasons(records)
    assert "author_handle" in records[0].message  # type: ignore[union-attr]


def test_an_over_long_json_line_is_one_bounded_rejection(write_file: WriteFile) -> None:
    from pipeline.ingest.sources.jsonl import JsonLinesSource

    good = (
        b'{"data": {"id": "1", "text": "tea", "author_id": "9", '
        b'"created_at": "2022-12-06T10:15:30.000Z"}, '
        b'"includes": {"users": [{"id": "9", "username": "bea"}]}}\n'
    )
    huge = b'{"data": {"text": "' + b"y" * (2 * MAX_LINE_BYTES) + b'"}}\n'
    path = write_file(good + huge + good, name="t.jsonl")
    records = list(JsonLinesSource([path]).records())
    assert reasons(records) == [None, "row_too_long", None]
    assert len(records[1].raw) == MAX_LINE_BYTES  # type: ignore[union-attr]
    assert records[1].position.endswith(":2")  # type: ignore[union-attr]
