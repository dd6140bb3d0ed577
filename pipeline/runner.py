"""``trendoff run``: every long-running part of Trendoff in the foreground, stopped by one Ctrl-C.

It starts ``trendoff jobs`` (the master and speed jobs and the batch scheduler in one Spark
application), a source (by default the synthetic generator at a gentle rate, re-timed to now) and
the app, each as its own process with its log under ``<state dir>/logs`` (rotated by size). A
source that finishes (a replayed file) leaves the jobs and the app running; when the jobs or the
app exit, they are restarted with exponential backoff, and ``<state dir>/run/<namespace>.json``
says so (the Pipeline page shows it). One runner per namespace: a second one is refused.

Each part runs in a session of its own, so a Ctrl-C in the terminal reaches only the runner,
which then stops the parts in order (the source first); a part's own Spark JVM is never hit by
the terminal's signal halfway through a py4j call. On Linux each part also gets SIGTERM if the
runner itself dies, so a killed runner leaves no orphans.

The jobs and the source run at a lower CPU priority than the app (``background_nice``, 10 by
default; so do Kafka and Cassandra when ``trendoff stack up`` starts them): on a busy machine a
visitor's page is drawn first and the pipeline catches up between page loads
(docs/performance.md).
"""

from __future__ import annotations

import functools
import logging
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from pipeline.jvm import PROJECT_ROOT
from pipeline.priority import lower_priority
from pipeline.settings import Settings
from pipeline.supervision import (
    PartStatus,
    RestartPolicy,
    RotatingLog,
    RunnerLock,
    RunStatus,
    status_path,
    write_status,
)

logger = logging.getLogger(__name__)

DEFAULT_SOURCE = "--source synthetic --rate 5 --retime now"
STOP_GRACE_SECONDS = 9.0
_PR_SET_PDEATHSIG = 1
DEFAULT_POLICY = RestartPolicy()


@dataclass
class Part:
    name: str
    command: list[str]
    process: subprocess.Popen[bytes] | None = None
    status: PartStatus = field(init=False)
    started: float = 0.0
    restart_at: float = 0.0
    log: RotatingLog | None = None
    nice: int = 0

    def __post_init__(self) -> None:
        self.status = PartStatus(self.name)


def app_command(settings: Settings) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        # The ASGI wrapper of streamlit_app.py: pages opened at their own address load cleanly.
        str(PROJECT_ROOT / "pipeline" / "app" / "server.py"),
        "--server.address",
        settings.app_address,
        "--server.port",
        str(settings.app_port),
        "--server.headless",
        "true",
        # Streamlit's file watcher re-examines every imported module under the project on each
        # script run (the .venv included when it lives there): ~1 s per page load on two cores.
        # The app is not edited while it serves; .streamlit/config.toml says the same.
        "--server.fileWatcherType",
        "none",
    ]


def parts(settings: Settings, source: str, batch_every: str, with_jobs: bool) -> list[Part]:
    trendoff = [sys.executable, "-m", "pipeline"]
    background = settings.background_nice
    selected = []
    if with_jobs:
        jobs = [*trendoff, "jobs", "--batch-every", batch_every]
        selected.append(Part("jobs", jobs, nice=background))
        if source != "none":
            produce = [*trendoff, "produce", *shlex.split(source)]
            selected.append(Part("source", produce, nice=background))
    selected.append(Part("app", app_command(settings)))
    return selected


def run(
    settings: Settings,
    *,
    source: str = DEFAULT_SOURCE,
    batch_every: str = "15m",
    with_jobs: bool = True,
    policy: RestartPolicy = DEFAULT_POLICY,
) -> int:
    with RunnerLock(settings.state_dir, settings.namespace):
        return _supervise(settings, parts(settings, source, batch_every, with_jobs), policy)


