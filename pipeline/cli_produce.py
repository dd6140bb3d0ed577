"""`trendoff produce` and `trendoff topic tail`: sources, pacing and the run summary."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from pipeline.cli_common import emit_json, positive_int
from pipeline.errors import TrendoffError
from pipeline.settings import Settings

if TYPE_CHECKING:
    from pipeline.ingest.model import Post, Rejected
    from pipeline.ingest.report import ProduceSummary


def add_produce_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
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
        type=positive_int,
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
        emit_json({**summary.to_json(), **(extra or {})})
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


def producer_mapping(items: list[str] | None) -> dict[str, str] | None:
    if not items:
        return None
    from pipeline.ingest.sources.csv_profiles import parse_mapping

    return parse_mapping(items)


def cmd_topic_tail(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.ingest.tail import tail

    for line in tail(settings, args.n, dead_letters=args.dlq):
        print(line)
    return 0
