"""The ``trendoff`` command line (also ``python -m pipeline``).

Errors the user can act on are printed as one line on stderr with exit status 2; no traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from pydantic import ValidationError

from pipeline.cli_alerts import add_alert_commands
from pipeline.cli_terms import add_term_views
from pipeline.errors import TrendoffError
from pipeline.logs import configure_logging
from pipeline.runner import DEFAULT_SOURCE
from pipeline.settings import Settings, get_settings

if TYPE_CHECKING:
    from datetime import timedelta

    from pipeline.ingest.model import Post, Rejected
    from pipeline.ingest.producer import ProduceSummary
    from pipeline.views import SharedWord

logger = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace, Settings], int]


def _emit_json(payload: object) -> None:
    json.dump(payload, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def cmd_setup(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.jvm import java_executable, resolve_classpaths, udf_jar

    java_executable()
    classpaths = resolve_classpaths(settings.state_dir, force=args.force)
    for module, jars in classpaths.items():
        print(f"{module}: {len(jars)} jars")
    print(f"spark functions: {udf_jar(settings.state_dir).name}")
    return 0


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
                f"{status.name}: ready on port {status.port} in {status.seconds_to_ready} s "
                f"(pid {status.pid}), log {status.log}"
            )
    return 0


def cmd_stack_down(args: argparse.Namespace, settings: Settings) -> int:
    stopped = _stack_module(args).down(settings)
    if args.json:
        _emit_json({"stopped": stopped})
    else:
        print("stopped: " + ", ".join(stopped) if stopped else "nothing was running")
    return 0


def cmd_stack_status(args: argparse.Namespace, settings: Settings) -> int:
    statuses = _stack_module(args).status(settings)
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
            _emit_json(reset)
        else:
            print(
                f"reset {settings.namespace}: emptied {', '.join(reset['truncated'])}; "
                f"removed {len(reset['checkpoints_removed'])} checkpoint(s)"
            )
        return 0
    report = initialise(settings)
    if args.json:
        _emit_json(report)
    else:
        print(f"topics: {', '.join(report['topics'])}; keyspace: {report['keyspace']}")
    return 0


def produce_records(args: argparse.Namespace, settings: Settings) -> Iterator[Post | Rejected]:
    """The records `trendoff produce` sends: the source, limited, re-timed and paced."""
    from pipeline.ingest.sources import open_source, pacing

    if args.source in ("csv", "jsonl") and not args.paths:
        raise TrendoffError(f"--source {args.source} needs at least one file path")
    if args.retime == "now" and args.source not in ("csv", "jsonl", "synthetic"):
        raise TrendoffError(f"--retime now replays files; --source {args.source} is live already")
    if args.source in ("x-stream", "x-timeline"):
        from pipeline.ingest.sources.x_api import open_x_source

        source = open_x_source(args.source, settings, users=args.users)
    else:
        source = open_source(
            args.source,
            args.paths,
            fmt=args.format,
            mapping=producer_mapping(args.map),
            seed=args.seed,
            limit=args.limit if args.source == "synthetic" else None,
        )

    def read() -> Iterator[Post | Rejected]:
        records = source.records()
        if args.limit is not None and args.source != "synthetic":
            records = pacing.limit(records, args.limit)
        return records

    records = read()
    if args.retime == "now":
        records = _retimed(args, read, records)
    return _paced(args, records)


def _paced(
    args: argparse.Namespace, records: Iterator[Post | Rejected]
) -> Iterator[Post | Rejected]:
    """``--rate`` or ``--speedup``."""
    from pipeline.ingest.sources import pacing

    if args.rate:
        return pacing.rate(records, args.rate)
    if args.speedup:
        return pacing.speedup(records, args.speedup)
    return records


def cmd_produce(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.ingest import producer

    if args.source == "bluesky":
        return _produce_bluesky(args, settings)
    records = produce_records(args, settings)
    summary = producer.produce(settings, records, senders=args.senders)
    return _report_produce(args, summary)


def _produce_bluesky(args: argparse.Namespace, settings: Settings) -> int:
    """The live Bluesky source: its cursor moves with Kafka's acknowledgements, so the producer
    is wrapped by the source and the cursor saved once the producer has flushed."""
    from pipeline.ingest import producer
    from pipeline.ingest.sources.bluesky import open_bluesky_source

    if args.retime == "now":
        raise TrendoffError("--retime now replays files; --source bluesky is live already")
    if args.senders != 1:
        raise TrendoffError(
            "--source bluesky sends from one process",
            hint="the firehose is far below one producer's rate; drop --senders",
        )
    source = open_bluesky_source(
        settings, jetstream_url=args.jetstream_url, dids=args.dids, langs=args.langs
    )
    kafka = producer.build_producer(settings)
    stream = source.records()
    try:
        summary = producer.produce(
            settings, _paced(args, _limited(args, stream)), producer=source.acking(kafka)
        )
    finally:
        stream.close()  # closes the connection
        source.save_cursor()  # after produce() flushed: every acknowledgement is in
        kafka.close()
    return _report_produce(args, summary, extra={"bluesky": source.stats.to_json()})


def _limited(
    args: argparse.Namespace, records: Iterator[Post | Rejected]
) -> Iterator[Post | Rejected]:
    from pipeline.ingest.sources import pacing

    return records if args.limit is None else pacing.limit(records, args.limit)


def _report_produce(
    args: argparse.Namespace, summary: ProduceSummary, extra: dict[str, object] | None = None
) -> int:
    if args.json:
        _emit_json({**summary.to_json(), **(extra or {})})
    else:
        rejected = ", ".join(f"{k}: {v}" for k, v in sorted(summary.rejected.items())) or "none"
        print(
            f"read {summary.read}, produced {summary.produced}, rejected {rejected}, "
            f"failed {summary.failed}, duplicates seen {summary.duplicates_seen}, "
            f"{summary.seconds:.1f} s"
        )
    if summary.interrupted:
        return 130
    # Sends that failed after retries, or reading stopped early: the run did not deliver its input.
    return 1 if summary.failed or summary.stopped else 0


def _retimed(
    args: argparse.Namespace,
    read: Callable[[], Iterator[Post | Rejected]],
    records: Iterator[Post | Rejected],
) -> Iterator[Post | Rejected]:
    """``--retime now``: a file is read twice, first to find its newest post, which the replay
    then dates "now". The demo generator already dates posts at the wall clock."""
    from pipeline.ingest.sources import pacing

    if args.source == "synthetic":
        return records
    newest = pacing.newest_created(read())
    if newest is None:
        return records
    return pacing.retime_now(records, newest, speedup_factor=args.speedup)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def producer_mapping(items: list[str] | None) -> dict[str, str] | None:
    if not items:
        return None
    from pipeline.ingest.sources.csv import parse_mapping

    return parse_mapping(items)


def cmd_topic_tail(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.ingest.tail import tail

    for line in tail(settings, args.n, dead_letters=args.dlq):
        print(line)
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
        _emit_json(result.to_json())
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
        _emit_json(payload)
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
                _emit_json({"topics": totals})
            else:
                for category, count in totals.items():
                    print(f"{category:<24} {count:>10}")
        else:
            accounts = serving.accounts(args.search, args.limit)
            if args.json:
                _emit_json({"accounts": [account.to_json() for account in accounts]})
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
            _emit_json({"topics": totals})
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
    produce = commands.add_parser("produce", help="send posts from a source to Kafka as Avro")
    produce.add_argument(
        "--source",
        choices=["csv", "jsonl", "x-stream", "x-timeline", "bluesky", "synthetic"],
        default="synthetic",
        help="where posts come from (default: the synthetic demo generator)",
    )
    produce.add_argument("paths", nargs="*", help="input files (csv, jsonl)")
    produce.add_argument("--format", default="auto", help="CSV profile: ira, fth or auto")
    produce.add_argument(
        "--map", action="append", metavar="FIELD=COLUMN", help="CSV column for a post field"
    )
    produce.add_argument("--users", default="", help="x-timeline: comma-separated handles")
    produce.add_argument(
        "--jetstream-url",
        help="bluesky: Jetstream /subscribe URL(s), comma-separated "
        "(default: TRENDOFF_JETSTREAM_URL, the public instances)",
    )
    produce.add_argument(
        "--dids", default="", help="bluesky: follow only these accounts (comma-separated DIDs)"
    )
    produce.add_argument(
        "--langs", default="", help="bluesky: only posts in these languages, e.g. en,ja"
    )
    produce.add_argument("--seed", type=int, default=0, help="synthetic: random seed")
    pace = produce.add_mutually_exclusive_group()
    pace.add_argument("--rate", type=float, help="posts per second")
    pace.add_argument("--speedup", type=float, help="replay created_at gaps X times faster")
    produce.add_argument("--limit", type=int, help="stop after N records")
    produce.add_argument(
        "--retime",
        choices=["now"],
        help="files: shift created_at so the newest post is now (gaps kept; reads the file twice)",
    )
    produce.add_argument(
        "--senders",
        type=_positive_int,
        default=1,
        help="processes sending posts (default 1); 2 or more for bulk loads, see BENCHMARKS.md",
    )
    produce.add_argument("--json", action="store_true", help="one JSON summary at the end")
    produce.set_defaults(handler=cmd_produce)

    topic = commands.add_parser("topic", help="look at the posts topic")
    topic_commands = topic.add_subparsers(dest="topic_command", required=True, metavar="ACTION")
    tail = topic_commands.add_parser("tail", help="decode and print the newest posts")
    tail.add_argument("-n", type=int, default=10, help="how many (default 10)")
    tail.add_argument("--dlq", action="store_true", help="the dead letters instead")
    tail.set_defaults(handler=cmd_topic_tail)

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
