"""``trendoff run``: every long-running part of Trendoff in the foreground, stopped by one Ctrl-C.

It starts ``trendoff jobs`` (the master and speed jobs and the batch scheduler in one Spark
application), a source (by default the synthetic generator at a gentle rate, re-timed to now) and
the app, each as its own process with its log under ``<state dir>/logs``. A source that finishes
(a replayed file) leaves the jobs and the app running; when the jobs or the app exit on their own,
the rest are stopped too, so a broken part is never silently missing.

Each part runs in a session of its own, so a Ctrl-C in the terminal reaches only the runner,
which then stops the parts in order (the source first); a part's own Spark JVM is never hit by
the terminal's signal halfway through a py4j call. On Linux each part also gets SIGTERM if the
runner itself dies, so a killed runner leaves no orphans.
"""

from __future__ import annotations

import logging
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.jvm import PROJECT_ROOT
from pipeline.settings import Settings

logger = logging.getLogger(__name__)

DEFAULT_SOURCE = "--source synthetic --rate 5 --retime now"
STOP_GRACE_SECONDS = 9.0
_PR_SET_PDEATHSIG = 1


@dataclass
class Part:
    name: str
    command: list[str]
    process: subprocess.Popen[bytes] | None = None


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
    ]


def parts(settings: Settings, source: str, batch_every: str, with_jobs: bool) -> list[Part]:
    trendoff = [sys.executable, "-m", "pipeline"]
    selected = []
    if with_jobs:
        selected.append(Part("jobs", [*trendoff, "jobs", "--batch-every", batch_every]))
        if source != "none":
            selected.append(Part("source", [*trendoff, "produce", *shlex.split(source)]))
    selected.append(Part("app", app_command(settings)))
    return selected


def run(
    settings: Settings,
    *,
    source: str = DEFAULT_SOURCE,
    batch_every: str = "15m",
    with_jobs: bool = True,
) -> int:
    logs = settings.state_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    running = parts(settings, source, batch_every, with_jobs)
    # `kill`, a service manager or `docker stop` send SIGTERM: stop the parts as Ctrl-C does,
    # instead of dying at once and leaving every child running.
    # SIGINT too, explicitly: started from a script in the background, a process inherits SIGINT
    # ignored, and Ctrl-C or `kill -INT` would do nothing.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    for part in running:
        log = (logs / f"{part.name}.log").open("ab")
        # The app's own output (its URL) goes to the terminal; the jobs' go to their logs.
        output = None if part.name == "app" else log
        part.process = subprocess.Popen(
            part.command,
            cwd=PROJECT_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
            start_new_session=True,
            preexec_fn=_prepare_child,
        )
        logger.info("started %s (pid %d), log %s", part.name, part.process.pid, _log(logs, part))
    url = f"http://{settings.app_address}:{settings.app_port}"
    print(f"Trendoff is running: open {url}  (Ctrl-C stops everything; logs in {logs})", flush=True)  # noqa: T201
    try:
        while True:
            for part in running:
                assert part.process is not None
                code = part.process.poll()
                if code is not None and part.name == "source":
                    # A replayed file has ended: what it sent stays on view.
                    log_finish = logger.info if code == 0 else logger.error
                    log_finish(
                        "the source finished with status %s; the jobs and the app keep running "
                        "(log %s)",
                        code,
                        _log(logs, part),
                    )
                    running.remove(part)
                    break
                if code is not None:
                    logger.error(
                        "%s exited with status %s; stopping the rest (log %s)",
                        part.name,
                        code,
                        _log(logs, part),
                    )
                    return code or 1
            time.sleep(1)
    except KeyboardInterrupt:
        logger.info("stopping")
    finally:
        _stop_all(running)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _prepare_child() -> None:
    """In the child, before exec: SIGINT back to its default (each part stops cleanly on it),
    and on Linux, SIGTERM to the child when the runner dies."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
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
