"""The Spark driver's class archive (Java class-data sharing): a Spark JVM starts sooner.

Before its first query a Spark driver loads, parses and verifies thousands of classes from
pyspark's jars; on two busy cores that is seconds of every start (the jobs application, a batch
from the command line, each test session). Java 17 can write the classes one run loaded to an
archive (``-XX:ArchiveClassesAtExit``) that later JVMs map instead
(``-XX:SharedArchiveFile``): a new process's session and first query took 11.1 s without and
7.9 s with it here (medians, ``bench/spark_start.py``, docs/performance.md). ``trendoff setup``
builds it once, from a short training run in a child process; a JVM whose class path differs
from the archive's ignores it.

A JVM dies (SIGBUS) mapping a truncated archive, so an archive is published only by renaming a
file that a JVM has just mapped successfully, and a failed build leaves no file behind: Spark
then starts as it did before, a little slower.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.jvm import java_executable
from pipeline.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

logger = logging.getLogger(__name__)

ARCHIVE_PREFIX = "spark-classes-"
BUILD_TIMEOUT_SECONDS = 600
# Options with which the archive must not be used or built: the user's own archive choices.
_USER_ARCHIVE_OPTIONS = ("-XX:SharedArchiveFile", "-XX:ArchiveClassesAtExit", "-Xshare:")
# A JVM that hooks class loading (a Flight Recording, a Java agent) crashes mapping the archive on
# the JDK 17 here: SIGSEGV in KlassFactory::check_shared_class_file_load_hook, every start, seen
# profiling the jobs with JAVA_TOOL_OPTIONS=-XX:StartFlightRecording (docs/performance.md).
_CLASS_HOOK_OPTIONS = (
    "-XX:StartFlightRecording",
    "-XX:+FlightRecorder",
    "-javaagent",
    "-agentlib",
    "-agentpath",
)
# Where a JVM also reads options from besides its command line.
_JVM_OPTION_VARIABLES = ("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS")


def archive_path(state_dir: Path) -> Path:
    """Where the archive of this JDK and this pyspark lives: a new JDK build or new pyspark jars
    name a new file (the JVM would refuse the old one anyway, with a warning)."""
    import pyspark

    java = Path(os.path.realpath(java_executable()))
    digest = hashlib.sha256()
    digest.update(f"{java}:{java.stat().st_mtime_ns}:{pyspark.__version__}".encode())
    for jar in sorted((Path(pyspark.__file__).parent / "jars").glob("*.jar")):
        digest.update(jar.name.encode())
    return state_dir / "jvm" / f"{ARCHIVE_PREFIX}{digest.hexdigest()[:16]}.jsa"


def user_chose_archive(settings: Settings) -> bool:
    """Whether TRENDOFF_SPARK_JAVA_OPTIONS makes its own class-sharing choice, which wins."""
    return any(option in settings.spark_java_options for option in _USER_ARCHIVE_OPTIONS)


def hooks_class_loading(settings: Settings) -> bool:
    """Whether the driver's JVM would start a Flight Recording or a Java agent, from
    TRENDOFF_SPARK_JAVA_OPTIONS or the JVM's own environment variables."""
    options = " ".join(
        [settings.spark_java_options, *(os.environ.get(name, "") for name in _JVM_OPTION_VARIABLES)]
    )
    return any(option in options for option in _CLASS_HOOK_OPTIONS)


def driver_archive_option(settings: Settings) -> str:
    """``-XX:SharedArchiveFile=…`` for a local driver when the archive exists, else nothing.

    Only locally: on a cluster the executors' machines have no such file, and the driver's
    start-up is a small share of a cluster job's."""
    if not settings.spark_master.startswith("local"):
        return ""
    if user_chose_archive(settings):
        return ""
    if hooks_class_loading(settings):
        logger.info("Spark class archive not used: the driver JVM records or loads an agent")
        return ""
    archive = archive_path(settings.state_dir)
    return f"-XX:SharedArchiveFile={archive}" if archive.is_file() else ""


