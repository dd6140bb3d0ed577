"""Live X API v2 sources (filtered stream, timeline backfill) through tweepy."""

from __future__ import annotations

from pipeline.errors import TrendoffError
from pipeline.ingest.sources import Source
from pipeline.settings import Settings


def open_x_source(kind: str, settings: Settings, *, users: str = "") -> Source:
    if settings.x_bearer_token is None:
        raise TrendoffError(
            f"--source {kind} needs an X API bearer token", hint="set TRENDOFF_X_BEARER_TOKEN"
        )
    raise TrendoffError(
        f"--source {kind} is not available in this version yet",
        hint="replay recorded X API v2 JSON Lines with --source jsonl instead",
    )
