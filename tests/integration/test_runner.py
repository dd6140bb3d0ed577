"""`trendoff run` on the real stack: a finished source leaves the rest running, Ctrl-C stops every
part quickly and quietly, and a runner killed with SIGKILL leaves no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.cassandra import connect
from pipeline.settings import Settings
from pipeline.supervision import read_status, status_path
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration

STOP_LIMIT_SECONDS = 10.0


@pytest.fixture
def run_settings(namespace_settings: Settings, tmp_path: Path) -> Settings:
    (tmp_path / "jvm").symlink_to(namespace_settings.state_dir / "jvm")
    return namespace_settings.model_copy(update={"state_dir": tmp_path})


def start_runner(
    settings: Settings, source: str, port: int, background_nice: int = 0
) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDOFF_")}
    env.update(
        TRENDOFF_NAMESPACE=settings.namespace,
        TRENDOFF_STATE_DIR=str(settings.state_dir),
        TRENDOFF_APP_PORT=str(port),
        TRENDOFF_BACKGROUND_NICE=str(background_nice),
    )
    return start_runner_with_env(env, source)


def start_runner_with_env(env: dict[str, str], source: str) -> subprocess.Popen[str]:
    """`trendoff run --source SOURCE` with exactly this environment."""
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", "--source", source],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Its own process group, as a shell gives a foreground job: Ctrl-C is SIGINT to the group.
        start_new_session=True,
    )


def processes_of(namespace: str) -> list[int]:
    """Pids of every process whose environment names the namespace (the runner's parts and
    their Spark JVMs inherit it)."""
    needle = f"TRENDOFF_NAMESPACE={namespace}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().split(") ", 1)[1][0]
        except OSError:
            continue
        if state != "Z" and needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def wait_for_progress(settings: Settings, job: str, timeout: float = 240.0) -> None:
    """Until ``job`` has written at least one micro-batch (its Spark application is up)."""
    deadline = time.monotonic() + timeout
    with connect(settings) as session:
        while time.monotonic() < deadline:
            rows = list(
                session.execute(
                    f"SELECT max_offset FROM {settings.keyspace}.job_progress WHERE job = %s",
                    (job,),
                )
            )
            if rows:
                return
            time.sleep(1)
    pytest.fail(f"the {job} job wrote no progress within {timeout:.0f} s")


def logged_errors(settings: Settings, runner_stderr: str) -> list[str]:
    logs = settings.state_dir / "logs"
    texts = [runner_stderr] + [path.read_text() for path in sorted(logs.glob("*.log"))]
    return [
        line
        for text in texts
        for line in text.splitlines()
        if " ERROR " in line or line.startswith("Traceback") or "Exception" in line
    ]


@pytest.fixture
def cleanup_namespace_processes(run_settings: Settings) -> Iterator[None]:
    yield
    for pid in processes_of(run_settings.namespace):
        os.kill(pid, signal.SIGKILL)


@pytest.mark.usefixtures("cleanup_namespace_processes")
def test_finished_source_keeps_jobs_running_and_ctrl_c_stops_everything_quietly(
    run_settings: Settings,
) -> None:
    background = 10
    runner = start_runner(
        run_settings, "--source synthetic --limit 300 --retime now", 8591, background
    )
    wait_for_progress(run_settings, "speed")
    wait_for_progress(run_settings, "master")
    # The 300 posts are long sent: the source has finished, the runner and its parts have not.
    time.sleep(3)
    assert runner.poll() is None, runner.stderr.read() if runner.stderr else ""
    assert len(processes_of(run_settings.namespace)) >= 3
    # The app answers visitors first: the jobs and their Spark JVM run at the lower priority,
    # and so do their session's scheduling groups (where the kernel has them).
    own = os.nice(0)
    grouped = Path("/proc/self/autogroup").exists()
    priorities = priorities_by_part(processes_of(run_settings.namespace))
    assert priorities["app"] == {(own, 0 if grouped else None)}
    lowered = (min(19, own + background), background if grouped else None)
    assert priorities["jobs"] == priorities["spark"] == {lowered}
    # Its server runs on uvloop's event loop and httptools' parser (requirements.txt), the C
    # halves of what a fresh page's ~110 requests cost the app's process.
    (app,) = [pid for pid in processes_of(run_settings.namespace) if is_app_server(pid)]
    assert {"uvloop", "httptools"} <= loaded_packages(app)

    started = time.monotonic()
    os.killpg(runner.pid, signal.SIGINT)
    _, stderr = runner.communicate(timeout=60)
    took = time.monotonic() - started

    assert runner.returncode == 0, stderr[-3000:]
    # Every part and its Spark JVM gone within the limit, counted from the Ctrl-C.
    while processes_of(run_settings.namespace) and time.monotonic() - started < STOP_LIMIT_SECONDS:
        time.sleep(0.1)
    took = time.monotonic() - started
    assert describe(processes_of(run_settings.namespace)) == []
    assert took <= STOP_LIMIT_SECONDS, f"stopping took {took:.1f} s"
    assert "source finished" in stderr
    assert logged_errors(run_settings, stderr) == []


@pytest.mark.usefixtures("cleanup_namespace_processes")
def test_a_killed_runner_leaves_no_process_behind(run_settings: Settings) -> None:
    runner = start_runner(run_settings, "none", 8592)
    wait_for_progress_or_parts(run_settings, runner)
    runner.kill()
    runner.wait()

    deadline = time.monotonic() + 20
    while processes_of(run_settings.namespace) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert describe(processes_of(run_settings.namespace)) == []


def describe(pids: list[int]) -> list[str]:
    described = []
    for pid in pids:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        described.append(f"{pid}: {command.decode(errors='replace')[:300]}")
    return described


def is_app_server(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"streamlit" in command and b"run" in command


def loaded_packages(pid: int) -> set[str]:
    """Top-level packages whose compiled modules a process has mapped from site-packages."""
    packages = set()
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        _, found, rest = line.partition("site-packages/")
        if found:
            packages.add(rest.split("/", 1)[0])
    return packages


def priorities_by_part(pids: list[int]) -> dict[str, set[tuple[int, int | None]]]:
    """For each kind of process: the set of (nice value, its session group's nice value) seen;
    None for the group where the kernel has no such groups."""
    kinds = {
        "streamlit": "app",
        "chart_renderer": "app",
        "pipeline jobs": "jobs",
        "SparkSubmit": "spark",
    }
    seen: dict[str, set[tuple[int, int | None]]] = {}
    for pid in pids:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            nice = int(Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[16])
            group_file = Path(f"/proc/{pid}/autogroup")
            group = int(group_file.read_text().split()[-1]) if group_file.exists() else None
        except (OSError, ValueError):
            continue
        kind = next((name for marker, name in kinds.items() if marker in command), None)
        if kind is not None:
            seen.setdefault(kind, set()).add((nice, group))
    return seen


def wait_for_progress_or_parts(settings: Settings, runner: subprocess.Popen[str]) -> None:
    """Until the runner has started its parts and the jobs' Spark JVM is up."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        # the runner, the jobs part, its JVM and the app
        if len(processes_of(settings.namespace)) >= 4:
            return
        assert runner.poll() is None
        time.sleep(0.5)
    pytest.fail("the runner did not start its parts within 120 s")


def published_part(settings: Settings, name: str) -> dict:
    status = read_status(status_path(settings.state_dir, settings.namespace)) or {}
    return next((part for part in status.get("parts", []) if part["name"] == name), {})


@pytest.mark.usefixtures("cleanup_namespace_processes")
def test_a_crashed_part_is_restarted_and_a_second_runner_is_refused(
    run_settings: Settings,
) -> None:
    runner = start_runner(run_settings, "none", 8593)
    wait_for_progress_or_parts(run_settings, runner)

    second = start_runner(run_settings, "none", 8594)
    _, refusal = second.communicate(timeout=60)
    assert second.returncode == 2
    assert "another `trendoff run`" in refusal

    crashed = published_part(run_settings, "jobs")
    assert crashed["status"] == "running" and crashed["restarts"] == 0
    os.kill(crashed["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        jobs = published_part(run_settings, "jobs")
        if jobs.get("restarts") == 1 and jobs.get("status") == "running":
            break
        time.sleep(0.5)
    assert jobs["restarts"] == 1 and jobs["status"] == "running", jobs
    assert jobs["pid"] != crashed["pid"] and jobs["last_exit"] == -signal.SIGKILL
    assert published_part(run_settings, "app")["restarts"] == 0
    assert runner.poll() is None

    os.killpg(runner.pid, signal.SIGINT)
    _, stderr = runner.communicate(timeout=60)
    assert runner.returncode == 0, stderr[-3000:]
    assert "jobs exited with status -9; restarting it" in stderr
    assert published_part(run_settings, "jobs")["status"] == "stopped"
