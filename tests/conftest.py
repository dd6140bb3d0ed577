"""Fixtures shared by every test: settings factories, the real local stack, a Spark session.

The stack is brought up once per test session (a stack that is already running is reused and left
running); every test that touches Kafka or Cassandra gets its own namespace, so topics, keyspaces
and consumer groups never collide, and the namespace is dropped afterwards.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.settings import Settings

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
DEV_TWEETS = SHARED_DATA / "ira-tweets-dev.csv.gz"


def fresh_namespace(prefix: str = "t") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def jobs_namespace(stack: Settings, state_dir: Path, prefix: str, **overrides: Any) -> Settings:
    """An initialised namespace of its own for tests that run the streaming jobs: one-second
    ingest windows (H passes what was sent after a short sleep) and its own state dir, sharing
    the stack's resolved jars. Drop it with ``drop_namespace`` afterwards."""
    from pipeline.admin import initialise

    settings = stack.model_copy(
        update={
            "namespace": fresh_namespace(prefix),
            "ingest_window_seconds": 1,
            "state_dir": state_dir,
            **overrides,
        }
    )
    (state_dir / "jvm").symlink_to(stack.state_dir / "jvm")
    initialise(settings)
    return settings


@pytest.fixture
def make_settings(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Settings]:
    """Settings from keyword overrides only; the developer's environment and .env are ignored."""
    for name in list(os.environ):
        if name.startswith("TRENDOFF_"):
            monkeypatch.delenv(name)

    def build(**overrides: Any) -> Settings:
        return Settings(_env_file=None, **overrides)  # type: ignore[call-arg]

    return build


@pytest.fixture(scope="session")
def stack() -> Iterator[Settings]:
    """A running local Kafka + Cassandra; started here unless one is already up."""
    from pipeline.stack import manager

    # Full priority: here the test process, not a visitor's page, runs Spark beside the servers,
    # and lowered servers would only wait longer for it (TRENDOFF_BACKGROUND_NICE is tested by
    # tests/unit/test_priority.py and the runner's integration test).
    settings = Settings(_env_file=None, state_dir=REPO_ROOT / ".trendoff", background_nice=0)  # type: ignore[call-arg]
    # Reuse servers that already answer on the configured ports (a developer's running stack,
    # possibly started from another checkout); otherwise start them and stop them afterwards.
    started_here = not all(service.ready() for service in manager.services(settings))
    if started_here:
        try:
            manager.up(settings)
        except BaseException:
            # A fixture that fails before its yield gets no teardown: stop what did start.
            manager.down(settings)
            raise
    yield settings
    if started_here:
        manager.down(settings)


@pytest.fixture
def namespace_settings(stack: Settings) -> Iterator[Settings]:
    """Settings with a namespace of its own: initialised (topics, tables), dropped afterwards."""
    from pipeline.admin import drop_namespace, initialise

    settings = stack.model_copy(update={"namespace": fresh_namespace()})
    initialise(settings)
    yield settings
    try:
        drop_namespace(settings)
    except Exception:  # cleanup must not hide the test's own result
        logger.warning("could not drop namespace %s", settings.namespace, exc_info=True)


@pytest.fixture(scope="session")
def spark(stack: Settings) -> Iterator[Any]:
    from pipeline.spark import build_session

    session = build_session(stack, "trendoff-tests")
    yield session
    session.stop()


RISING_HASHTAG = "#risingtag"


def rising_hashtag_posts(now: datetime) -> list[Any]:
    """30 new accounts, one post each in the minute before ``now``, all using one hashtag."""
    from pipeline.ingest.model import Post

    return [
        Post(
            post_id=f"rising-{number:02d}",
            source="test",
            author_id=f"voice_{number:02d}",
            author_handle=f"voice_{number:02d}",
            text=f"look at this {RISING_HASHTAG} {number}",
            created_at=now - timedelta(seconds=2 * number),
        )
        for number in range(30)
    ]


@pytest.fixture(scope="session")
def seeded_app_data(stack: Settings, tmp_path_factory) -> Iterator[tuple[Settings, Any]]:
    """A namespace with 4,000 dev posts re-timed to now: the first half in a batch slot, the rest
    in speed, which also holds a hashtag 30 accounts used once each in the last minute
    (:func:`rising_hashtag_posts`): what the Trending now page must put on top."""
    import itertools
    import subprocess
    import sys
    import time

    from pipeline.admin import drop_namespace, initialise
    from pipeline.ingest.producer import produce
    from pipeline.ingest.sources import open_source, pacing
    from pipeline.jobs import batch
    from pipeline.reference import recount_records
    from pipeline.text import load_lexicon

    state = tmp_path_factory.mktemp("app-state")
    (state / "jvm").symlink_to(stack.state_dir / "jvm")
    settings = stack.model_copy(
        update={"namespace": fresh_namespace("app"), "state_dir": state, "ingest_window_seconds": 1}
    )
    initialise(settings)
    source = open_source("csv", [DEV_TWEETS], fmt="ira")
    # Replayed as `produce --retime now` does: the slice's newest post is dated now.
    records = list(itertools.islice(source.records(), 4000))
    newest = pacing.newest_created(records)
    assert newest is not None
    records = list(pacing.retime_now(records, newest))
    records.extend(rising_hashtag_posts(datetime.now(UTC)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDOFF_")}
    env.update(
        TRENDOFF_NAMESPACE=settings.namespace,
        TRENDOFF_STATE_DIR=str(state),
        TRENDOFF_INGEST_WINDOW_SECONDS="1",
    )

    def drain() -> None:
        for job in ("speed", "master"):
            done = subprocess.run(
                [sys.executable, "-m", "pipeline", job, "--available-now"],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            assert done.returncode == 0, done.stderr[-2000:]

    produce(settings, records[:2000])
    drain()
    time.sleep(3)
    assert batch.run_once(settings).status == "succeeded"
    produce(settings, records[2000:])
    drain()
    yield settings, recount_records(records, load_lexicon())
    drop_namespace(settings)
