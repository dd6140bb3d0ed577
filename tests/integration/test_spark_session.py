"""The Spark session Trendoff builds: JVM options reach the driver (pipeline/spark.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.settings import Settings

pytestmark = pytest.mark.integration


def test_the_driver_jvm_runs_with_the_configured_collector_and_utc(
    spark: Any, stack: Settings
) -> None:
    jvm = spark.sparkContext._jvm
    collectors = {
        bean.getName()
        for bean in jvm.java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()
    }
    # The default options ask for the parallel collector ("PS …" beans); G1 would name its own.
    assert "-XX:+UseParallelGC" in stack.spark_java_options.split()
    assert collectors == {"PS Scavenge", "PS MarkSweep"}
    assert jvm.java.lang.System.getProperty("user.timezone") == "UTC"


def test_the_driver_maps_the_class_archive_setup_built(spark: Any, stack: Settings) -> None:
    from pipeline.class_archive import _maps, archive_path

    archive = archive_path(stack.state_dir)
    assert archive.is_file(), "`trendoff setup` (make setup) builds it"
    assert _maps(archive)
    runtime = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
    # This process's JVM was started by whichever test first built a session, possibly with a
    # state dir of its own linking to the same jvm/ directory: the archive's name is the key.
    mapped = [
        Path(arg.split("=", 1)[1]).name
        for arg in runtime.getInputArguments()
        if arg.startswith("-XX:SharedArchiveFile=")
    ]
    assert mapped == [archive.name]
