"""``trendoff run``: Trendoff's long-running parts in the foreground; Ctrl-C stops them all."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys

from pipeline.jvm import PROJECT_ROOT
from pipeline.settings import Settings

logger = logging.getLogger(__name__)


def app_command(settings: Settings) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(PROJECT_ROOT / "streamlit_app.py"),
        "--server.address",
        settings.app_address,
        "--server.port",
        str(settings.app_port),
        "--server.headless",
        "true",
    ]


def run_app(settings: Settings) -> int:
    url = f"http://{settings.app_address}:{settings.app_port}"
    process = subprocess.Popen(app_command(settings), cwd=PROJECT_ROOT)
    print(f"Trendoff is running: open {url} (Ctrl-C stops it)", flush=True)  # noqa: T201
    try:
        return process.wait()
    except KeyboardInterrupt:
        logger.info("stopping the app")
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        return 0
