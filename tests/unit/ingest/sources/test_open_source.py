from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.ingest.sources import Source, open_source
from tests.unit.ingest.conftest import ira_row


def test_every_kind_is_a_source(
    write_csv: Callable[..., Path], write_jsonl: Callable[..., Path]
) -> None:
    csv_path = write_csv([ira_row()])
    jsonl_path = write_jsonl([{"errors": []}])
    sources = [
        open_source("csv", [csv_path], fmt="ira"),
        open_source("jsonl", [jsonl_path]),
        open_source("synthetic", seed=1, limit=3),
    ]
    for source in sources:
        assert isinstance(source, Source)
        assert len(list(source.records())) in (1, 3)
    assert [s.name for s in sources] == ["csv", "jsonl", "synthetic"]


def test_bad_requests_are_clear(write_csv: Callable[..., Path]) -> None:
    with pytest.raises(ValueError, match="sources are csv, jsonl, synthetic"):
        open_source("parquet", ["x"])
    with pytest.raises(ValueError, match="at least one file"):
        open_source("csv", [])
    with pytest.raises(ValueError, match="formats are"):
        open_source("csv", [write_csv([ira_row()])], fmt="excel")
    with pytest.raises(FileNotFoundError):
        list(open_source("csv", ["/nonexistent/posts.csv"]).records())
