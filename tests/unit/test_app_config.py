"""How the app is served: loopback by default and no file watcher, whichever way it starts.

The file watcher re-examines every imported module under the project on each script run (the
virtualenv too when it lives in the project), which measured ~1 s per page load on two cores
(BENCHMARKS.md, *App*)."""

from __future__ import annotations

import tomllib

from pipeline.runner import app_command
from pipeline.settings import Settings
from tests.conftest import REPO_ROOT


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_trendoff_run_serves_the_app_on_loopback_without_a_file_watcher() -> None:
    command = app_command(Settings(namespace="unit_app"))
    assert option(command, "--server.address") == "127.0.0.1"
    assert option(command, "--server.fileWatcherType") == "none"


def test_streamlit_run_reads_the_same_choices_from_the_project_config() -> None:
    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    assert config["server"]["fileWatcherType"] == "none"
    assert config["server"]["runOnSave"] is False
