"""``trendoff jobs``: the speed and master streaming queries and the batch scheduler in one Spark
application, each in a scheduler pool of its own, and the alert checker (pipeline/jobs/alerting.py)
in a thread beside them.

Run as three applications (three JVMs, each ``local[2]``) next to Kafka, Cassandra, the app and a
producer on two cores, the jobs starved one another: posts took 11-16 s to show at 1,000 posts/s
and the delay kept growing (docs/performance.md). One application warms one JVM, keeps one
Kafka consumer cache and one Cassandra session pool, and lets Spark's FAIR scheduler share the
task slots: a fresh speed micro-batch gets the next free slot even while a batch run is busy.
The separate commands (``trendoff speed``, ``master``, ``batch``) remain for scaling out.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from pipeline.jobs import alerting, master, scheduler, speed
from pipeline.jobs.lifecycle import STOP_AFTER_STALL_SECONDS, StopRequest, Worker, supervise
from pipeline.jobs.stream import ProgressWriter, start_query
from pipeline.settings import Settings
from pipeline.spark import build_session
from pipeline.text import load_lexicon

logger = logging.getLogger(__name__)

APP_NAME = "trendoff-jobs"
BATCH_JOB_GROUP = "trendoff-batch"
# (weight, minShare) per pool. minShare 1: a pool with work gets a slot before any pool above
# its share; the weights then favour what users watch (speed) over what only the next batch
# needs (master) over the batch itself.
POOLS = {speed.JOB: (4, 1), master.JOB: (2, 1), "batch": (1, 0)}


def pools_file(settings: Settings) -> Path:
    """Spark's FAIR scheduler allocation file for :data:`POOLS`, written under the state dir."""
    pools = "".join(
        f'  <pool name="{name}"><schedulingMode>FIFO</schedulingMode>'
        f"<weight>{weight}</weight><minShare>{min_share}</minShare></pool>\n"
        for name, (weight, min_share) in POOLS.items()
    )
    path = settings.state_dir / "spark" / "fair-pools.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'<?xml version="1.0"?>\n<allocations>\n{pools}</allocations>\n')
    return path


def run(settings: Settings, *, batch_every: timedelta | None) -> None:
    """Both streaming queries, the alert checker, and the batch scheduler unless ``batch_every``
    is None, until SIGINT/SIGTERM or a failure."""
    lexicon = load_lexicon(settings.lexicon_path)
    spark = build_session(
        settings,
        APP_NAME,
        {
            "spark.scheduler.mode": "FAIR",
            "spark.scheduler.allocation.file": str(pools_file(settings)),
        },
    )
    # After the session: PySpark installs a SIGINT handler of its own when it starts.
    with StopRequest() as stop:
        context = spark.sparkContext
        progress = {job: ProgressWriter(settings, job) for job in (speed.JOB, master.JOB)}
        handlers = {
            speed.JOB: lambda frame, batch_id, writer: speed.handle_micro_batch(
                frame, batch_id, settings, lexicon, writer
            ),
            master.JOB: lambda frame, batch_id, writer: master.handle_micro_batch(
                frame, batch_id, settings, writer
            ),
        }
        # The master job's micro-batches each cost a fixed share of the cores whatever their
        # size, and no one watches its freshness (only batch runs read it): it triggers less often.
        trigger_seconds = {
            speed.JOB: settings.stream_trigger_seconds,
            master.JOB: settings.master_trigger_seconds,
        }
        queries = []
        try:
            for job, handler in handlers.items():
                # A query's micro-batches run in the pool set on the thread that starts it.
                context.setLocalProperty("spark.scheduler.pool", job)
                queries.append(
                    start_query(
                        spark,
                        settings,
                        job,
                        handler,
                        progress[job],
                        available_now=False,
                        trigger_seconds=trigger_seconds[job],
                    )
                )
            context.setLocalProperty("spark.scheduler.pool", None)  # type: ignore[arg-type]
            # The first check waits one interval, like the first batch run: the streams start.
            workers = [
                Worker(
                    "alert checker",
                    lambda: alerting.run_checks(
                        settings, stop.event, first_check_in=settings.alert_check_seconds
                    ),
                )
            ]
            if batch_every is not None:
                interval = batch_every

                def batches() -> None:
                    context.setLocalProperty("spark.scheduler.pool", "batch")
                    context.setJobGroup(BATCH_JOB_GROUP, "batch run", interruptOnCancel=True)
                    # The first scheduled run waits one interval: at start-up the streams need
                    # the cores (a refresh requested from the app still runs at once).
                    scheduler.run_every(
                        settings, interval, spark=spark, stop=stop.event, first_run_in=interval
                    )

                workers.append(Worker("batch scheduler", batches))
            for worker in workers:
                worker.start()
            logger.info(
                "running %s, %s",
                ", ".join(query.name for query in queries),
                " and ".join(worker.name for worker in workers),
            )
            supervise(
                queries,
                stop,
                stall_seconds=settings.stream_stall_seconds,
                exit_after_stall_seconds=STOP_AFTER_STALL_SECONDS,
                workers=workers,
                on_stop=lambda: context.cancelJobGroup(BATCH_JOB_GROUP),
            )
        finally:
            for writer in progress.values():
                writer.close()
            spark.stop()
