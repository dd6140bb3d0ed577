"""`trendoff stack up|down|status [--cluster]`: the local servers the project starts itself."""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from pipeline.cli_common import emit_json
from pipeline.errors import TrendoffError
from pipeline.settings import Settings


def add_stack_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    stack = commands.add_parser("stack", help="the local Kafka broker and Cassandra node")
    stack_commands = stack.add_subparsers(dest="stack_command", required=True, metavar="ACTION")
    for name, handler, text in (
        ("up", cmd_stack_up, "start the servers and wait until they are ready"),
        ("down", cmd_stack_down, "stop the servers this stack started"),
        ("status", cmd_stack_status, "show each server's pid, port and readiness"),
    ):
        action = stack_commands.add_parser(name, help=text)
        action.add_argument("--json", action="store_true", help="machine-readable output")
        action.add_argument(
            "--cluster",
            action="store_true",
            help="the local cluster instead: 3 Kafka brokers, 3 Cassandra nodes, Spark standalone "
            "master + 2 workers, on their own ports and state dir (docs/scale-out.md)",
        )
        if name == "up":
            action.add_argument(
                "--print-env",
                action="store_true",
                help="with --cluster: print the TRENDOFF_* settings that point commands at the "
                "cluster, as export lines (eval them); starts nothing",
            )
        action.set_defaults(handler=handler)


def _stack_module(args: argparse.Namespace) -> Any:
    """The single-node stack, or with ``--cluster`` the local three-node cluster."""
    if getattr(args, "cluster", False):
        from pipeline.stack import cluster

        return cluster
    from pipeline.stack import manager

    return manager


def cmd_stack_up(args: argparse.Namespace, settings: Settings) -> int:
    if getattr(args, "print_env", False):
        from pipeline.stack.cluster import cluster_env

        if not args.cluster:
            raise TrendoffError("--print-env needs --cluster")
        for key, value in cluster_env().items():
            print(f"export {key}={shlex.quote(value)}")
        return 0
    statuses = _stack_module(args).up(settings)
    if args.json:
        emit_json([status.to_json() for status in statuses])
        return 0
    for status in statuses:
        if not status.managed:
            state = "ready" if status.ready else "NOT reachable"
            print(f"{status.name}: external server on port {status.port}, {state}")
        elif status.already_running:
            print(f"{status.name}: already running (pid {status.pid}), log {status.log}")
        else:
            print(
                f"{status.name}: ready on port {status.port} in {status.seconds_to_ready} s "
                f"(pid {status.pid}), log {status.log}"
            )
    return 0


def cmd_stack_down(args: argparse.Namespace, settings: Settings) -> int:
    stopped = _stack_module(args).down(settings)
    if args.json:
        emit_json({"stopped": stopped})
    else:
        print("stopped: " + ", ".join(stopped) if stopped else "nothing was running")
    return 0


def cmd_stack_status(args: argparse.Namespace, settings: Settings) -> int:
    statuses = _stack_module(args).status(settings)
    if args.json:
        emit_json([status.to_json() for status in statuses])
    else:
        for status in statuses:
            if not status.managed:
                where = "external"
            elif status.pid is None:
                where = "stopped"
            else:
                where = f"pid {status.pid}"
            print(
                f"{status.name:<10} {where:<12} port {status.port:<6} "
                f"{'ready' if status.ready else 'not ready'}"
            )
    # Non-zero when something that should run is not ready, so scripts can poll it.
    return 0 if all(status.ready for status in statuses) else 1
