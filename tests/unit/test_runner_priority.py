"""`trendoff run` starts the jobs and the source at a lower CPU priority than the app, as a real
child process sees it: its nice value, and on Linux its session's scheduling group."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.runner import _prepare_child, parts
from pipeline.settings import Settings

AUTOGROUP = Path("/proc/self/autogroup")
# What the child reports: its nice value, then its scheduling group ("/autogroup-N nice K"),
# or "none" where the kernel has no such groups.
REPORT = (
    "import os, pathlib; p = pathlib.Path('/proc/self/autogroup'); "
    "print(os.nice(0)); print(p.read_text().strip() if p.exists() else 'none')"
)


def started_child(nice: int) -> tuple[int, str]:
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


def test_a_background_part_runs_at_the_lower_priority_and_its_session_group_too() -> None:
    own_nice = os.nice(0)
    nice, group = started_child(7)
    assert nice == min(19, own_nice + 7)
    if AUTOGROUP.exists():
        assert group.endswith("nice 7"), group
        # A group of its own: the runner's (this test's) group is left as it was.
        assert group.split()[0] != AUTOGROUP.read_text().split()[0]


def test_a_foreground_part_keeps_the_runners_priority() -> None:
    own_nice = os.nice(0)
    nice, group = started_child(0)
    assert nice == own_nice
    if AUTOGROUP.exists():
        assert group.endswith("nice 0"), group


@pytest.mark.parametrize("background", [0, 19])
def test_the_jobs_and_the_source_get_the_setting_and_the_app_keeps_full_priority(
    background: int,
) -> None:
    settings = Settings(run_background_nice=background)
    niceness = {part.name: part.nice for part in parts(settings, "--source synthetic", "15m", True)}
    assert niceness == {"jobs": background, "source": background, "app": 0}
