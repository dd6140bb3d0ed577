"""The local cluster (`trendoff stack up --cluster`), started once for tests/cluster and
stopped after (unless it was already running).

It runs on its own ports and state dir (pipeline/stack/cluster.py), so the single-node stack that
the other tests and developers use is never touched.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.settings import Settings
from pipeline.stack import cluster
from tests.conftest import fresh_namespace


@pytest.fixture(scope="session")
def cluster_base() -> Iterator[Settings]:
    base = Settings()
    statuses = cluster.up(base)
    try:
        yield base
    finally:
        # A cluster that was already up (a developer iterating) is left as it was found.
        if not all(status.already_running for status in statuses):
            stopped = cluster.down(base)
            assert len(stopped) == 9, stopped


def cluster_namespace(base: Settings, state_dir: Path, **overrides: object) -> Settings:
    """A namespace on the cluster with its own state dir (sharing the resolved jars)."""
    from pipeline.admin import initialise

    settings = cluster.cluster_settings(base).model_copy(
        update={
            "namespace": fresh_namespace("cl"),
            "ingest_window_seconds": 1,
            "state_dir": state_dir,
            **overrides,
        }
    )
    (state_dir / "jvm").symlink_to(base.state_dir / "jvm")
    initialise(settings)
    return settings


def cluster_env(settings: Settings) -> dict[str, str]:
    """The environment of a CLI subprocess pointed at the cluster, as `--print-env` would set it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDOFF_")}
    env.update(cluster.cluster_env())
    env.update(
        TRENDOFF_NAMESPACE=settings.namespace,
        TRENDOFF_STATE_DIR=str(settings.state_dir),
        TRENDOFF_INGEST_WINDOW_SECONDS=str(settings.ingest_window_seconds),
        TRENDOFF_STREAM_MAX_OFFSETS_PER_TRIGGER=str(settings.stream_max_offsets_per_trigger),
    )
    return env


def cli(settings: Settings, *args: str, timeout: float = 900) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        env=cluster_env(settings),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stderr[-3000:]}"
    return done.stdout
