"""Issue 16's long-run test, compressed in time: the real speed and master jobs run while posts keep
flowing and batches run every ~15 s, with one-second ingest windows and TTLs of seconds instead of
days. What must stay bounded while the input grows: the speed tables' live rows (TTL), the
job_progress rows (one per job and Kafka partition), the batch_runs rows (history TTL) and the
node's snapshots of the keyspace (slot tables opt out of auto_snapshot)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from pipeline.admin import SPEED_TABLES, drop_namespace
from pipeline.cassandra import connect
from pipeline.ingest.model import Post
from pipeline.ingest.producer import produce
from pipeline.jobs import batch
from pipeline.settings import Settings
from tests.conftest import jobs_namespace
from tests.integration.test_lambda_exact import job_env
from tests.integration.test_slot_snapshots import snapshots_of

pytestmark = pytest.mark.integration

# Far below what Settings accepts from a user (model_copy skips validation, as jobs_namespace
# does for its one-second windows): the point is to see rows expire within the test.
SPEED_TTL_SECONDS = 30
HISTORY_TTL_SECONDS = 20
BATCH_SPACING_SECONDS = 10
ROUND_SECONDS = 5
MEASURED_SECONDS = 120
JOB_START_TIMEOUT = 300
# How far behind the input the speed job may run without failing the test (a loaded machine).
SPEED_LAG_SECONDS = 60
POSTS_PER_ROUND = 40
AUTHORS = 300


@dataclass
class Sample:
    elapsed: float
    produced: int
    speed_rows: dict[str, int]
    speed_account_posts: int
    progress_rows: int
    run_rows: int
    snapshots: list[tuple[str, str]]
    recent: int = 0  # posts produced in the last SPEED_TTL_SECONDS + SPEED_LAG_SECONDS


@pytest.fixture
def long_run_settings(stack: Settings, tmp_path) -> Iterator[Settings]:
    settings = jobs_namespace(
        stack,
        tmp_path,
        "lr",
        speed_terms_ttl_seconds=SPEED_TTL_SECONDS,
        speed_views_ttl_seconds=SPEED_TTL_SECONDS,
        batch_history_ttl_seconds=HISTORY_TTL_SECONDS,
    )
    yield settings
    drop_namespace(settings)


def posts_of_round(number: int) -> list[Post]:
    now = datetime.now(UTC)
    return [
        Post(
            post_id=f"long-{number}-{index}",
            source="test",
            author_id=f"did:plc:long{(number * POSTS_PER_ROUND + index) % AUTHORS:05d}",
            author_handle=f"long{(number * POSTS_PER_ROUND + index) % AUTHORS:05d}.test",
            text=f"round {number} #steady tea and coffee {index}",
            created_at=now,
        )
        for index in range(POSTS_PER_ROUND)
    ]


def sample(settings: Settings, session: Any, started: float, produced: int) -> Sample:
    def count(table: str) -> int:
        return int(session.execute(f"SELECT count(*) FROM {table}").one()[0])

    account_posts = sum(
        row.posts for row in session.execute("SELECT posts FROM speed_account_tallies")
    )
    return Sample(
        elapsed=time.monotonic() - started,
        produced=produced,
        speed_rows={table: count(table) for table in SPEED_TABLES},
        speed_account_posts=account_posts,
        progress_rows=count("job_progress"),
        run_rows=count("batch_runs"),
        snapshots=snapshots_of(settings),
    )


def start_stream(settings: Settings, job: str) -> subprocess.Popen:
    env = job_env(settings) | {"TRENDOFF_STREAM_TRIGGER_SECONDS": "2"}
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", job],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


class BatchLoop(threading.Thread):
    """Batch runs ``BATCH_SPACING_SECONDS`` apart (start to start, or back to back when a run
    takes longer), as the scheduler would with a very short interval."""

    def __init__(self, settings: Settings, spark: Any) -> None:
        super().__init__(daemon=True)
        self.settings, self.spark = settings, spark
        self.stop = threading.Event()
        self.results: list[batch.RunResult] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                started = time.monotonic()
                result = batch.run_once(self.settings, spark=self.spark, force=True)
                self.results.append(result)
                self.stop.wait(max(0.0, BATCH_SPACING_SECONDS - (time.monotonic() - started)))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc


def produced_since(sent: list[tuple[float, int]], since: float) -> int:
    return sum(count for at, count in sent if at >= since)


def test_tables_and_snapshots_stay_bounded_while_posts_flow(
    long_run_settings: Settings, spark: Any
) -> None:
    settings = long_run_settings
    jobs = {job: start_stream(settings, job) for job in ("master", "speed")}
    batches = BatchLoop(settings, spark)
    samples: list[Sample] = []
    sent: list[tuple[float, int]] = []  # (monotonic time, posts) of every produce call
    round_number = 0

    def produce_round() -> None:
        nonlocal round_number
        summary = produce(settings, posts_of_round(round_number))
        sent.append((time.monotonic(), summary.produced))
        round_number += 1

    try:
        with connect(settings, keyspace=settings.keyspace) as session:
            # Warm-up: posts flow while the two JVMs start; measuring begins once both jobs
            # have finished a micro-batch.
            deadline = time.monotonic() + JOB_START_TIMEOUT
            jobs_seen: set[str] = set()
            while jobs_seen != set(jobs):
                assert time.monotonic() < deadline, "the streaming jobs did not start"
                for name, process in jobs.items():
                    assert process.poll() is None, f"{name} died: {process.communicate()[1]}"
                produce_round()
                time.sleep(ROUND_SECONDS)
                jobs_seen = {row.job for row in session.execute("SELECT job FROM job_progress")}
            batches.start()
            started = time.monotonic()
            while time.monotonic() - started < MEASURED_SECONDS:
                for name, process in jobs.items():
                    assert process.poll() is None, f"{name} died: {process.communicate()[1]}"
                assert batches.error is None, batches.error
                produce_round()
                time.sleep(ROUND_SECONDS)
                samples.append(sample(settings, session, started, sum(n for _, n in sent)))
                samples[-1].recent = produced_since(
                    sent, time.monotonic() - SPEED_TTL_SECONDS - SPEED_LAG_SECONDS
                )
            assert batches.results, "no batch run finished"
            first_run = batches.results[0].run_id
            first_run_kept = session.execute(
                "SELECT run_id FROM batch_runs WHERE bucket = 0 AND run_id = %s", (first_run,)
            ).one()
    finally:
        batches.stop.set()
        for process in jobs.values():
            process.terminate()
        for process in jobs.values():
            try:
                process.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
        batches.join(timeout=300)
    assert batches.error is None, batches.error

    statuses = [result.status for result in batches.results]
    report = "\n".join(str(s) for s in samples) + f"\nbatch runs: {statuses}"
    first, last = samples[0], samples[-1]
    settled = [s for s in samples if s.elapsed >= SPEED_TTL_SECONDS + 2 * ROUND_SECONDS]
    # The input kept growing through the measured stretch, by more than the live rows hold...
    most_live = max(s.speed_account_posts for s in settled)
    assert last.produced - first.produced > most_live, report
    # ...and the speed job kept up with it (a stalled job writes no rows and must not pass)...
    assert any(s.speed_account_posts > 0 for s in samples), report
    # ...but the live speed rows hold only posts of the last TTL (plus the job's lag), never all
    # it has counted: without the TTLs they would hold every post produced.
    # (From one TTL after measuring began: the job's first micro-batch counted the warm-up's
    # backlog in one go, and those rows live a TTL.)
    for s in settled:
        assert s.speed_account_posts <= s.recent, report
    assert last.speed_account_posts < last.produced / 2, report
    # Flat after warm-up: the last third of the run holds at most twice the middle third's rows
    # (plus two rounds of slack for a job catching up in bursts) while the input kept growing.
    middle = samples[len(samples) // 3 : 2 * len(samples) // 3]
    final = samples[2 * len(samples) // 3 :]
    for table in SPEED_TABLES:
        most = max(s.speed_rows[table] for s in middle)
        assert max(s.speed_rows[table] for s in final) <= 2 * most + 2 * POSTS_PER_ROUND, (
            table,
            report,
        )
    # One progress row per job and Kafka partition, however much was read.
    assert {s.progress_rows for s in settled} == {2 * settings.kafka_partitions}, report
    # The run history keeps only the runs of the last HISTORY_TTL_SECONDS.
    assert len(batches.results) >= 3, report
    assert {result.status for result in batches.results} == {"succeeded"}, report
    live_runs_bound = HISTORY_TTL_SECONDS // BATCH_SPACING_SECONDS + 2
    assert all(s.run_rows <= live_runs_bound for s in samples), report
    assert first_run_kept is None, report  # the first run's row expired
    # Every batch run truncated a slot; none left a snapshot behind.
    assert all(s.snapshots == [] for s in samples), report
