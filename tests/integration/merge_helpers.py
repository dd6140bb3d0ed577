"""What the merge-safety and batch-lease tests share: a small slice of dev posts, the streaming
jobs run to completion in a subprocess, and the served counts compared with a plain recount."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest

from pipeline.ingest.sources import open_source
from pipeline.reference import recount_records
from pipeline.serving import Serving
from pipeline.settings import Settings
from pipeline.text import load_lexicon
from tests.conftest import DEV_TWEETS
from tests.integration.test_lambda_exact import job_env, send

__all__ = ["job_env", "send"]


def dev_records(limit: int, skip: int = 0) -> list:
    if not DEV_TWEETS.exists():
        pytest.fail(f"development data not found at {DEV_TWEETS}: the suite needs ../shared/data")
    source = open_source("csv", [DEV_TWEETS], fmt="ira")
    return list(itertools.islice(source.records(), skip, skip + limit))


def run_job(settings: Settings, job: str) -> subprocess.CompletedProcess[str]:
    """``trendoff <job> --available-now``: drain what Kafka holds, then stop."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline", job, "--available-now"],
        env=job_env(settings),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def drain(settings: Settings, job: str = "master") -> None:
    done = run_job(settings, job)
    assert done.returncode == 0, f"{job} failed:\n{done.stderr[-3000:]}"


def assert_served_equals_recount(settings: Settings, records: list) -> None:
    truth = recount_records(records, load_lexicon())
    assert truth.posts > 0
    with Serving(settings) as serving:
        assert serving.topic_totals() == truth.topic_totals()
        served = {account.handle: account.posts for account in serving.accounts(limit=10**6)}
    assert served == dict(truth.posts_by_author)
