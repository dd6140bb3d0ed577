"""The ``trendoff`` command line (also ``python -m pipeline``).

Errors the user can act on are printed as one line on stderr with exit status 2; no traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

from pydantic import ValidationError

from pipeline.cli_alerts import add_alert_commands
from pipeline.cli_common import emit_json
from pipeline.cli_produce import add_produce_commands
from pipeline.cli_stack import add_stack_commands
from pipeline.cli_terms import add_term_views
from pipeline.errors import TrendoffError
from pipeline.logs import configure_logging
from pipeline.runner import DEFAULT_SOURCE
from pipeline.settings import Settings, get_settings

if TYPE_CHECKING:
    from datetime import timedelta

    from pipeline.views import SharedWord

logger = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace, Settings], int]


def cmd_setup(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.class_archive import ensure_archive
    from pipeline.jvm import java_executable, resolve_classpaths, udf_jar

    java_executable()
    classpaths = resolve_classpaths(settings.state_dir, force=args.force)
    for module, jars in classpaths.items():
        print(f"{module}: {len(jars)} jars")
    print(f"spark functions: {udf_jar(settings.state_dir).name}")
    archive = ensure_archive(settings, force=args.force)
    print(f"spark class archive: {archive.name if archive else 'none (see the log above)'}")
    return 0


def _confirm_reset(args: argparse.Namespace, settings: Settings) -> bool:
    if args.yes:
        return True
    if not sys.stdin.isatty():
        raise TrendoffError(
            "`init --reset` needs confirmation", hint="add --yes when no one can answer a prompt"
        )
    what = "progress, checkpoints, speed and batch views and the batch state"
    if args.drop_master:
        what += " AND the master dataset (posts)"
    answer = input(
        f"This clears {what} of namespace {settings.namespace!r}. Stop the jobs first.\n"
        f"Type the namespace to go on: "
    )
    return answer.strip() == settings.namespace


def cmd_init(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.admin import initialise, reset_namespace

    if args.drop_master and not args.reset:
        raise TrendoffError("--drop-master only goes with --reset")
    if args.reset:
        if not _confirm_reset(args, settings):
            print("trendoff: reset cancelled", file=sys.stderr)
            return 1
        reset = reset_namespace(settings, drop_master=args.drop_master)
        if args.json:
            emit_json(reset)
        else:
            print(
                f"reset {settings.namespace}: emptied {', '.join(reset['truncated'])}; "
                f"removed {len(reset['checkpoints_removed'])} checkpoint(s)"
            )
        return 0
    report = initialise(settings)
    if args.json:
        emit_json(report)
    else:
        print(f"topics: {', '.join(report['topics'])}; keyspace: {report['keyspace']}")
    return 0


def cmd_master(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.jobs import master

    master.run(settings, available_now=args.available_now)
    return 0


def cmd_speed(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.jobs import speed

    speed.run(settings, available_now=args.available_now)
    return 0


def cmd_jobs(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.jobs import application
    from pipeline.jobs.scheduler import parse_duration

    batch_every = None if args.no_batch else parse_duration(args.batch_every)
    _require_speed_ttls(settings, batch_every)
    application.run(settings, batch_every=batch_every)
    return 0


def _require_speed_ttls(settings: Settings, batch_every: timedelta | None) -> None:
    """Refuse batches too far apart for the speed TTLs: serving would lose uncovered rows."""
    problem = settings.speed_ttl_problem(batch_every)
    if problem:
        raise TrendoffError(
            problem,
            hint="raise TRENDOFF_SPEED_TERMS_TTL_SECONDS / TRENDOFF_SPEED_VIEWS_TTL_SECONDS, run "
            "`trendoff init`, or batch more often",
        )


def cmd_batch(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.jobs import batch

    if args.every:
        from pipeline.jobs.scheduler import parse_duration, run_every

        run_every(settings, parse_duration(args.every))
        return 0
    result = batch.run_once(settings, force=args.force)
    if args.json:
        emit_json(result.to_json())
    else:
        print(
            f"batch {result.status}: slot {result.slot}, high-water {result.high_water}, "
            f"{result.posts_counted} posts, {result.rows_written} rows in {result.seconds:.1f} s"
            + (f" ({result.reason})" if result.reason else "")
        )
    return 0


def _shared_json(a: str, b: str, words: list[SharedWord]) -> dict[str, object]:
    return {
        "a": a,
        "b": b,
        "words": [
            {"word": w.word, "a": w.count_a, "b": w.count_b, "combined": w.combined} for w in words
        ],
    }


def _print_shared(payload: dict[str, object], as_json: bool) -> None:
    if as_json:
        emit_json(payload)
        return
    words = payload["words"]
    assert isinstance(words, list)
    print(f"{'word':<24} {payload['a']:>12} {payload['b']:>12}")
    for word in words:
        print(f"{word['word']:<24} {word['a']:>12} {word['b']:>12}")


def cmd_query(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.serving import Serving

    with Serving(settings) as serving:
        if args.what == "shared":
            words = serving.shared_words(args.a, args.b, args.n, args.by)
            _print_shared(_shared_json(args.a, args.b, words), args.json)
        elif args.what == "topics":
            totals = serving.topic_totals()
            if args.json:
                emit_json({"topics": totals})
            else:
                for category, count in totals.items():
                    print(f"{category:<24} {count:>10}")
        else:
            accounts = serving.accounts(args.search, args.limit)
            if args.json:
                emit_json({"accounts": [account.to_json() for account in accounts]})
            else:
                for account in accounts:
                    print(f"{account.handle:<32} {account.posts:>8}")
    return 0


def cmd_reference(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline import reference

    recount = reference.recount(args.file, fmt=args.format, lexicon_path=settings.lexicon_path)
    if args.what == "shared":
        words = recount.shared_words(args.a, args.b, args.n, args.by)
        _print_shared(_shared_json(args.a, args.b, words), args.json)
    else:
        totals = recount.topic_totals()
        if args.json:
            emit_json({"topics": totals})
        else:
            for category, count in totals.items():
                print(f"{category:<24} {count:>10}")
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.jobs.scheduler import parse_duration
    from pipeline.runner import run

    if not args.app_only:
        _require_speed_ttls(settings, parse_duration(args.batch_every))
    return run(
        settings,
        source=args.source,
        batch_every=args.batch_every,
        with_jobs=not args.app_only,
    )


def _add_view_commands(
    parser: argparse.ArgumentParser, *, handler: Handler, with_file: bool
) -> None:
    views = parser.add_subparsers(dest="what", required=True, metavar="VIEW")
    shared = views.add_parser("shared", help="words two accounts both use most")
    topics = views.add_parser("topics", help="posts per topic category")
    targets = [shared, topics]
    if with_file:
        for target in targets:
            target.add_argument("file", help="the input file (CSV, gzip or not)")
            target.add_argument("--format", default="auto", help="CSV profile: ira, fth or auto")
    shared.add_argument("a", help="first account handle")
    shared.add_argument("b", help="second account handle")
    shared.add_argument("-n", type=int, default=20, help="how many words (default 20)")
    shared.add_argument(
        "--by",
        choices=["both", "combined"],
        default="both",
        help="rank by the smaller of the two rates per 1,000 words (both use it; the default) "
        "or by the sum of the two counts",
    )
    if not with_file:
        accounts = views.add_parser("accounts", help="accounts by post count")
        accounts.add_argument("--search", default="", help="part of a handle")
        accounts.add_argument("--limit", type=int, default=50)
        targets.append(accounts)
    for target in targets:
        target.add_argument("--json", action="store_true", help="machine-readable output")
        target.set_defaults(handler=handler)
    add_term_views(views, with_file=with_file)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trendoff", description="Real-time social-media trend analytics (lambda architecture)."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    setup = commands.add_parser("setup", help="resolve the pinned JVM jars with Maven (idempotent)")
    setup.add_argument("--force", action="store_true", help="run Maven even if nothing changed")
    setup.set_defaults(handler=cmd_setup)

    add_stack_commands(commands)

    init = commands.add_parser("init", help="create the namespace's topics and keyspace")
    init.add_argument("--json", action="store_true", help="machine-readable output")
    init.add_argument(
        "--reset",
        action="store_true",
        help="clear progress, checkpoints, speed and batch views and the batch state together "
        "(after a topic was recreated or retention lost data; stop the jobs first)",
    )
    init.add_argument("--yes", action="store_true", help="do not ask before --reset")
    init.add_argument(
        "--drop-master",
        action="store_true",
        help="with --reset: also empty the master dataset (posts); it is kept by default",
    )
    init.set_defaults(handler=cmd_init)
    add_produce_commands(commands)

    for name, handler, text in (
        ("master", cmd_master, "stream every post from Kafka into the master dataset"),
        ("speed", cmd_speed, "stream fresh speed views from Kafka"),
    ):
        job = commands.add_parser(name, help=text)
        job.add_argument(
            "--available-now",
            action="store_true",
            help="process what Kafka holds now, then exit (tests, backfills)",
        )
        job.set_defaults(handler=handler, exit_hard=True)

    jobs = commands.add_parser(
        "jobs",
        help="the speed and master jobs and the batch scheduler in one Spark application "
        "(what `run` starts)",
    )
    jobs_batch = jobs.add_mutually_exclusive_group()
    jobs_batch.add_argument(
        "--batch-every", default="15m", help="batch interval (default 15m; also on requests)"
    )
    jobs_batch.add_argument("--no-batch", action="store_true", help="no batch scheduler")
    jobs.set_defaults(handler=cmd_jobs, exit_hard=True)

    batch = commands.add_parser("batch", help="recompute the batch views into the inactive slot")
    when = batch.add_mutually_exclusive_group()
    when.add_argument("--once", action="store_true", help="one run, then exit (the default)")
    when.add_argument(
        "--every",
        metavar="INTERVAL",
        help="keep running: a run every INTERVAL (e.g. 15m) and on refresh requests from the app",
    )
    batch.add_argument(
        "--force", action="store_true", help="recompute even if the high-water mark did not move"
    )
    batch.add_argument("--json", action="store_true", help="machine-readable output")
    batch.set_defaults(handler=cmd_batch)

    query = commands.add_parser("query", help="ask the serving layer (batch + speed views)")
    _add_view_commands(query, handler=cmd_query, with_file=False)
    reference = commands.add_parser(
        "reference", help="recount straight from an input file (the ground truth for `query`)"
    )
    _add_view_commands(reference, handler=cmd_reference, with_file=True)
    add_alert_commands(commands)

    run = commands.add_parser(
        "run",
        help="run the jobs, the batch scheduler, a source and the app in the foreground "
        "(the stack must be up); Ctrl-C stops them all",
    )
    run.add_argument(
        "--source",
        default=os.environ.get("SOURCE") or DEFAULT_SOURCE,
        help="arguments of `trendoff produce` for the source, or 'none' "
        f"(default: {DEFAULT_SOURCE!r}; the SOURCE environment variable also sets it)",
    )
    run.add_argument("--batch-every", default="15m", help="batch interval (default 15m)")
    run.add_argument("--app-only", action="store_true", help="only the app")
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
        code = handler(args, settings)
    except TrendoffError as exc:
        print(f"trendoff: {exc.one_line()}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        print("trendoff: interrupted", file=sys.stderr)
        code = 130
    if getattr(args, "exit_hard", False):
        _exit_now(code)
    return code


def _exit_now(code: int) -> NoReturn:
    """End a streaming job's process once its Spark session is stopped, without waiting for
    other threads. A micro-batch's view writes run in threads of their own; when Cassandra dies
    under them, they stay blocked in py4j calls that never return, and the interpreter's exit
    would wait for them for ever instead of letting ``trendoff run`` restart the job."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
