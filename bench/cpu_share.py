"""Where the cores go while a bench runs: CPU seconds per part of the pipeline, read from /proc.

Every part `trendoff run` and `trendoff stack up` start is its own process, named by its command
line, so a process's part is found from that line alone. The bench process itself (which produces
and polls in the freshness bench) is named by the caller. Linux only: the figures come from
``/proc/<pid>/stat`` (user + system time) and ``/proc/stat`` (the whole machine).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.stack.process import command_line

PROC = Path("/proc")
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")

# (part, a piece of its command line), in the order they are tried: the Spark JVM's command line
# names its jars, the Python processes their `python -m pipeline` command.
PARTS: tuple[tuple[str, str], ...] = (
    ("jobs: Spark JVM", "pyspark/jars"),
    ("jobs: Python driver", "-m pipeline jobs"),
    ("producer", "-m pipeline produce"),
    ("app", "streamlit run"),
    ("runner", "-m pipeline run"),
    # The stack marks its servers' command lines (pipeline.stack.process.marker).
    ("cassandra", "-Dtrendoff.service=cassandra@"),
    ("kafka", "-Dtrendoff.service=kafka@"),
)


def part_of(command_line: str) -> str | None:
    """The pipeline part a process's command line belongs to, or None for any other process."""
    for part, piece in PARTS:
        if piece in command_line:
            return part
    return None


def process_seconds(stat_line: str) -> float:
    """User + system CPU seconds from a ``/proc/<pid>/stat`` line. The command name in
    parentheses may hold spaces, so fields are counted after its closing parenthesis."""
    fields = stat_line[stat_line.rindex(")") + 2 :].split()
    # After the name: state is field 3 of the whole line, utime 14 and stime 15.
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def per_process(named: dict[int, str]) -> dict[int, tuple[str, float]]:
    """Each pipeline process's part and CPU seconds so far; ``named`` parts by pid win."""
    found: dict[int, tuple[str, float]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        part = named.get(pid) or part_of(command_line(pid))
        if part is None:
            continue
        try:
            found[pid] = (part, process_seconds((entry / "stat").read_text()))
        except (FileNotFoundError, ProcessLookupError):
            continue  # ended while being read
    return found


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of every core since boot, from the first line of /proc/stat."""
    values = [int(v) for v in (PROC / "stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # guest time is already inside user time
    return total - idle, total


@dataclass
class CpuMeter:
    """Cores each part used between :meth:`start` and :meth:`stop` (1.0 = one core busy)."""

    named: dict[int, str]

    def start(self) -> None:
        self._started = time.monotonic()
        self._before = per_process(self.named)
        self._machine_before = machine_jiffies()

    def stop(self) -> dict[str, float]:
        wall = time.monotonic() - self._started
        after = per_process(self.named)
        busy_after, total_after = machine_jiffies()
        used: dict[str, float] = {}
        for pid, (part, seconds) in after.items():
            # A process that started in between counts from zero; one that ended is not seen.
            before = self._before.get(pid, (part, 0.0))[1]
            used[part] = used.get(part, 0.0) + seconds - before
        cores = {part: round(seconds / wall, 2) for part, seconds in sorted(used.items())}
        busy_before, total_before = self._machine_before
        share = (busy_after - busy_before) / max(1, total_after - total_before)
        cores["whole machine"] = round(share * (os.cpu_count() or 1), 2)
        return cores
