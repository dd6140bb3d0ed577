"""Everything but the app can run at a lower CPU priority (`TRENDOFF_BACKGROUND_NICE`), as real
child processes see it: their nice value, and on Linux their session's scheduling group. Both
ways of starting one are covered: a part of `trendoff run` and a server of `trendoff stack up`."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from pipeline.runner import _prepare_child, parts
from pipeline.settings import Settings
from pipeline.stack.process import ServiceFiles, spawn

AUTOGROUP = Path("/proc/self/autogroup")
# What the child reports: its nice value, then its scheduling group ("/autogroup-N nice K"),
# or "none" where the kernel has no such groups.
REPORT = (
    "import os, pathlib; p = pathlib.Path('/proc/self/autogroup'); "
    "print(os.nice(0)); print(p.read_text().strip() if p.exists() else 'none')"
)


def runner_child(nice: int) -> tuple[int, str]:
    """Start a child the way the runner starts a part; return its nice value and group."""
    output = subprocess.run(
        [sys.executable, "-c", REPORT],
        check=True,
        capture_output=True,
        text=True,
        start_new_session=True,
        preexec_fn=functools.partial(_prepare_child, nice),
    ).stdout.splitlines()
    return int(output[0]), output[1]


def stack_child(nice: int, root: Path) -> tuple[int, str]:
    """Start a child the way `trendoff stack up` starts a server; return what it reported."""
    files = ServiceFiles(root)
    spawn([sys.executable, "-c", REPORT], files, cwd=root, nice=nice)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        # The log holds a "===== starting at …" line, then what the child printed.
        lines = files.log_file.read_text().splitlines()
        reported = [line for line in lines if line.strip() and not line.startswith("=====")]
        if len(reported) >= 2:
            return int(reported[0]), reported[1]
        time.sleep(0.05)
    pytest.fail(f"the spawned child reported nothing: {files.log_file.read_text()!r}")


def assert_lowered(nice: int, group: str, by: int) -> None:
    assert nice == min(19, os.nice(0) + by)
    if AUTOGROUP.exists():
        assert group.endswith(f"nice {by}"), group
        # A group of its own: this test's group is left as it was. Ours reads empty where this
        # test runs in the kernel's default group (a CI runner started by init is).
        own_group = AUTOGROUP.read_text().split()
        assert group.split()[0] != (own_group[0] if own_group else "")


def test_a_part_of_trendoff_run_runs_lower_and_so_does_its_session_group() -> None:
    assert_lowered(*runner_child(7), by=7)


def test_a_part_started_without_a_setting_keeps_the_runners_priority() -> None:
    assert_lowered(*runner_child(0), by=0)


def test_a_stack_server_runs_lower_when_asked(tmp_path: Path) -> None:
    assert_lowered(*stack_child(5, tmp_path / "lowered"), by=5)
    assert_lowered(*stack_child(0, tmp_path / "default"), by=0)


@pytest.mark.parametrize("background", [0, 19])
def test_the_jobs_and_the_source_get_the_setting_and_the_app_keeps_full_priority(
    background: int,
) -> None:
    settings = Settings(background_nice=background)
    niceness = {part.name: part.nice for part in parts(settings, "--source synthetic", "15m", True)}
    assert niceness == {"jobs": background, "source": background, "app": 0}


@pytest.mark.parametrize("bad", [-1, 20])
def test_a_priority_outside_what_nice_allows_is_refused_by_name(bad: int) -> None:
    # Below 0 would need privileges; above 19 the kernel has no lower priority.
    with pytest.raises(ValidationError, match="background_nice"):
        Settings(background_nice=bad)
