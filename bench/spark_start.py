"""Spark driver start-up with and without the class archive (pipeline/class_archive.py).

    .venv/bin/python bench/spark_start.py [--pairs 3]

Each run is a fresh Python process that builds Trendoff's Spark session (a new JVM) and runs one
small aggregate; runs alternate with and without the archive. Prints, per variant, the seconds to
a ready session, to the first query's answer, and their medians. Needs the archive
(`trendoff setup` builds it) and nothing else running for comparable figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

from pipeline.class_archive import archive_path
from pipeline.settings import get_settings

# The child's own work: session, then a query with a shuffle; prints seconds as JSON.
CHILD = """
import json, sys, time
started = time.perf_counter()
from pipeline.settings import get_settings
from pipeline.spark import build_session
settings = get_settings()
if sys.argv[1] == "without":
    # Any archive option of the user's own turns Trendoff's off; -Xshare:auto is the JVM default.
    options = f"{settings.spark_java_options} -Xshare:auto".strip()
    settings = settings.model_copy(update={"spark_java_options": options})
spark = build_session(settings, "bench-spark-start")
ready = time.perf_counter()
spark.range(1000).selectExpr("id % 7 AS k").groupBy("k").count().collect()
answered = time.perf_counter()
print(json.dumps({"session": ready - started, "first_query": answered - started}))
spark.stop()
"""


def one_run(variant: str) -> dict[str, float]:
    finished = subprocess.run(
        [sys.executable, "-c", CHILD, variant],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(finished.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=3, help="runs of each variant, alternated")
    args = parser.parse_args()
    archive = archive_path(get_settings().state_dir)
    if not archive.is_file():
        sys.exit(f"no class archive at {archive}: run `trendoff setup` first")
    results: dict[str, list[dict[str, float]]] = {"with": [], "without": []}
    for pair in range(args.pairs):
        for variant in ("without", "with") if pair % 2 == 0 else ("with", "without"):
            started = time.monotonic()
            run = one_run(variant)
            results[variant].append(run)
            print(
                f"{variant:>7} archive: session {run['session']:.2f} s, first query answered "
                f"{run['first_query']:.2f} s (run took {time.monotonic() - started:.1f} s)",
                flush=True,
            )
    for variant, runs in results.items():
        session = statistics.median(run["session"] for run in runs)
        answered = statistics.median(run["first_query"] for run in runs)
        print(
            f"median {variant:>7} archive ({len(runs)} runs): session {session:.2f} s, "
            f"first query answered {answered:.2f} s"
        )


if __name__ == "__main__":
    main()