def ensure_archive(settings: Settings, *, force: bool = False) -> Path | None:
    """Build the archive unless it exists; None when it could not be built (logged, not
    raised: the archive only saves time)."""
    archive = archive_path(settings.state_dir)
    if archive.is_file() and not force:
        return archive
    if user_chose_archive(settings):
        logger.info("Spark class archive not built: TRENDOFF_SPARK_JAVA_OPTIONS chooses its own")
        return None
    if hooks_class_loading(settings):
        logger.info("Spark class archive not built: the JVM options record or load an agent")
        return None
    archive.parent.mkdir(parents=True, exist_ok=True)
    # A training run that failed still dumps its draft as its JVM exits, after we gave up on it.
    for abandoned in archive.parent.glob(f"{ARCHIVE_PREFIX}*.draft"):
        abandoned.unlink(missing_ok=True)
    draft = archive.with_name(f"{archive.stem}.{os.getpid()}.draft")
    log_file = archive.with_suffix(".log")
    started = time.monotonic()
    try:
        with log_file.open("w", encoding="utf-8") as log:
            trained = subprocess.run(
                [sys.executable, "-m", "pipeline.class_archive", str(draft)],
                stdout=log,
                stderr=subprocess.STDOUT,
                # The child reads its settings from the environment: the same jars as ours.
                env={**os.environ, "TRENDOFF_STATE_DIR": str(settings.state_dir)},
                timeout=BUILD_TIMEOUT_SECONDS,
                check=False,
            )
        if trained.returncode != 0 or not _maps(draft):
            logger.warning(
                "Spark class archive not built (training exit status %s); Spark starts without "
                "it. Details: %s",
                trained.returncode,
                log_file,
            )
            return None
        draft.replace(archive)
    except subprocess.TimeoutExpired:
        logger.warning(
            "Spark class archive not built: training took over %d s", BUILD_TIMEOUT_SECONDS
        )
        return None
    finally:
        draft.unlink(missing_ok=True)
    remove_stale(archive)
    logger.info("Spark class archive built in %.1f s: %s", time.monotonic() - started, archive)
    return archive


def remove_stale(archive: Path) -> None:
    """Archives of another JDK or pyspark (~120 MB each) and their training logs: only
    ``archive`` and its log stay."""
    for suffix in (".jsa", ".log"):
        for stale in archive.parent.glob(f"{ARCHIVE_PREFIX}*{suffix}"):
            if stale.stem != archive.stem:
                stale.unlink(missing_ok=True)


def _maps(draft: Path) -> bool:
    """Whether a JVM maps the archive: it exits with an error on a truncated one."""
    if not draft.is_file():
        return False
    checked = subprocess.run(
        [java_executable(), f"-XX:SharedArchiveFile={draft}", "-Xlog:cds=info", "-version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return checked.returncode == 0 and "Mapped dynamic region" in checked.stdout


def train(spark: SparkSession) -> None:
    """Work that loads the classes every Trendoff Spark job loads: SQL with Trendoff's text
    functions, an aggregate with a shuffle, and one micro-batch of a streaming query."""
    from pyspark.sql import DataFrame
    from pyspark.sql import functions as F

    from pipeline.text.spark_tokens import TOKENIZE_FUNCTION

    posts = spark.createDataFrame(
        [(n % 7, f"post {n} about #coffee and @tea") for n in range(200)],
        "account int, text string",
    )
    tokens = posts.select(
        "account", F.explode(F.expr(f"{TOKENIZE_FUNCTION}(text).words")).alias("token")
    )
    tokens.groupBy("account").agg(F.count("*"), F.countDistinct("token")).collect()

    def each_batch(batch: DataFrame, _batch_id: int) -> None:
        batch.groupBy((F.col("value") % 3).alias("bucket")).count().collect()

    query = (
        spark.readStream.format("rate")
        .option("rowsPerSecond", 100)
        .load()
        .writeStream.foreachBatch(each_batch)
        .trigger(availableNow=True)
        .start()
    )
    query.awaitTermination(120)
    query.stop()


def _train_and_dump(draft: Path) -> None:
    """In a child process: a session whose JVM writes its classes to ``draft`` as it exits."""
    from pyspark import SparkContext

    from pipeline.settings import get_settings
    from pipeline.spark import build_session

    settings = get_settings()
    options = f"{settings.spark_java_options} -XX:ArchiveClassesAtExit={draft}".strip()
    settings = settings.model_copy(update={"spark_java_options": options})
    spark = build_session(settings, "trendoff-class-archive")
    train(spark)
    spark.stop()
    # The JVM writes the archive as it exits, which it does once its stdin closes; wait for it.
    gateway = SparkContext._gateway
    process = getattr(gateway, "proc", None)
    if gateway is not None:
        gateway.shutdown()
    if process is not None:
        process.stdin.close()
        process.wait(timeout=BUILD_TIMEOUT_SECONDS)


if __name__ == "__main__":
    _train_and_dump(Path(sys.argv[1]))
