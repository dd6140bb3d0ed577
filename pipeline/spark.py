"""SparkSession for every Trendoff job: connectors as local jars, Cassandra from settings, UTC."""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING

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


def spark_conf(settings: Settings, app_name: str) -> dict[str, str]:
    """Every Spark setting Trendoff sets, as plain strings (also what `docs/scale-out.md` lists)."""
    jars = [*spark_connector_jars(settings.state_dir), udf_jar(settings.state_dir)]
    conf = {
        "spark.app.name": app_name,
        "spark.master": settings.spark_master,
        "spark.driver.memory": settings.spark_driver_memory,
        # Jars come from the Maven cache that `trendoff setup` filled, never from Ivy at run time.
        "spark.jars": ",".join(str(jar) for jar in jars),
        "spark.sql.extensions": "com.datastax.spark.connector.CassandraSparkExtensions",
        "spark.sql.shuffle.partitions": str(settings.spark_shuffle_partitions),
        "spark.sql.session.timeZone": "UTC",
        "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
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
    register_functions(session)
    return session


def register_functions(session: SparkSession) -> None:
    """Trendoff's JVM functions, callable from Spark SQL (see jvm/udf)."""
    from pyspark.sql.types import StringType

    from pipeline.text.spark_tokens import NORMALIZE_FUNCTION

    session.udf.registerJavaFunction(
        NORMALIZE_FUNCTION, "io.trendoff.udf.NormalizeText", StringType()
    )
