"""`trendoff jobs` and `trendoff run` refuse a batch interval the speed TTLs do not cover, before
they start anything (serving would otherwise lose speed rows no batch has covered yet)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pipeline.cli import build_parser, cmd_jobs, cmd_run
from pipeline.errors import TrendoffError
from pipeline.settings import Settings


@pytest.mark.parametrize("handler", [cmd_jobs, cmd_run])
def test_batch_interval_beyond_the_ttls_is_refused(
    handler: Callable[..., int], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(speed_views_ttl_seconds=2 * 3600)
    command = "jobs" if handler is cmd_jobs else "run"
    args = build_parser().parse_args([command, "--batch-every", "6h"])
    with pytest.raises(TrendoffError, match="speed_views_ttl_seconds must be at least"):
        handler(args, settings)
