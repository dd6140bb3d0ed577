"""Producer throughput: dev file -> Kafka, and kafka-python's ceiling on the same payloads.

    .venv/bin/python bench/produce.py [--rows N] [--repeat R] [--compression none|gzip|...]
                                      [--senders N]

Needs the local stack (`trendoff stack up`). Each repeat uses a fresh namespace, dropped after.
Prints, per repeat and as medians: parse+validate+encode rate (no Kafka), full producer rate
(parse, encode, send, flush), and the ceiling: kafka-python sending pre-encoded payloads from one
process. With ``--senders N`` the full producer sends from N processes (``produce --senders``).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
import uuid
from pathlib import Path

from pipeline.admin import drop_namespace, initialise
from pipeline.ingest.avro import encode_post
from pipeline.ingest.model import Post
from pipeline.ingest.producer import build_producer, produce
from pipeline.ingest.report import ProgressLine
from pipeline.ingest.sources import open_source
from pipeline.settings import Settings

DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "ira-tweets-dev.csv.gz"


def read_rows(rows: int) -> list:
    source = open_source("csv", [DEV], fmt="ira")
    return list(itertools.islice(source.records(), rows))


def one_round(rows: int, compression: str | None, senders: int) -> dict[str, float]:
    settings = Settings(namespace=f"bench_{uuid.uuid4().hex[:10]}")
    initialise(settings)
    try:
        started = time.perf_counter()
        records = read_rows(rows)
        payloads = [(r.author_id.encode(), encode_post(r)) for r in records if isinstance(r, Post)]
        parse = len(records) / (time.perf_counter() - started)

        producer = build_producer(settings, compression)
        started = time.perf_counter()
        # From the file again: the full producer's rate includes reading and parsing.
        source = itertools.islice(open_source("csv", [DEV], fmt="ira").records(), rows)
        summary = produce(
            settings, source, producer=producer, progress=ProgressLine(), senders=senders
        )
        sent = summary.read / (time.perf_counter() - started)

        started = time.perf_counter()
        for key, value in payloads:
            producer.send(settings.posts_topic, key=key, value=value)
        producer.flush()
        ceiling = len(payloads) / (time.perf_counter() - started)
        producer.close()
        return {"parse_encode": parse, "producer": sent, "ceiling": ceiling}
    finally:
        drop_namespace(settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--compression", default="none")
    parser.add_argument("--senders", type=int, default=1)
    args = parser.parse_args()
    compression = None if args.compression == "none" else args.compression
    rounds = []
    for index in range(args.repeat):
        result = one_round(args.rows, compression, args.senders)
        rounds.append(result)
        print(f"round {index + 1}: " + ", ".join(f"{k} {v:,.0f}/s" for k, v in result.items()))
    medians = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    print(
        f"median over {args.repeat} x {args.rows:,} rows (compression {args.compression}, "
        f"{args.senders} sender process(es)): "
        f"parse+encode {medians['parse_encode']:,.0f} posts/s; producer {medians['producer']:,.0f} "
        f"posts/s; kafka-python ceiling {medians['ceiling']:,.0f} posts/s; "
        f"producer/ceiling {medians['producer'] / medians['ceiling']:.2f}"
    )


if __name__ == "__main__":
    main()
