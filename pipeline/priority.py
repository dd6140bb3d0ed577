"""Lower a child process's CPU priority, for the parts that should yield to the app.

Called in the child between fork and exec (``preexec_fn``), so it makes system calls only: no
Python-level locks, no logging (the parent may have had threads when it forked).
"""

from __future__ import annotations

import os

AUTOGROUP = "/proc/self/autogroup"


def lower_priority(nice: int) -> None:
    """Lower this process (and what it starts) by ``nice``, and its session's scheduling group.

    Call it after the process has become a session leader (``start_new_session``). Where the
    kernel schedules by session (Linux's autogroup, on by default on desktop distributions),
    sessions share the CPU as equals and a process's nice value only counts against the other
    processes of its own session: so the group's nice value is lowered too. Where there is no
    such group, the process nice value is what counts."""
    if not nice:
        return
    # Inherited by every thread and process the part starts (a Spark JVM too).
    os.nice(nice)
    try:
        group = os.open(AUTOGROUP, os.O_WRONLY)
    except OSError:
        return  # no autogroup scheduling here
    try:
        os.write(group, str(nice).encode())
    except OSError:
        pass  # autogroup scheduling turned off: the process nice value counts
    finally:
        os.close(group)
