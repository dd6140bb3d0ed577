"""``trendoff stack up|down|status``: the local Kafka broker and Cassandra node, run as one."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.errors import TrendoffError
from pipeline.jvm import java_executable, resolve_classpaths
from pipeline.settings import Settings
from pipeline.stack import process
from pipeline.stack.services import CassandraNode, KafkaBroker, Service

logger = logging.getLogger(__name__)

_LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    managed: bool  # False: the settings point at an external server that the stack leaves alone
    pid: int | None
    port: int
    ready: bool
    log: str | None
    seconds_to_ready: float | None = None
    already_running: bool = False

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def services(settings: Settings) -> list[Service]:
    return [KafkaBroker(settings), CassandraNode(settings)]


def _check_ports_free(service: Service) -> None:
    for port in service.ports:
        process.ensure_port_free(_LOOPBACK, port, service.name, service.port_setting)


def up(settings: Settings) -> list[ServiceStatus]:
    """Start every managed server that is not running yet and wait until each is ready.

    Both JVMs are launched before waiting on either, so their start-ups overlap.
    """
    process.ensure_writable(settings.state_dir)
    wanted = [service for service in services(settings) if service.enabled]
    launched: dict[str, tuple[Service, int, float]] = {}
    results: dict[str, ServiceStatus] = {}
    if wanted:
        java = java_executable()
        classpaths = resolve_classpaths(settings.state_dir)
    for service in wanted:
        pid = process.running_pid(service.files, service.marker)
        if pid is not None:
            results[service.name] = service_status(service, pid, already_running=True)
            continue
        _check_ports_free(service)
        classpath = classpaths[service.name]
        service.prepare(java, classpath)
        started = time.monotonic()
        pid = process.spawn(
            service.command(java, classpath),
            service.files,
            cwd=service.files.root,
            nice=settings.background_nice,
        )
        logger.info(
            "started %s (pid %d, nice %d), log %s",
            service.name,
            pid,
            settings.background_nice,
            service.files.log_file,
        )
        launched[service.name] = (service, pid, started)

    for name, (service, pid, started) in launched.items():
        seconds = wait_ready(service, pid, started)
        results[name] = service_status(service, pid, seconds_to_ready=seconds)
    for service in services(settings):
        if not service.enabled:
            results[service.name] = service_status(service, None)
    return [results[service.name] for service in services(settings)]


def wait_ready(
    service: Service, pid: int, started: float, *, stop_command: str = "trendoff stack down"
) -> float:
    """Seconds until ``service`` (started at ``started``, monotonic) answers; a clear error if it
    exits or times out. Slow starts (a Cassandra node joining a ring) log progress every 15 s."""
    deadline = started + service.start_timeout_seconds
    last_report = started
    while time.monotonic() < deadline:
        process.reap(pid)
        if not process.pid_alive(pid):
            service.files.pid_file.unlink(missing_ok=True)
            raise TrendoffError(
                f"{service.name} exited during start-up: "
                f"{process.log_tail(service.files.log_file, 3) or 'no output'}",
                log=str(service.files.log_file),
            )
        if service.ready():
            seconds = time.monotonic() - started
            logger.info("%s ready in %.1f s", service.name, seconds)
            return seconds
        if time.monotonic() - last_report > 15:
            last_report = time.monotonic()
            logger.info("waiting for %s (%.0f s so far)", service.name, last_report - started)
        time.sleep(0.5)
    raise TrendoffError(
        f"{service.name} did not become ready within {service.start_timeout_seconds:.0f} s",
        hint=f"see its log; `{stop_command}` stops what was started",
        log=str(service.files.log_file),
    )


def service_status(
    service: Service,
    pid: int | None,
    *,
    seconds_to_ready: float | None = None,
    already_running: bool = False,
) -> ServiceStatus:
    if not service.enabled:
        return ServiceStatus(service.name, False, None, service.port, service.ready(), None)
    return ServiceStatus(
        name=service.name,
        managed=True,
        pid=pid,
        port=service.port,
        ready=pid is not None and service.ready(),
        log=str(service.files.log_file),
        seconds_to_ready=None if seconds_to_ready is None else round(seconds_to_ready, 1),
        already_running=already_running,
    )


def status(settings: Settings) -> list[ServiceStatus]:
    return [
        service_status(
            service, process.running_pid(service.files, service.marker) if service.enabled else None
        )
        for service in services(settings)
    ]


def down(settings: Settings) -> list[str]:
    """Stop the servers this stack started; return the names of those it stopped.

    Kafka goes first: it has no dependency on Cassandra, and stopping it first means no client
    of ours keeps producing while Cassandra flushes.
    """
    stopped = []
    for service in services(settings):
        if not service.enabled:
            continue
        pid = process.running_pid(service.files, service.marker)
        if pid is None:
            continue
        logger.info("stopping %s (pid %d)", service.name, pid)
        process.stop(pid, grace_seconds=service.stop_grace_seconds, name=service.name)
        service.files.pid_file.unlink(missing_ok=True)
        stopped.append(service.name)
    return stopped


def log_locations(settings: Settings) -> dict[str, Path]:
    return {service.name: service.files.log_file for service in services(settings)}
