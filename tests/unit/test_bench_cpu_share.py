"""The benches' CPU meter: parts named by command line; a real busy process measured from /proc."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from cpu_share import CpuMeter, part_of, process_seconds


@pytest.mark.parametrize(
    ("command_line", "part"),
    [
        ("/usr/lib/jvm/bin/java -cp /x/pyspark/jars/* -Xmx2g org.x", "jobs: Spark JVM"),
        ("/repo/.venv/bin/python -m pipeline jobs --batch-every 15m", "jobs: Python driver"),
        ("/repo/.venv/bin/python -m pipeline produce --source demo", "producer"),
        ("/repo/.venv/bin/python -m streamlit run /repo/pipeline/app/server.py", "app"),
        ("/repo/.venv/bin/python -m pipeline run", "runner"),
        ("/usr/bin/java -Dtrendoff.service=cassandra@/repo/.trendoff -Xmx1G", "cassandra"),
        ("/usr/bin/java -Dtrendoff.service=kafka@/repo/.trendoff -Xmx512m", "kafka"),
        ("/usr/bin/python3 -m http.server", None),
    ],
)
def test_part_of_names_each_pipeline_process(command_line: str, part: str | None) -> None:
    assert part_of(command_line) == part


def test_process_seconds_counts_fields_after_a_name_with_spaces() -> None:
    ticks = os.sysconf("SC_CLK_TCK")
    # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    line = f"42 (a (b) c) S 1 42 42 0 -1 4194304 10 0 0 0 {3 * ticks} {2 * ticks} 0 0 20 0 1 0"
    assert process_seconds(line) == pytest.approx(5.0)


def test_meter_sees_a_busy_child_and_not_a_sleeping_one() -> None:
    spin = "import time\nend = time.monotonic() + 1.5\nwhile time.monotonic() < end: pass\n"
    busy = subprocess.Popen([sys.executable, "-c", spin])
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3)"])
    meter = CpuMeter(named={busy.pid: "busy", idle.pid: "idle"})
    meter.start()
    time.sleep(1.2)
    cores = meter.stop()
    busy.wait()
    idle.wait()
    assert cores["busy"] > 0.3
    assert cores["idle"] < 0.1
    assert cores["whole machine"] >= cores["busy"]
