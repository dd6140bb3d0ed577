"""`trendoff produce --retime now` on a slice of the dev file: the newest post lands on now."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.cli import build_parser
from pipeline.cli_produce import produce_records
from pipeline.errors import TrendoffError
from pipeline.ingest.model import Post
from pipeline.ingest.sources import open_source
from pipeline.settings import get_settings
from tests.conftest import DEV_TWEETS

ROWS = 5000


def produce_args(*extra: str):
    return build_parser().parse_args(["produce", *extra])


def test_retime_now_puts_the_newest_dev_post_at_now_keeping_order_and_gaps() -> None:
    original = [
        r.created_at
        for r in itertools.islice(open_source("csv", [DEV_TWEETS], fmt="ira").records(), ROWS)
        if isinstance(r, Post)
    ]
    # The dev file is not in time order: its first post is not its newest (the old shift, taken
    # from the first post, dated the newest ones years in the future).
    assert max(original) - original[0] > timedelta(days=30)
    args = produce_args(
        "--source", "csv", "--format", "ira", str(DEV_TWEETS), "--limit", str(ROWS),
        "--retime", "now",
    )  # fmt: skip
    before = datetime.now(UTC)
    retimed = [r.created_at for r in produce_records(args, get_settings()) if isinstance(r, Post)]
    after = datetime.now(UTC)
    assert len(retimed) == len(original)
    assert before - timedelta(seconds=1) <= max(retimed) <= after
    assert after - max(retimed) < timedelta(minutes=1)
    shift = retimed[0] - original[0]
    assert all(new - old == shift for new, old in zip(retimed, original, strict=True))


def test_retime_now_is_refused_for_live_sources_and_a_no_op_for_the_demo() -> None:
    with pytest.raises(TrendoffError, match="live"):
        produce_records(produce_args("--source", "x-stream", "--retime", "now"), get_settings())
    before = datetime.now(UTC)
    args = produce_args("--source", "synthetic", "--limit", "20", "--retime", "now")
    demo = [r.created_at for r in produce_records(args, get_settings()) if isinstance(r, Post)]
    assert len(demo) == 20
    assert all(before - timedelta(seconds=1) <= moment <= datetime.now(UTC) for moment in demo)
