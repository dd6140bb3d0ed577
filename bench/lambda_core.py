"""Lambda-core figures: speed and master drain rate, batch recompute time, shared_words latency.

    .venv/bin/python bench/lambda_core.py [--rows N] [--pairs P] [--queries Q] [--keep]
    .venv/bin/python bench/lambda_core.py --reuse NAMESPACE:STATE_DIR [--batches B]
    .venv/bin/python bench/lambda_core.py --cluster [--rows N]

Needs the local stack (`trendoff stack up`). Uses a fresh namespace and state dir, dropped after
unless ``--keep`` (which prints how to ``--reuse`` them: steps 2 and 3 again, without producing and
draining anew, to compare batch or serving changes on the same data).
1. produces N dev posts (default: the whole file), then times each streaming job draining them
   with --available-now (JVM start-up included, reported separately as a no-data run);
2. times `batch --once` over everything (Spark session start-up excluded: it is reused);
3. times Serving.shared_words for random account pairs, Q queries, and prints p50/p95.

``--cluster`` (issue 17) also needs the local cluster (`trendoff stack up --cluster`): steps 1 and 2
on the single-node stack and then on the cluster, one after the other in one run, every job and
the batch as a `trendoff` command (on the cluster: with `stack up --cluster --print-env`'s
settings), and a table of both. Shared-words latency is not part of it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from pipeline.admin import drop_namespace, initialise
from pipeline.ingest.producer import produce
from pipeline.ingest.sources import open_source, pacing
from pipeline.jobs import batch
from pipeline.serving import Serving
from pipeline.settings import Settings
from pipeline.spark import build_session

DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "ira-tweets-dev.csv.gz"


def timed_job(
    settings: Settings, job: str, cluster_env: dict[str, str] | None = None
) -> tuple[float, str]:
    """Wall seconds and standard output of ``trendoff <job>`` (a streaming job: --available-now)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDOFF_")}
    env.update(cluster_env or {})
    env.update(TRENDOFF_NAMESPACE=settings.namespace, TRENDOFF_STATE_DIR=str(settings.state_dir))
    command = [job, "--json", "--force"] if job == "batch" else [job, "--available-now"]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", *command],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"{job} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - started, done.stdout


def fresh_namespace(base: Settings, where: Settings) -> Settings:
    """``where``'s servers with a new namespace and a scratch state dir (sharing ``base``'s
    resolved jars), initialised."""
    state = Path(tempfile.mkdtemp(prefix="trendoff-bench-"))
    (state / "jvm").symlink_to(base.state_dir / "jvm")
    settings = where.model_copy(
        update={"namespace": f"bench_{uuid.uuid4().hex[:10]}", "state_dir": state}
    )
    initialise(settings)
    return settings


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=None, help="dev rows (default: all)")
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--keep", action="store_true", help="keep the namespace and state dir")
    parser.add_argument(
        "--reuse", metavar="NAMESPACE:STATE_DIR", help="a kept run: skip producing and draining"
    )
    parser.add_argument("--batches", type=int, default=1, help="batch runs (median printed)")
    parser.add_argument(
        "--cluster", action="store_true", help="single node vs the local cluster (issue 17)"
    )
    args = parser.parse_args()

    base = Settings()
    if args.cluster:
        compare_with_cluster(base, args.rows)
        return
    if args.reuse:
        namespace, _, state_dir = args.reuse.partition(":")
        settings = base.model_copy(update={"namespace": namespace, "state_dir": Path(state_dir)})
    else:
        settings = fresh_namespace(base, base)
    try:
        if not args.reuse:
            produce_and_drain(settings, args.rows)
            time.sleep(2)
        spark = build_session(settings, "bench-batch")
        seconds = []
        for _ in range(args.batches):
            result = batch.run_once(settings, spark=spark, force=True)
            seconds.append(result.seconds)
            print(
                f"batch: {result.posts_counted:,} posts -> {result.rows_written:,} view rows "
                f"in {result.seconds:.1f} s"
            )
        if args.batches > 1:
            print(f"batch median of {args.batches}: {statistics.median(seconds):.1f} s")
        with Serving(settings) as serving:
            handles = [account.handle for account in serving.accounts(limit=1_000_000)]
            rng = random.Random(7)
            pairs = [tuple(rng.sample(handles, 2)) for _ in range(args.pairs)]
            latencies = []
            for index in range(args.queries):
                a, b = pairs[index % len(pairs)]
                started = time.perf_counter()
                serving.shared_words(a, b, 20)
                latencies.append((time.perf_counter() - started) * 1000)
        print(
            f"shared_words over {args.queries} queries, {len(pairs)} pairs: "
            f"p50 {statistics.median(latencies):.1f} ms, p95 {percentile(latencies, 0.95):.1f} ms"
        )
    finally:
        if args.keep or args.reuse:
            print(f"kept: --reuse {settings.namespace}:{settings.state_dir}")
        else:
            drop_namespace(settings)


def produce_and_drain(
    settings: Settings, rows: int | None, cluster_env: dict[str, str] | None = None
) -> dict[str, float]:
    """Produce the dev posts, time each streaming job draining them; returns the figures."""
    empty = {job: timed_job(settings, job, cluster_env)[0] for job in ("speed", "master")}
    records = open_source("csv", [DEV], fmt="ira").records()
    if rows:
        records = pacing.limit(records, rows)
    summary = produce(settings, records)
    posts = summary.produced
    print(f"produced {posts:,} posts in {summary.seconds:.1f} s")
    figures = {"posts": float(posts), "produce": summary.seconds}
    for job in ("speed", "master"):
        seconds = timed_job(settings, job, cluster_env)[0]
        figures[job], figures[f"{job} empty"] = seconds, empty[job]
        print(
            f"{job}: drained {posts:,} posts in {seconds:.1f} s = "
            f"{posts / seconds:,.0f} posts/s "
            f"(an empty run takes {empty[job]:.1f} s: without it "
            f"{posts / max(0.001, seconds - empty[job]):,.0f} posts/s)"
        )
    return figures


def compare_with_cluster(base: Settings, rows: int | None) -> None:
    from pipeline.stack import cluster

    setups = [
        ("single node", base, None),
        ("local cluster", cluster.cluster_settings(base), cluster.cluster_env()),
    ]
    results = {}
    for label, where, env in setups:
        settings = fresh_namespace(base, where)
        try:
            print(f"== {label}")
            figures = produce_and_drain(settings, rows, env)
            time.sleep(2 * settings.ingest_window_seconds + 1)
            wall, output = timed_job(settings, "batch", env)
            report = json.loads(output)
            figures["batch"], figures["batch wall"] = float(report["seconds"]), wall
            print(f"batch: {report['posts_counted']:,} posts in {report['seconds']:.1f} s")
            results[label] = figures
        finally:
            drop_namespace(settings)
    print(f"\n`{' '.join(sys.argv)}`\n")
    print("| | " + " | ".join(results) + " |")
    print("|---|" + "---|" * len(results))
    for job in ("speed", "master"):
        cells = [
            f"{f[job]:.1f} s = {f['posts'] / f[job]:,.0f} posts/s "
            f"(empty run {f[job + ' empty']:.1f} s)"
            for f in results.values()
        ]
        print(f"| {job} drain, `{job} --available-now` | " + " | ".join(cells) + " |")
    cells = [f"{f['batch']:.1f} s (command {f['batch wall']:.1f} s)" for f in results.values()]
    print("| batch, `batch --once --force` | " + " | ".join(cells) + " |")
    cells = [f"{f['posts']:,.0f} posts in {f['produce']:.1f} s" for f in results.values()]
    print("| produce (in-process) | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
