"""SparkSession for every Trendoff job: connectors as local jars, Cassandra from settings, UTC."""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING

from pipeline.class_archive import driver_archive_option
from pipeline.jvm import java_executable, spark_connector_jars, udf_jar
from pipeline.settings import Settings
from pipeline.tls import spark_cassandra_tls_conf

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

logger = logging.getLogger(__name__)

# Settings that must never appear on a command line. PySpark starts its JVM through spark-submit
# and hands it every option it knows at that moment as `--conf key=value`, which `ps` shows to
# every user of the machine; these are set over the py4j socket once the JVM runs instead.
SECRET_CONF_KEYS = frozenset(
    {
        "spark.cassandra.auth.password",
        "spark.cassandra.connection.ssl.trustStore.password",
        "spark.cassandra.connection.ssl.keyStore.password",
    }
)


# Most bytes of rows the connector sends to Cassandra as one unlogged batch (see spark_conf).
WRITE_BATCH_BYTES = 8192


def spark_conf(settings: Settings, app_name: str) -> dict[str, str]:
    """Every Spark setting Trendoff sets, as plain strings (also what `docs/scale-out.md` lists)."""
    jars = [*spark_connector_jars(settings.state_dir), udf_jar(settings.state_dir)]
    java_options = f"-Duser.timezone=UTC {settings.spark_java_options}".strip()
    # The class archive (pipeline/class_archive.py) only where the driver runs: this machine.
    driver_options = f"{java_options} {driver_archive_option(settings)}".strip()
    conf = {
        "spark.app.name": app_name,
        "spark.master": settings.spark_master,
        "spark.driver.memory": settings.spark_driver_memory,
        # Jars come from the Maven cache that `trendoff setup` filled, never from Ivy at run time.
        "spark.jars": ",".join(str(jar) for jar in jars),
        "spark.sql.extensions": "com.datastax.spark.connector.CassandraSparkExtensions",
        "spark.sql.shuffle.partitions": str(settings.spark_shuffle_partitions),
        "spark.sql.session.timeZone": "UTC",
        "spark.driver.extraJavaOptions": driver_options,
        "spark.executor.extraJavaOptions": java_options,
        "spark.ui.showConsoleProgress": "false",
        "spark.cassandra.connection.host": ",".join(settings.cassandra_contact_points),
        "spark.cassandra.connection.port": str(settings.cassandra_port),
        "spark.cassandra.connection.localDC": settings.cassandra_local_datacenter,
        # The same level as the driver (pipeline/cassandra.py): the connector would otherwise
        # read at LOCAL_ONE, and a batch could miss master rows a quorum had acknowledged.
        "spark.cassandra.input.consistency.level": settings.cassandra_consistency,
        "spark.cassandra.output.consistency.level": settings.cassandra_consistency,
        # A null column is left unset instead of written as a tombstone. Posts have many optional
        # fields: with tombstones every master row carried ~3, and the batch layer's full scan
        # read three tombstones per live row (and Cassandra warned on every page).
        "spark.cassandra.output.ignoreNulls": "true",
        "spark.sql.streaming.forceDeleteTempCheckpointLocation": "true",
        # The connector closes an idle Cassandra session after 5 s by default: between
        # micro-batches it would reconnect (and fetch the schema again) over and over.
        "spark.cassandra.connection.keepAliveMS": "120000",
        # The connector batches only rows of one partition by default, so the master dataset
        # (a partition per post) and the speed vocabulary (one per account) went to Cassandra a
        # row per request: writing 20,000 dev posts took 4.4 s and 3.9 s of Cassandra CPU.
        # Rows bound for the same replicas go together instead (unlogged, up to 8 KiB): 1.3 s
        # and 1.2 s (docs/performance.md). Replayed rows overwrite themselves either way.
        "spark.cassandra.output.batch.grouping.key": "replica_set",
        "spark.cassandra.output.batch.size.bytes": str(WRITE_BATCH_BYTES),
        # query.stop() interrupts a running micro-batch; never wait longer than this for it.
        "spark.sql.streaming.stopTimeout": "5000",
    }
    if settings.spark_master.startswith("local"):
        # Locally nothing needs to reach the driver from outside: bind it to loopback only, and
        # skip the web UI, which binds one more port per session and clashes in parallel tests.
        conf["spark.driver.host"] = "127.0.0.1"
        conf["spark.driver.bindAddress"] = "127.0.0.1"
        conf["spark.ui.enabled"] = "false"
    if settings.cassandra_username and settings.cassandra_password:
        conf["spark.cassandra.auth.username"] = settings.cassandra_username
        conf["spark.cassandra.auth.password"] = settings.cassandra_password.get_secret_value()
    conf.update(spark_cassandra_tls_conf(settings))
    return conf


def build_session(
    settings: Settings, app_name: str, extra_conf: dict[str, str] | None = None
) -> SparkSession:
    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    java_executable()  # one clear line if Java is missing, instead of a py4j gateway error
    # Workers must run this interpreter, not whatever `python3` is first on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    conf = {**spark_conf(settings, app_name), **(extra_conf or {})}
    # Start the JVM (when this process has none yet) knowing only the public settings; the
    # context created below receives all of them, secrets included, through the gateway.
    launch_conf = SparkConf(loadDefaults=False).setAll(
        [(key, value) for key, value in conf.items() if key not in SECRET_CONF_KEYS]
    )
    SparkContext._ensure_initialized(conf=launch_conf)
    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    import_pyspark_helpers(session)
    register_functions(session)
    return session


# JVM classes PySpark names on (almost) every DataFrame or Column call.
PYSPARK_HELPER_CLASSES = (
    "org.apache.spark.sql.functions",
    "org.apache.spark.sql.Column",
    "org.apache.spark.api.python.PythonUtils",
    "org.apache.spark.sql.api.python.PythonSQLUtils",
)


def import_pyspark_helpers(session: SparkSession) -> None:
    """Name :data:`PYSPARK_HELPER_CLASSES` directly in the py4j view PySpark uses.

    PySpark looks up e.g. ``functions`` by its short name on every ``F.col``; py4j resolves a
    short name by trying each wildcard import in turn, and each miss searches every jar on the
    class path. Under `trendoff jobs` those misses were a quarter of the driver threads' CPU
    (docs/performance.md); an explicit import makes the lookup one hit (``F.col`` 0.64 ->
    0.37 ms on a quiet machine)."""
    from py4j.java_gateway import java_import

    jvm = session.sparkContext._jvm
    assert jvm is not None  # a running session has its gateway
    for name in PYSPARK_HELPER_CLASSES:
        java_import(jvm, name)


def register_functions(session: SparkSession) -> None:
    """Trendoff's JVM functions, callable from Spark SQL (see jvm/udf)."""
    from pipeline.text.spark_tokens import (
        PACK_TERMS_FUNCTION,
        PACKED_TERMS_TYPE,
        TOKENIZE_FUNCTION,
        TOKENS_TYPE,
    )

    session.udf.registerJavaFunction(TOKENIZE_FUNCTION, "io.trendoff.udf.TokenizeText", TOKENS_TYPE)
    session.udf.registerJavaFunction(
        PACK_TERMS_FUNCTION, "io.trendoff.udf.PackTerms", PACKED_TERMS_TYPE
    )
