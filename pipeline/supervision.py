"""How ``trendoff run`` looks after its parts: restart backoff, the status it publishes, the lock
that keeps one runner per namespace, and size-bounded logs. No process handling here, only rules
and files, so the rules are tested directly.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from pipeline.errors import TrendoffError


@dataclass(frozen=True)
class RestartPolicy:
    """Exponential backoff between restarts of a part that keeps failing: 1, 2, 4 … up to
    ``max_delay`` seconds. A part that ran ``healthy_after`` seconds before it failed starts
    again from the first delay: one crash a day is not a crash loop."""

    first_delay: float = 1.0
    max_delay: float = 60.0
    healthy_after: float = 60.0

    def delay(self, consecutive_failures: int) -> float:
        if consecutive_failures <= 0:
            return 0.0
        return min(self.max_delay, self.first_delay * 2.0 ** (consecutive_failures - 1))


@dataclass
class PartStatus:
    """What the runner knows of one part; published for the app's Pipeline page."""

    name: str
    status: str = "starting"  # running | waiting to restart | finished | failed | stopped
    pid: int | None = None
    started_at: str | None = None
    restarts: int = 0
    consecutive_failures: int = 0
    last_exit: int | None = None
    last_failure_at: str | None = None
    log: str = ""

    def started(self, pid: int, now: datetime) -> None:
        self.status, self.pid, self.started_at = "running", pid, now.isoformat()

    def exited(self, code: int, ran_for: float, now: datetime, policy: RestartPolicy) -> float:
        """Record an unexpected exit; returns how long to wait before the restart."""
        if ran_for >= policy.healthy_after:
            self.consecutive_failures = 0
        self.consecutive_failures += 1
        self.last_exit, self.last_failure_at, self.pid = code, now.isoformat(), None
        self.status = "waiting to restart"
        return policy.delay(self.consecutive_failures)


@dataclass
class RunStatus:
    namespace: str
    runner_pid: int
    started_at: str
    parts: list[PartStatus] = field(default_factory=list)
    updated_at: str = ""

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def status_path(state_dir: Path, namespace: str) -> Path:
    return state_dir / "run" / f"{namespace}.json"


def write_status(path: Path, status: RunStatus) -> None:
    """Atomically: a reader never sees half a file."""
    status.updated_at = datetime.now(UTC).isoformat()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(status.to_json(), indent=1), encoding="utf-8")
    temporary.replace(path)


def read_status(path: Path) -> dict[str, object] | None:
    """The runner's last published status, None when no runner has published one."""
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


class RunnerLock:
    """One ``trendoff run`` per namespace and state dir: two would start two jobs applications
    writing the same views and two batch schedulers. An exclusive ``flock``, released by the
    kernel when the runner dies however it dies, so a stale lock never blocks a restart."""

    def __init__(self, state_dir: Path, namespace: str) -> None:
        self.path = state_dir / "run" / f"{namespace}.lock"
        self._handle: IO[str] | None = None

    def __enter__(self) -> RunnerLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise TrendoffError(
                f"another `trendoff run` (pid {holder}) is running for namespace "
                f"{self.path.stem!r}",
                hint="stop it first (Ctrl-C in its terminal), or use another TRENDOFF_NAMESPACE",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


class RotatingLog:
    """A log file that is renamed to ``.1`` (``.1`` to ``.2`` …) once it passes ``max_bytes``,
    keeping ``backups`` old files: a part that logs a line per micro-batch for weeks cannot
    fill the disk."""

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        self.path, self.max_bytes, self.backups = path, max_bytes, backups
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("ab")

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self._file.flush()
        if self._file.tell() >= self.max_bytes:
            self.rotate()

    def rotate(self) -> None:
        self._file.close()
        for number in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{number}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{number + 1}"))
        if self.backups > 0:
            self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        else:
            self.path.unlink(missing_ok=True)
        self._file = self.path.open("ab")

    def close(self) -> None:
        self._file.close()
