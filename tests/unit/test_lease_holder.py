"""When a batch run may take over a lease: only from a process of this host that is gone."""

from __future__ import annotations

import os
import subprocess
import sys

from pipeline.jobs.lease import holder_is_gone


def test_only_a_dead_process_of_this_host_gives_up_its_lease() -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert holder_is_gone("here", dead.pid, "here")
    assert not holder_is_gone("here", os.getpid(), "here")  # alive
    assert not holder_is_gone("there", dead.pid, "here")  # another host: wait for the TTL
    assert not holder_is_gone("here", None, "here")