def _supervise(settings: Settings, running: list[Part], policy: RestartPolicy) -> int:
    logs = settings.state_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    status = RunStatus(settings.namespace, os.getpid(), datetime.now(UTC).isoformat())
    status.parts = [part.status for part in running]
    published = status_path(settings.state_dir, settings.namespace)
    # `kill`, a service manager or `docker stop` send SIGTERM: stop the parts as Ctrl-C does,
    # instead of dying at once and leaving every child running.
    # SIGINT too, explicitly: started from a script in the background, a process inherits SIGINT
    # ignored, and Ctrl-C or `kill -INT` would do nothing.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    for part in running:
        if part.name != "app":
            part.log = RotatingLog(
                logs / f"{part.name}.log", settings.run_log_max_bytes, settings.run_log_backups
            )
        _start(part, logs)
    write_status(published, status)
    url = f"http://{settings.app_address}:{settings.app_port}"
    print(f"Trendoff is running: open {url}  (Ctrl-C stops everything; logs in {logs})", flush=True)  # noqa: T201
    try:
        while True:
            if _look_after(running, logs, policy):
                write_status(published, status)
            time.sleep(0.5)
    except KeyboardInterrupt:
        logger.info("stopping")
    finally:
        _stop_all(running)
        for published_part in status.parts:
            if published_part.status in ("running", "waiting to restart", "starting"):
                published_part.status, published_part.pid = "stopped", None
        write_status(published, status)
    return 0


def _look_after(running: list[Part], logs: Path, policy: RestartPolicy) -> bool:
    """One round of supervision; True when a part's status changed.

    A source that ends is done (a replayed file has been sent; restarting it would send it
    again). The jobs and the app are restarted with backoff whatever ended them: the views are
    exact across restarts (checkpoints and idempotent rows), and the app is stateless."""
    changed = False
    now = time.monotonic()
    for part in list(running):
        if part.process is None:
            if now >= part.restart_at:
                part.status.restarts += 1
                _start(part, logs)
                changed = True
            continue
        code = part.process.poll()
        if code is None:
            continue
        changed = True
        if part.name == "source":
            # A replayed file has ended: what it sent stays on view.
            part.status.status, part.status.last_exit = (
                ("finished" if code == 0 else "failed"),
                code,
            )
            log_finish = logger.info if code == 0 else logger.error
            log_finish(
                "the source finished with status %s; the jobs and the app keep running (log %s)",
                code,
                _log(logs, part),
            )
            running.remove(part)
            continue
        delay = part.status.exited(code, now - part.started, datetime.now(UTC), policy)
        part.process, part.restart_at = None, now + delay
        logger.error(
            "%s exited with status %s; restarting it in %.0f s (failure %d in a row, log %s)",
            part.name,
            code,
            delay,
            part.status.consecutive_failures,
            _log(logs, part),
        )
    return changed


def _start(part: Part, logs: Path) -> None:
    # The app's own output (its URL) goes to the terminal; the others' go through a pipe into
    # their size-bounded logs.
    part.process = subprocess.Popen(
        part.command,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE if part.log else None,
        stderr=subprocess.STDOUT if part.log else None,
        start_new_session=True,
        preexec_fn=functools.partial(_prepare_child, part.nice),
    )
    part.started = time.monotonic()
    part.status.started(part.process.pid, datetime.now(UTC))
    part.status.log = str(_log(logs, part))
    if part.log is not None and part.process.stdout is not None:
        threading.Thread(
            target=_copy_output,
            args=(part.process.stdout, part.log),
            name=f"log-{part.name}",
            daemon=True,
        ).start()
    logger.info(
        "started %s (pid %d, nice %d), log %s",
        part.name,
        part.process.pid,
        part.nice,
        _log(logs, part),
    )


def _copy_output(output: IO[bytes], log: RotatingLog) -> None:
    """Copy a part's output to its log until the part closes it (it exits)."""
    with output:
        while chunk := output.read1(65536):  # type: ignore[attr-defined]
            log.write(chunk)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _prepare_child(nice: int) -> None:
    """In the child, before exec: SIGINT back to its default (each part stops cleanly on it),
    the part's CPU priority lowered by ``nice``, and on Linux, SIGTERM to the child when the
    runner dies. Only system calls here: the runner has threads when it forks."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    lower_priority(nice)
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _log(logs: Path, part: Part) -> Path | str:
    return "terminal" if part.name == "app" else logs / f"{part.name}.log"


def _stop_all(running: list[Part]) -> None:
    # The source first, so no post is sent that the jobs will not see before they stop.
    for part in sorted(running, key=lambda p: p.name != "source"):
        if part.process and part.process.poll() is None:
            part.process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for part in running:
        if part.process is None:
            continue
        try:
            part.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            logger.warning("%s did not stop in time; killing it", part.name)
            part.process.kill()
            part.process.wait()
