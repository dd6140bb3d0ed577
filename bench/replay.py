"""A bulk replay as a user starts it: how soon every post is counted, and whether the speed
views keep moving meanwhile.

    .venv/bin/python bench/replay.py [--file ../shared/data/ira-tweets-dev.csv.gz] [--json]
                                     [--setting TRENDOFF_NAME=VALUE …]

Needs the local stack. In a fresh namespace it starts `trendoff run --source "--source csv
--format ira FILE --retime now"` (what `make run SOURCE=…` runs) and every second reads each
job's progress rows. It prints when the producer finished, when the speed layer and the master
dataset had each written every post (seconds from the runner printing its URL), and the longest
gap between two speed-view updates while posts were waiting (the views a user watches moving).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

from freshness import (
    DEV,
    add_setting_option,
    apply_settings,
    end_offsets,
    fresh_namespace,
    job_lag,
    report,
    start_runner,
)

from pipeline.cassandra import build_cluster
from pipeline.settings import Settings


def speed_updated_at(settings: Settings, session: object) -> object:
    rows = session.execute(  # type: ignore[attr-defined]
        "SELECT updated_at FROM job_progress WHERE job = 'speed'"
    )
    return max((row.updated_at for row in rows), default=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEV)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--json", action="store_true")
    add_setting_option(parser)
    args = parser.parse_args()

    settings, env = fresh_namespace(f"replay_{uuid.uuid4().hex[:8]}", app_port=8596)
    state = settings.state_dir
    apply_settings(parser, env, args.setting)
    env["SOURCE"] = f"--source csv --format ira {args.file.resolve()} --retime now"
    runner, url_at = start_runner(settings, env, state / "runner.log", source=None)
    cluster = build_cluster(settings)
    session = cluster.connect(settings.keyspace)
    source_log = state / "logs" / "source.log"
    produced_at: float | None = None
    done: dict[str, float | None] = {"speed": None, "master": None}
    last_update, last_change = None, time.monotonic()
    longest_gap = 0.0
    try:
        while time.monotonic() - url_at < args.timeout and None in done.values():
            time.sleep(1.0)
            now = time.monotonic()
            if produced_at is None and "source finished" in (state / "runner.log").read_text():
                produced_at = now - url_at
            updated = speed_updated_at(settings, session)
            if updated != last_update:
                last_update, last_change = updated, now
            lag = job_lag(settings, end_offsets(settings))
            if lag["speed"] > 0 and last_update is not None:
                longest_gap = max(longest_gap, now - last_change)
            if produced_at is not None:
                for job, behind in lag.items():
                    if behind == 0 and done[job] is None:
                        done[job] = now - url_at
    finally:
        cluster.shutdown()
        runner.send_signal(signal.SIGINT)
        try:
            runner.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(runner.pid, signal.SIGKILL)
    posts = sum(end_offsets(settings).values())
    result = {
        "posts": posts,
        "producer_finished_s": round(produced_at, 1) if produced_at else None,
        "speed_all_counted_s": round(done["speed"], 1) if done["speed"] else None,
        "master_all_written_s": round(done["master"], 1) if done["master"] else None,
        "longest_speed_update_gap_s": round(longest_gap, 1),
        "source_log": str(source_log),
    }
    report(settings, result, keep=args.keep, as_json=args.json)


if __name__ == "__main__":
    main()
