"""Where posts come from. Every source has a ``name`` and ``records()``: an iterator of valid
:class:`~pipeline.ingest.model.Post` and :class:`~pipeline.ingest.model.Rejected` input, in input
order. Sources never raise for a bad record; they raise only when they cannot read at all (a
missing file, a header that fits no format). Wrap ``records()`` with :mod:`.pacing` to control
speed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from pipeline.ingest.model import Post, Rejected

SOURCE_KINDS = ("csv", "jsonl", "synthetic")


@runtime_checkable
class Source(Protocol):
    @property
    def name(self) -> str: ...

    def records(self) -> Iterator[Post | Rejected]: ...


def open_source(
    kind: str,
    paths: Sequence[str | Path] = (),
    *,
    fmt: str = "auto",
    mapping: Mapping[str, str] | None = None,
    seed: int = 0,
    accounts: int | None = None,
    start: datetime | None = None,
    limit: int | None = None,
) -> Source:
    """The source ``kind`` over ``paths`` (csv, jsonl) or generated (synthetic).

    ``fmt`` and ``mapping`` apply to csv; ``seed``, ``accounts``, ``start`` and ``limit`` to
    synthetic (limit other sources with :func:`.pacing.limit`).
    """
    if kind == "csv":
        from pipeline.ingest.sources.csv import CsvSource

        return CsvSource(_require_paths(kind, paths), fmt=fmt, mapping=mapping)
    if kind == "jsonl":
        from pipeline.ingest.sources.jsonl import JsonLinesSource

        return JsonLinesSource(_require_paths(kind, paths))
    if kind == "synthetic":
        from pipeline.ingest.sources.synthetic import DEFAULT_ACCOUNTS, SyntheticSource

        return SyntheticSource(
            seed=seed,
            accounts=accounts if accounts is not None else DEFAULT_ACCOUNTS,
            start=start,
            limit=limit,
        )
    raise ValueError(f"unknown source {kind!r}; sources are {', '.join(SOURCE_KINDS)}")


def _require_paths(kind: str, paths: Sequence[str | Path]) -> list[Path]:
    if isinstance(paths, str | Path):  # a lone path is a common slip; a str is a Sequence too
        paths = [paths]
    if not paths:
        raise ValueError(f"the {kind} source needs at least one file")
    return [Path(path) for path in paths]
