"""Freshness with every part running: how long a post takes from the producer to serving.

    .venv/bin/python bench/freshness.py --rate 1000 --seconds 600 [--marker-every 2] [--json]

Needs the local stack (`trendoff stack up`). In a fresh namespace and state dir it starts
`trendoff run --source none` (the streaming jobs, the batch scheduler and the app: everything
`make run` starts) and then acts as its source: it sends dev posts at ``--rate`` posts/s for
``--seconds``, and every ``--marker-every`` seconds a marker post carrying a word of its own. A
poller asks the serving layer (the same query the app's compare page makes) for the marker
account's words and notes when each marker's word becomes visible. The posts are sent from a
process of their own at the priority `trendoff run` gives its source (`TRENDOFF_BACKGROUND_NICE`:
a `--setting`, else its default), while the poller keeps the bench's, as the app does: so a
priority setting is compared the way users would run it. It prints:

- start-up: seconds from the runner printing its URL to the first marker visible;
- produce -> visible p50 / p95 / max over every marker, and the first vs last third's p95
  (a steady state has the two alike; a growing delay shows as a larger last third);
- each job's lag when sending stops (posts and seconds of input not yet written), and how long
  it then took to catch up;
- the cores each part used while posts were being sent (`cpu_share.py`; 1.0 is one core);
- how long Ctrl-C (SIGINT) of the runner took to stop every part.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import queue
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cpu_share import CpuMeter
from kafka import KafkaConsumer, TopicPartition

from pipeline.admin import drop_namespace, initialise
from pipeline.cassandra import build_cluster
from pipeline.ingest.model import Post, Rejected
from pipeline.ingest.producer import produce
from pipeline.ingest.sources import open_source
from pipeline.priority import lower_priority
from pipeline.serving import Serving
from pipeline.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "data" / "ira-tweets-dev.csv.gz"
PROBE = "freshness_probe"
POLL_SECONDS = 0.2
SLICE_SECONDS = 0.02  # posts are handed to the producer in slices this long


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class Markers:
    """Marker posts: when each was sent and when serving first showed it."""

    def __init__(self, run: str) -> None:
        self.run = run
        self.sent: dict[str, float] = {}
        self.seen: dict[str, float] = {}
        self.lock = threading.Lock()

    def make(self, index: int) -> Post:
        word = f"fp{self.run}n{index:06d}"
        with self.lock:
            self.sent[word] = time.monotonic()
        return Post(
            post_id=f"{PROBE}-{self.run}-{index}",
            source="synthetic",
            author_id=PROBE,
            author_handle=PROBE,
            text=f"freshness probe {word}",
            created_at=datetime.now(UTC),
        )

    def pending(self) -> bool:
        with self.lock:
            return bool(self.sent.keys() - self.seen.keys())

    def observe(self, words: set[str]) -> None:
        """Note when each of this run's marker words was first seen. Markers are sent from
        another process, which reports their send times when it ends: so every word of this
        run counts, not only those whose send time is known here yet."""
        now = time.monotonic()
        prefix = f"fp{self.run}n"
        with self.lock:
            for word in words:
                if word.startswith(prefix) and word not in self.seen:
                    self.seen[word] = now

    def delays(self) -> list[tuple[float, float]]:
        """(sent at, seconds to visible) of every marker sent and seen, in send order."""
        with self.lock:
            return sorted(
                (self.sent[word], self.seen[word] - self.sent[word])
                for word in self.seen.keys() & self.sent.keys()
            )


def dev_posts() -> Iterator[Post]:
    """Dev posts, dated now, endlessly (the file again from the top when it ends)."""
    while True:
        for record in open_source("csv", [DEV], fmt="ira").records():
            if isinstance(record, Rejected):
                continue
            yield record._replace(created_at=datetime.now(UTC))


def paced(
    rate: int, seconds: float, markers: Markers, marker_every: float, stop: threading.Event
) -> Iterator[Post]:
    """``rate`` dev posts a second for ``seconds``, a marker every ``marker_every`` seconds."""
    posts = dev_posts()
    started = time.monotonic()
    sent = 0
    marker_index = 0
    while not stop.is_set():
        elapsed = time.monotonic() - started
        if elapsed >= seconds:
            return
        if elapsed >= marker_index * marker_every:
            yield markers.make(marker_index)
            marker_index += 1
        due = int(rate * (elapsed + SLICE_SECONDS))
        while sent < due:
            yield next(posts)
            sent += 1
        time.sleep(max(0.0, SLICE_SECONDS - (time.monotonic() - started - elapsed)))


def send_paced(
    settings: Settings,
    run: str,
    rate: int,
    seconds: float,
    marker_every: float,
    nice: int,
    results: multiprocessing.Queue,  # type: ignore[type-arg]
) -> None:
    """The sending process: a session of its own at the source's priority, as `trendoff run`
    starts its source (pipeline/priority.py). Reports the posts sent, the markers' send times
    (CLOCK_MONOTONIC: the same clock in every process) and the CPU seconds it used."""
    os.setsid()
    lower_priority(nice)
    markers = Markers(run)
    started = time.monotonic()
    summary = produce(settings, paced(rate, seconds, markers, marker_every, threading.Event()))
    sent_for = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_seconds = usage.ru_utime + usage.ru_stime
    results.put((summary.produced, sent_for, dict(markers.sent), cpu_seconds))


def wait_for(sender: Any, results: Any) -> Any:
    """What the sending process reports; it exits once it has reported."""
    while True:
        try:
            reported = results.get(timeout=1.0)
        except queue.Empty:
            if not sender.is_alive():
                raise SystemExit(
                    f"the sending process died (exit code {sender.exitcode})"
                ) from None
            continue
        sender.join()
        return reported


def poll(settings: Settings, markers: Markers, stop: threading.Event) -> None:
    with Serving(settings) as serving:
        while not stop.is_set():
            markers.observe(set(serving.word_counts(PROBE)))
            time.sleep(POLL_SECONDS)


def end_offsets(settings: Settings) -> dict[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers)
    try:
        partitions = [
            TopicPartition(settings.posts_topic, p)
            for p in consumer.partitions_for_topic(settings.posts_topic) or ()
        ]
        return {tp.partition: offset for tp, offset in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()


def job_lag(settings: Settings, ends: dict[int, int]) -> dict[str, int]:
    """Posts each job has not yet written, per job."""
    cluster = build_cluster(settings)
    try:
        session = cluster.connect(settings.keyspace)
        lag = {}
        for job in ("speed", "master"):
            done = {
                row.kafka_partition: row.max_offset + 1
                for row in session.execute(
                    "SELECT kafka_partition, max_offset FROM job_progress WHERE job = %s", (job,)
                )
            }
            lag[job] = sum(end - done.get(p, 0) for p, end in ends.items())
        return lag
    finally:
        cluster.shutdown()


def fresh_namespace(namespace: str, app_port: int) -> tuple[Settings, dict[str, str]]:
    """An initialised namespace with a state dir of its own (sharing the built jars), and the
    environment that points `trendoff` commands at it."""
    state = Path(tempfile.mkdtemp(prefix=f"trendoff-{namespace}-"))
    base = Settings()
    (state / "jvm").symlink_to(base.state_dir / "jvm")
    settings = base.model_copy(
        update={"namespace": namespace, "state_dir": state, "app_port": app_port}
    )
    initialise(settings)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDOFF_")}
    env.update(
        TRENDOFF_NAMESPACE=namespace,
        TRENDOFF_STATE_DIR=str(state),
        TRENDOFF_APP_PORT=str(app_port),
    )
    return settings, env


def add_setting_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="TRENDOFF_NAME=VALUE",
        help="a setting for the runner, to compare settings (repeatable)",
    )


def apply_settings(
    parser: argparse.ArgumentParser, env: dict[str, str], assignments: list[str]
) -> None:
    """``--setting`` values into the runner's environment (the bench's own TRENDOFF_ variables
    are not passed on, so a comparison names every setting it changes)."""
    for assignment in assignments:
        name, _, value = assignment.partition("=")
        if not name.startswith("TRENDOFF_") or not value:
            parser.error(f"--setting {assignment!r}: expected TRENDOFF_NAME=VALUE")
        env[name] = value


def start_runner(
    settings: Settings, env: dict[str, str], log: Path, source: str | None = "none"
) -> tuple[subprocess.Popen[str], float]:
    """``trendoff run`` (``--source SOURCE`` unless None: then the SOURCE variable of ``env``);
    returns it and when it printed the app's URL."""
    runner = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", *(["--source", source] if source else [])],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
        start_new_session=True,
    )
    assert runner.stdout is not None
    for line in runner.stdout:
        if "Trendoff is running" in line:
            threading.Thread(target=runner.stdout.read, daemon=True).start()
            return runner, time.monotonic()
    raise SystemExit(f"trendoff run ended before printing its URL; see {log}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=1000, help="posts per second")
    parser.add_argument("--seconds", type=float, default=600.0, help="how long to send")
    parser.add_argument("--marker-every", type=float, default=2.0, help="seconds between markers")
    parser.add_argument("--drain-timeout", type=float, default=300.0)
    parser.add_argument("--keep", action="store_true", help="keep the namespace afterwards")
    parser.add_argument("--json", action="store_true")
    add_setting_option(parser)
    args = parser.parse_args()

    run = uuid.uuid4().hex[:8]
    settings, env = fresh_namespace(f"fresh_{run}", app_port=8597)
    apply_settings(parser, env, args.setting)
    state = settings.state_dir
    log = state / "runner.log"
    runner, url_at = start_runner(settings, env, log)
    markers = Markers(run)
    stop_polling = threading.Event()
    poller = threading.Thread(target=poll, args=(settings, markers, stop_polling), daemon=True)
    poller.start()
    try:
        # Start-up: one marker a second until the first one shows.
        warmup = Markers(f"{run}w")
        warm_stop = threading.Event()
        warm_poller = threading.Thread(target=poll, args=(settings, warmup, warm_stop), daemon=True)
        warm_poller.start()
        index = 0
        while not warmup.seen and time.monotonic() - url_at < 300:
            produce(settings, [warmup.make(index)])
            index += 1
            time.sleep(1.0)
        warm_stop.set()
        startup = min(warmup.seen.values()) - url_at if warmup.seen else float("nan")

        default_nice = Settings.model_fields["background_nice"].default
        nice = int(env.get("TRENDOFF_BACKGROUND_NICE", default_nice))
        # A fresh interpreter, not a fork: this process already runs the poller's threads.
        spawning = multiprocessing.get_context("spawn")
        results = spawning.Queue()
        sender = spawning.Process(
            target=send_paced,
            args=(settings, run, args.rate, args.seconds, args.marker_every, nice, results),
            name="bench-producer",
        )
        meter = CpuMeter(named={os.getpid(): "bench: poller"})
        meter.start()
        sender.start()
        produced, sent_for, sent_at, producer_cpu = wait_for(sender, results)
        cores = meter.stop()
        cores["bench: producer"] = round(producer_cpu / sent_for, 2)
        with markers.lock:
            markers.sent.update(sent_at)
        lag = job_lag(settings, end_offsets(settings))
        stopped_at = time.monotonic()
        caught_up: dict[str, float | None] = {"speed": None, "master": None}
        ends = end_offsets(settings)
        while time.monotonic() - stopped_at < args.drain_timeout and None in caught_up.values():
            now_lag = job_lag(settings, ends)
            for job, behind in now_lag.items():
                if behind == 0 and caught_up[job] is None:
                    caught_up[job] = time.monotonic() - stopped_at
            time.sleep(0.5)
        deadline = time.monotonic() + 30
        while markers.pending() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop_polling.set()
        stop_started = time.monotonic()
        runner.send_signal(signal.SIGINT)
        try:
            runner.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(runner.pid, signal.SIGKILL)
        stop_seconds = time.monotonic() - stop_started

    delays = markers.delays()
    values = [delay for _, delay in delays]
    third = max(1, len(values) // 3)
    rate = produced / sent_for
    result = {
        "rate_asked": args.rate,
        "rate_sent": round(rate),
        "producer_nice": nice,
        "seconds": round(sent_for, 1),
        "startup_first_visible_s": round(startup, 1),
        "markers_sent": len(markers.sent),
        "markers_seen": len(values),
        "p50_s": round(statistics.median(values), 2) if values else None,
        "p95_s": round(percentile(values, 0.95), 2) if values else None,
        "max_s": round(max(values), 2) if values else None,
        "first_third_p95_s": round(percentile(values[:third], 0.95), 2) if values else None,
        "last_third_p95_s": round(percentile(values[-third:], 0.95), 2) if values else None,
        "lag_at_end_posts": lag,
        "lag_at_end_seconds_of_input": {job: round(n / rate, 1) for job, n in lag.items()},
        "caught_up_after_s": {
            k: round(v, 1) if v is not None else None for k, v in caught_up.items()
        },
        "cores_while_sending": cores,
        "stop_seconds": round(stop_seconds, 1),
        "runner_exit": runner.returncode,
        "runner_log": str(log),
    }
    report(settings, result, keep=args.keep, as_json=args.json)


def report(settings: Settings, result: dict[str, object], *, keep: bool, as_json: bool) -> None:
    """Print the figures (as JSON, or one per line) and drop the namespace unless ``keep``."""
    if not keep:
        drop_namespace(settings)
    if as_json:
        print(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        print(f"{key:32} {value}")


if __name__ == "__main__":
    main()
