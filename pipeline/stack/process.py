"""Starting, finding and stopping the server processes that the stack owns.

Each server runs detached in its own session with its output in a log file. Its pid file holds the
pid, and its command line carries a marker naming the service and state dir, so that ``down`` only
ever signals a process this stack started — a recycled pid belonging to something else is ignored.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import TrendoffError
from pipeline.priority import lower_priority

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceFiles:
    """Where one service keeps its things under the state dir."""

    root: Path

    @property
    def pid_file(self) -> Path:
        return self.root / "server.pid"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def conf_dir(self) -> Path:
        return self.root / "conf"


def marker(service: str, state_dir: Path) -> str:
    """A system property put on the JVM command line to recognise our own processes."""
    return f"-Dtrendoff.service={service}@{state_dir}"


def command_line(pid: int) -> str:
    """A process's command line, arguments joined by spaces; empty once it has ended."""
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def _is_zombie(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return fields[0] == "Z"


def running_pid(files: ServiceFiles, service_marker: str) -> int | None:
    """The pid of our live server, or None; removes a stale pid file on the way."""
    try:
        pid = int(files.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    if service_marker in command_line(pid) and not _is_zombie(pid):
        return pid
    logger.info("removing stale pid file %s (pid %s is not our server)", files.pid_file, pid)
    files.pid_file.unlink(missing_ok=True)
    return None


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((host, port)) == 0


def ensure_port_free(host: str, port: int, service: str, setting: str) -> None:
    with socket.socket(socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise TrendoffError(
                f"cannot start {service}: port {port} on {host} is in use by another process",
                hint=f"stop that process or choose another port with {setting}",
            ) from None


def ensure_writable(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise TrendoffError(
            f"the state dir {directory} is not writable ({exc.strerror})",
            hint="fix its permissions or point TRENDOFF_STATE_DIR elsewhere",
        ) from None


def spawn(
    command: Sequence[str],
    files: ServiceFiles,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    nice: int = 0,
) -> int:
    """Start a detached server with its output appended to its log; record and return its pid.

    ``nice`` lowers its CPU priority (and its session's scheduling group) below the app's."""
    files.root.mkdir(parents=True, exist_ok=True)
    with files.log_file.open("ab") as log:
        log.write(f"\n===== starting at {time.strftime('%Y-%m-%dT%H:%M:%S%z')} =====\n".encode())
        log.flush()
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            preexec_fn=functools.partial(lower_priority, nice) if nice else None,
        )
    files.pid_file.write_text(str(process.pid))
    return process.pid


def log_tail(path: Path, lines: int = 5) -> str:
    try:
        tail = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return " | ".join(line.strip() for line in tail if line.strip())


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def reap(pid: int) -> None:
    """Collect a child's exit status if it is our child (it is, when this process spawned it)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def stop(pid: int, *, grace_seconds: float, name: str) -> None:
    """SIGTERM, wait up to the grace period, then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        reap(pid)
        if not pid_alive(pid):
            return
        time.sleep(0.2)
    logger.warning("%s (pid %d) ignored SIGTERM for %.0f s; killing it", name, pid, grace_seconds)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    for _ in range(50):
        reap(pid)
        if not pid_alive(pid):
            return
        time.sleep(0.1)
