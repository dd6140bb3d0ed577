"""`trendoff stack up|down|status` as a user runs it: a stack of its own, on free ports, in tmp."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def free_ports(count: int) -> list[int]:
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def trendoff(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def own_stack_env(tmp_path: Path, stack) -> dict[str, str]:
    # `stack` makes sure the Maven jars are resolved; this stack gets its own state dir and ports.
    kafka, controller, cql, storage = free_ports(4)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDOFF_")}
    env.update(
        TRENDOFF_STATE_DIR=str(tmp_path / "state"),
        TRENDOFF_KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{kafka}",
        TRENDOFF_KAFKA_CONTROLLER_PORT=str(controller),
        TRENDOFF_CASSANDRA_PORT=str(cql),
        TRENDOFF_CASSANDRA_STORAGE_PORT=str(storage),
        TRENDOFF_KAFKA_HEAP="256m",
        TRENDOFF_CASSANDRA_HEAP="512M",
    )
    # The Maven classpath lists are reused from the main stack's state dir, not resolved again.
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "jvm").symlink_to(stack.state_dir / "jvm")
    yield env
    trendoff(env, "stack", "down")


def status_json(env: dict[str, str]) -> dict[str, dict]:
    completed = trendoff(env, "stack", "status", "--json")
    return {service["name"]: service for service in json.loads(completed.stdout)}


def test_up_is_idempotent_and_recovers_after_kill_9(own_stack_env: dict[str, str]) -> None:
    env = own_stack_env
    first = trendoff(env, "stack", "up", "--json")
    assert first.returncode == 0, first.stderr
    started = {service["name"]: service for service in json.loads(first.stdout)}
    assert set(started) == {"kafka", "cassandra"}
    for service in started.values():
        assert service["ready"] and service["pid"] and not service["already_running"]
        assert Path(service["log"]).exists()
        assert service["seconds_to_ready"] > 0

    again = trendoff(env, "stack", "up", "--json")
    assert again.returncode == 0, again.stderr
    second = {service["name"]: service for service in json.loads(again.stdout)}
    for name, service in second.items():
        assert service["already_running"]
        assert service["pid"] == started[name]["pid"]

    status = trendoff(env, "stack", "status")
    assert status.returncode == 0
    assert status.stdout.count(" ready") == 2

    # A crash: both servers die with no chance to clean up; their pid files stay behind.
    for service in started.values():
        os.kill(service["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(s["ready"] for s in status_json(env).values()):
        time.sleep(0.5)
    after_kill = status_json(env)
    assert all(s["pid"] is None and not s["ready"] for s in after_kill.values()), after_kill
    assert trendoff(env, "stack", "status").returncode == 1

    recovered = trendoff(env, "stack", "up", "--json")
    assert recovered.returncode == 0, recovered.stderr
    for service in json.loads(recovered.stdout):
        assert service["ready"] and not service["already_running"]
        assert service["pid"] != started[service["name"]]["pid"]

    down = trendoff(env, "stack", "down", "--json")
    assert json.loads(down.stdout) == {"stopped": ["kafka", "cassandra"]}
    assert json.loads(trendoff(env, "stack", "down", "--json").stdout) == {"stopped": []}
    stopped = status_json(env)
    assert all(s["pid"] is None and not s["ready"] for s in stopped.values())


def test_port_in_use_is_one_clear_line(own_stack_env: dict[str, str]) -> None:
    env = own_stack_env
    port = int(env["TRENDOFF_KAFKA_BOOTSTRAP_SERVERS"].rsplit(":", 1)[1])
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        completed = trendoff(env, "stack", "up")
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert f"port {port} on 127.0.0.1 is in use" in completed.stderr
    assert "TRENDOFF_KAFKA_BOOTSTRAP_SERVERS" in completed.stderr


def test_unwritable_state_dir_is_one_clear_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDOFF_")}
    blocked = None
    if os.geteuid() == 0:
        # root writes even into a read-only directory (and would then really start servers): use
        # a path below a regular file instead, which nobody can create.
        (tmp_path / "a-file").write_text("")
        env["TRENDOFF_STATE_DIR"] = str(tmp_path / "a-file" / "state")
    else:
        blocked = tmp_path / "read-only"
        blocked.mkdir()
        blocked.chmod(0o500)
        env["TRENDOFF_STATE_DIR"] = str(blocked / "state")
    try:
        completed = trendoff(env, "stack", "up")
    finally:
        if blocked is not None:
            blocked.chmod(0o700)
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert "is not writable" in completed.stderr
    assert "TRENDOFF_STATE_DIR" in completed.stderr


def test_missing_java_is_one_clear_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDOFF_")}
    env["TRENDOFF_STATE_DIR"] = str(tmp_path / "state")
    env["PATH"] = str(Path(sys.executable).parent)  # python only: no java, no mvn
    completed = trendoff(env, "stack", "up")
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert "`java` was not found on PATH" in completed.stderr


def test_external_servers_are_not_started(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDOFF_")}
    env.update(
        TRENDOFF_STATE_DIR=str(tmp_path / "state"),
        # Two brokers, or a non-loopback host, mean a cluster the user runs: never started here.
        TRENDOFF_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1,127.0.0.1:2",
        TRENDOFF_CASSANDRA_CONTACT_POINTS="cassandra.invalid",
    )
    completed = trendoff(env, "stack", "up", "--json")
    assert completed.returncode == 0, completed.stderr
    services = {service["name"]: service for service in json.loads(completed.stdout)}
    assert services["kafka"]["managed"] is False
    assert services["cassandra"]["managed"] is False
    assert services["kafka"]["pid"] is None
    assert not (tmp_path / "state" / "kafka").exists()


def test_server_dying_during_start_up_is_one_clear_line(own_stack_env: dict[str, str]) -> None:
    env = dict(own_stack_env, TRENDOFF_CASSANDRA_HEAP="not-a-size")  # the JVM refuses to start
    completed = trendoff(env, "stack", "up")
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert "cassandra exited during start-up" in completed.stderr
    assert "Invalid initial heap size" in completed.stderr
    log = Path(env["TRENDOFF_STATE_DIR"]) / "cassandra" / "server.log"
    assert f"log: {log}" in completed.stderr
    # Kafka, started alongside, is left running for `down` to stop; nothing is half-recorded.
    assert status_json(env)["cassandra"]["pid"] is None


def test_a_stored_cluster_id_starting_with_a_dash_still_formats(
    own_stack_env: dict[str, str],
) -> None:
    # Earlier versions generated such ids about once in 64 stacks; Kafka's storage tool read the
    # id as an option and every `up` failed from then on.
    kafka_dir = Path(own_stack_env["TRENDOFF_STATE_DIR"]) / "kafka"
    kafka_dir.mkdir(parents=True)
    (kafka_dir / "cluster-id").write_text("-Mdb4nkXSUC9T45n87DLFw")
    up = trendoff(own_stack_env, "stack", "up", "--json")
    assert up.returncode == 0, up.stderr
    assert all(service["ready"] for service in json.loads(up.stdout))
