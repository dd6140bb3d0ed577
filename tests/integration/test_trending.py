"""Trending terms on the real stack: a crafted file with (a) a hashtag used once each by 30
accounts in the last bucket, (b) a hashtag posted 200 times by one account in that bucket and
(c) a hashtag used steadily in every bucket for a day. `query trending` must rank (a) first and
never list (b) or (c), and equal `reference trending` on the same file in the speed-only, mixed
and batch-only states and after a kill -9 of the speed job mid-run.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.ingest.sources import open_source
from pipeline.jobs import batch
from pipeline.settings import Settings
from tests.conftest import jobs_namespace
from tests.integration.test_lambda_exact import drain, job_env, kill_mid_stream, send

pytestmark = pytest.mark.integration

LAST_BUCKET = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
AT = LAST_BUCKET + timedelta(minutes=2, seconds=30)  # inside the last bucket
IRA_HEADER = ["author_id", "content", "region", "language", "publish_date", "harvested_date",
              "following", "followers", "updates", "post_type", "retweet"]  # fmt: skip


def ira_row(author: str, text: str, created_at: datetime) -> list[str]:
    stamp = created_at.strftime("%Y-%m-%d %H:%M:%S")
    return [author, text, "United States", "English", stamp, stamp, "10", "10", "10", "", "0"]


def steady_rows() -> list[list[str]]:
    """(c): one post in each 5-minute bucket of the window and the day before it."""
    return [
        ira_row(
            f"steady_{step % 5}",
            f"daily roundup #SteadyTag {step}",
            LAST_BUCKET - timedelta(minutes=5 * step) + timedelta(seconds=10),
        )
        for step in range(12 * 25)
    ]


def burst_rows() -> list[list[str]]:
    """(b) one account posting 200 times and (a) 30 accounts once each, in the last bucket."""
    spam = [
        ira_row("spammer", f"buy now #SpamTag offer {n}", LAST_BUCKET + timedelta(seconds=n))
        for n in range(200)
    ]
    rising = [
        ira_row(
            f"voice_{n:02d}", f"look at this #RisingTag {n}", LAST_BUCKET + timedelta(seconds=5 * n)
        )
        for n in range(30)
    ]
    return spam + rising


def write_ira(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(IRA_HEADER)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def crafted_files(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("crafted")
    return write_ira(folder / "steady.csv", steady_rows()), write_ira(
        folder / "burst.csv", burst_rows()
    )


@pytest.fixture(scope="module")
def trend_settings(stack: Settings, tmp_path_factory) -> Iterator[Settings]:
    from pipeline.admin import drop_namespace

    # Small micro-batches, so the speed job can be killed between two of them.
    settings = jobs_namespace(
        stack, tmp_path_factory.mktemp("state"), "tr", stream_max_offsets_per_trigger=60
    )
    yield settings
    drop_namespace(settings)


def cli_json(settings: Settings, *args: str) -> object:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", *args, "--json"],
        env=job_env(settings),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def assert_query_equals_reference(settings: Settings, *files: Path) -> list[dict]:
    paths = [str(file) for file in files]
    options = ["--at", AT.isoformat()]
    trending = cli_json(settings, "query", "trending", *options)
    assert trending == cli_json(settings, "reference", "trending", *paths, *options)
    since, until = (AT - timedelta(days=2)).isoformat(), AT.isoformat()
    for kind in ("hashtag", "word"):
        top = ["--kind", kind, "--since", since, "--until", until]
        leaders = cli_json(settings, "query", "top", *top)
        assert leaders, f"no {kind} leaderboard"
        assert leaders == cli_json(settings, "reference", "top", *paths, *top)
    assert isinstance(trending, list)
    return trending


def assert_only_the_rising_tag_trends(trending: list[dict]) -> None:
    assert trending, "nothing trends"
    assert trending[0]["term"] == "#risingtag"
    assert trending[0]["count"] == 30 and trending[0]["authors"] == 30
    listed = {item["term"] for item in trending}
    assert not listed & {"#spamtag", "spamtag", "#steadytag", "steadytag"}
    assert set(trending[0]) >= {"term", "kind", "count", "authors", "expected", "score"}


def test_query_trending_equals_reference_in_every_state(
    trend_settings: Settings, crafted_files: tuple[Path, Path], spark
) -> None:
    settings = trend_settings
    steady_file, burst_file = crafted_files
    steady = list(open_source("csv", [steady_file], fmt="ira").records())
    burst = list(open_source("csv", [burst_file], fmt="ira").records())
    assert (len(steady), len(burst)) == (300, 230)

    # Speed only: the steady day, which trends nowhere (its rate never changes).
    send(settings, steady)
    drain(settings, "speed", "master")
    assert assert_query_equals_reference(settings, steady_file) == []

    # Mixed: a batch covers the steady day; the spam and the rising tag arrive after it, and the
    # speed job is killed with SIGKILL between two micro-batches while counting them.
    time.sleep(2 * settings.ingest_window_seconds + 2)
    assert batch.run_once(settings, spark=spark).status == "succeeded"
    send(settings, burst)
    kill_mid_stream(settings, "speed")
    drain(settings, "master")
    trending = assert_query_equals_reference(settings, steady_file, burst_file)
    assert_only_the_rising_tag_trends(trending)

    # Batch only: everything below the high-water mark.
    time.sleep(2 * settings.ingest_window_seconds + 2)
    final = batch.run_once(settings, spark=spark)
    assert final.status == "succeeded" and final.posts_counted == 530
    trending = assert_query_equals_reference(settings, steady_file, burst_file)
    assert_only_the_rising_tag_trends(trending)
