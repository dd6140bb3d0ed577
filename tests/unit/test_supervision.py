"""The rules `trendoff run` supervises its parts by: backoff, status, lock, rotating logs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.app.pipeline_view import processes_table
from pipeline.errors import TrendoffError
from pipeline.supervision import (
    PartStatus,
    RestartPolicy,
    RotatingLog,
    RunnerLock,
    RunStatus,
    read_status,
    status_path,
    write_status,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_backoff_doubles_up_to_the_limit() -> None:
    policy = RestartPolicy(first_delay=1, max_delay=60)
    assert [policy.delay(n) for n in range(0, 9)] == [0, 1, 2, 4, 8, 16, 32, 60, 60]


def test_a_part_that_ran_long_enough_starts_the_backoff_again() -> None:
    policy = RestartPolicy(first_delay=1, max_delay=60, healthy_after=60)
    part = PartStatus("jobs")
    assert [part.exited(1, 2.0, NOW, policy) for _ in range(3)] == [1, 2, 4]
    assert part.exited(1, 3600.0, NOW, policy) == 1
    assert (part.status, part.last_exit, part.consecutive_failures) == ("waiting to restart", 1, 1)


def test_status_round_trips_and_feeds_the_processes_table(tmp_path: Path) -> None:
    path = status_path(tmp_path, "demo")
    jobs = PartStatus("jobs", restarts=2, log="/x/jobs.log")
    jobs.started(4242, NOW)
    jobs.exited(137, 5.0, NOW, RestartPolicy())
    app = PartStatus("app")
    app.started(5379, NOW)
    write_status(path, RunStatus("demo", 1, NOW.isoformat(), [jobs, app, PartStatus("source")]))
    loaded = read_status(path)
    assert loaded is not None and loaded["namespace"] == "demo"
    rows = processes_table(loaded, runner_alive=True)
    assert rows[0]["part"] == "jobs" and rows[0]["restarts"] == "2"
    assert rows[0]["pid"] == ""  # waiting to restart: no process
    assert rows[0]["last exit status"] == "137"
    assert rows[0]["last failure"] == "2026-11-26 12:00:00 UTC"
    assert rows[1]["pid"] == "5379"  # a process id, not a count: no thousands separator
    assert rows[2]["pid"] == rows[2]["last exit status"] == ""  # blank, never "None"
    assert processes_table(loaded, runner_alive=False) == []
    assert read_status(tmp_path / "missing.json") is None


def test_one_runner_per_namespace(tmp_path: Path) -> None:
    with RunnerLock(tmp_path, "demo"):
        with pytest.raises(TrendoffError, match="another `trendoff run`"):
            RunnerLock(tmp_path, "demo").__enter__()
        with RunnerLock(tmp_path, "other"):
            pass
    with RunnerLock(tmp_path, "demo"):  # released on exit
        pass


def test_logs_rotate_past_their_size(tmp_path: Path) -> None:
    log = RotatingLog(tmp_path / "jobs.log", max_bytes=100, backups=2)
    for number in range(10):
        log.write(f"line {number:02d} ".encode() * 6)  # 48 bytes a write
    log.close()
    files = sorted(path.name for path in tmp_path.iterdir())
    assert files == ["jobs.log", "jobs.log.1", "jobs.log.2"]
    assert all(path.stat().st_size <= 150 for path in tmp_path.iterdir())
    assert (
        b"line 09" in (tmp_path / "jobs.log.1").read_bytes() + (tmp_path / "jobs.log").read_bytes()
    )
