"""The Cassandra password never reaches a command line: a real Spark session started with a
password set (as every job starts one) leaves it out of every /proc/<pid>/cmdline on the machine,
while the driver JVM's Spark configuration still holds it for the connector; so does `trendoff
run` with every part it starts, the jobs' Spark JVM included."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from pipeline.cassandra import connect
from pipeline.settings import Settings
from tests.conftest import REPO_ROOT
from tests.integration.test_runner import processes_of

pytestmark = pytest.mark.integration

SESSION_SCRIPT = """
import sys
from pipeline.cassandra import connect
from pipeline.settings import Settings
from pipeline.spark import build_session

settings = Settings(_env_file=None)
spark = build_session(settings, sys.argv[1])
held = spark.sparkContext.getConf().get("spark.cassandra.auth.password")
print(held == settings.cassandra_password.get_secret_value(), flush=True)
# A real read through the connector with the credentials configured (the local node has no
# authenticator, so they are offered and not needed).
rows = spark.read.format("org.apache.spark.sql.cassandra").options(
    keyspace=sys.argv[2], table="batch_state").load().count()
print(rows, flush=True)
sys.stdin.readline()
spark.stop()
"""


def command_line(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # the process ended meanwhile
        return b""


def command_lines() -> list[bytes]:
    lines = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                lines.append((entry / "cmdline").read_bytes())
            except OSError:  # the process ended meanwhile
                continue
    return lines


def test_a_spark_session_keeps_the_password_off_every_command_line(
    namespace_settings: Settings,
) -> None:
    stack = namespace_settings
    with connect(stack, keyspace=stack.keyspace) as session:
        session.execute("INSERT INTO batch_state (id, active_slot) VALUES ('probe', 0)")
    password = f"pw-{uuid.uuid4().hex}"
    app_name = f"trendoff-secrets-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDOFF_")}
    env.update(
        TRENDOFF_STATE_DIR=str(stack.state_dir),
        TRENDOFF_CASSANDRA_USERNAME="trendoff_probe",
        TRENDOFF_CASSANDRA_PASSWORD=password,
    )
    child = subprocess.Popen(
        [sys.executable, "-c", SESSION_SCRIPT, app_name, stack.keyspace],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "True", "the JVM's conf lacks the password"
        assert child.stdout.readline().strip() == "1", "the connector could not read"
        lines = command_lines()
        # The scan saw the Spark JVM itself: its command line names the application.
        assert any(f"spark.app.name={app_name}".encode() in line for line in lines)
        leaking = [line.replace(b"\0", b" ")[:200] for line in lines if password.encode() in line]
        assert leaking == []
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.wait(timeout=120) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_the_runner_and_its_parts_keep_the_password_off_every_command_line(
    namespace_settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "jvm").symlink_to(namespace_settings.state_dir / "jvm")
    password = f"pw-{uuid.uuid4().hex}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDOFF_")}
    env.update(
        TRENDOFF_NAMESPACE=namespace_settings.namespace,
        TRENDOFF_STATE_DIR=str(tmp_path),
        TRENDOFF_APP_PORT="8597",
        TRENDOFF_CASSANDRA_USERNAME="trendoff_probe",
        TRENDOFF_CASSANDRA_PASSWORD=password,
    )
    runner = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", "--source", "none"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        # The jobs' Spark JVM is the process the password once reached through spark-submit.
        deadline = time.monotonic() + 120
        while not any(
            b"org.apache.spark.deploy.SparkSubmit" in command_line(pid)
            for pid in processes_of(namespace_settings.namespace)
        ):
            assert runner.poll() is None, "the runner stopped early"
            assert time.monotonic() < deadline, "the jobs' Spark JVM did not start in 120 s"
            time.sleep(0.5)
        assert len(processes_of(namespace_settings.namespace)) >= 4  # runner, jobs, JVM, app
        assert [line for line in command_lines() if password.encode() in line] == []
    finally:
        os.killpg(runner.pid, signal.SIGINT)
        try:
            runner.wait(timeout=60)
        finally:
            for pid in processes_of(namespace_settings.namespace):
                os.kill(pid, signal.SIGKILL)
