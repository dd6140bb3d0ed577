"""`query trending` and `query top` latency on the dev data, through the serving layer.

    .venv/bin/python bench/trending.py --reuse NAMESPACE:STATE_DIR [--queries 50]

Needs a namespace holding the dev file's views (`bench/lambda_core.py --keep` leaves one, its batch
slot active). "Now" is the newest post in the views, which is what a replay of the dev file
`--retime now` shows at its end: the same buckets and counts, moved in time. For each kind it
times Serving.trending with the default 1 h window and 24 h baseline (300 buckets, both layers)
and the 24 h hashtag/mention leaderboards, and prints p50/p95 and the size of the answers.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import timedelta
from pathlib import Path

from pipeline.serving import Serving
from pipeline.settings import Settings


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def timed(action, queries: int) -> tuple[list[float], object]:  # type: ignore[no-untyped-def]
    latencies, answer = [], None
    for _ in range(queries):
        started = time.perf_counter()
        answer = action()
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies, answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", required=True, metavar="NAMESPACE:STATE_DIR")
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    namespace, _, state_dir = args.reuse.partition(":")
    settings = Settings().model_copy(update={"namespace": namespace, "state_dir": Path(state_dir)})
    with Serving(settings) as serving:
        at = serving.newest_post()
        if at is None:
            raise SystemExit(f"namespace {namespace} holds no posts")
        print(f"now = newest post {at.isoformat()}; batch slot {serving.snapshot().slot}")
        for kind in ("all", "hashtag", "mention", "word"):
            latencies, answer = timed(lambda k=kind: serving.trending(k, at), args.queries)
            listed = len(answer.terms)  # type: ignore[attr-defined]
            print(
                f"trending --kind {kind}: p50 {statistics.median(latencies):.1f} ms, "
                f"p95 {percentile(latencies, 0.95):.1f} ms ({listed} terms listed)"
            )
        since = at - timedelta(days=1)
        for kind in ("hashtag", "mention"):
            latencies, answer = timed(
                lambda k=kind: serving.top_terms(k, since, at, 20), args.queries
            )
            print(
                f"top --kind {kind} over 24 h: p50 {statistics.median(latencies):.1f} ms, "
                f"p95 {percentile(latencies, 0.95):.1f} ms"
            )


if __name__ == "__main__":
    main()
