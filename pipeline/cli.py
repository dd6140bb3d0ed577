"""The ``trendoff`` command line (also ``python -m pipeline``).

Errors the user can act on are printed as one line on stderr with exit status 2; no traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from pipeline.errors import TrendoffError
from pipeline.logs import configure_logging
from pipeline.settings import Settings, get_settings

logger = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace, Settings], int]


def _emit_json(payload: object) -> None:
    json.dump(payload, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def cmd_setup(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.jvm import java_executable, resolve_classpaths

    java_executable()
    classpaths = resolve_classpaths(settings.state_dir, force=args.force)
    for module, jars in classpaths.items():
        print(f"{module}: {len(jars)} jars")
    return 0


def cmd_stack_up(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.stack import manager

    statuses = manager.up(settings)
    if args.json:
        _emit_json([status.to_json() for status in statuses])
        return 0
    for status in statuses:
        if not status.managed:
            state = "ready" if status.ready else "NOT reachable"
            print(f"{status.name}: external server on port {status.port}, {state}")
        elif status.already_running:
            print(f"{status.name}: already running (pid {status.pid}), log {status.log}")
        else:
            print(
                f"{status.name}: ready on 127.0.0.1:{status.port} in {status.seconds_to_ready} s "
                f"(pid {status.pid}), log {status.log}"
            )
    return 0


def cmd_stack_down(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.stack import manager

    stopped = manager.down(settings)
    if args.json:
        _emit_json({"stopped": stopped})
    else:
        print("stopped: " + ", ".join(stopped) if stopped else "nothing was running")
    return 0


def cmd_stack_status(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.stack import manager

    statuses = manager.status(settings)
    if args.json:
        _emit_json([status.to_json() for status in statuses])
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


def cmd_init(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.admin import initialise

    report = initialise(settings)
    if args.json:
        _emit_json(report)
    else:
        print(f"topics: {', '.join(report['topics'])}; keyspace: {report['keyspace']}")
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.runner import run_app

    return run_app(settings)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trendoff", description="Real-time social-media trend analytics (lambda architecture)."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    setup = commands.add_parser("setup", help="resolve the pinned JVM jars with Maven (idempotent)")
    setup.add_argument("--force", action="store_true", help="run Maven even if nothing changed")
    setup.set_defaults(handler=cmd_setup)

    stack = commands.add_parser("stack", help="the local Kafka broker and Cassandra node")
    stack_commands = stack.add_subparsers(dest="stack_command", required=True, metavar="ACTION")
    for name, handler, text in (
        ("up", cmd_stack_up, "start the servers and wait until they are ready"),
        ("down", cmd_stack_down, "stop the servers this stack started"),
        ("status", cmd_stack_status, "show each server's pid, port and readiness"),
    ):
        action = stack_commands.add_parser(name, help=text)
        action.add_argument("--json", action="store_true", help="machine-readable output")
        action.set_defaults(handler=handler)

    init = commands.add_parser("init", help="create the namespace's topics and keyspace")
    init.add_argument("--json", action="store_true", help="machine-readable output")
    init.set_defaults(handler=cmd_init)
    run = commands.add_parser(
        "run", help="run the app in the foreground (the stack must be up); Ctrl-C stops it"
    )
    run.set_defaults(handler=cmd_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"TRENDOFF_{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors()
        )
        print(f"trendoff: invalid settings: {problems}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    handler: Handler = args.handler
    try:
        return handler(args, settings)
    except TrendoffError as exc:
        print(f"trendoff: {exc.one_line()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("trendoff: interrupted", file=sys.stderr)
        return 130
