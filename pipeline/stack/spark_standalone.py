"""The Spark standalone part of the local cluster: a master and two workers run by pyspark's own
``bin/spark-class``, so they are the same Spark version as the jobs' driver."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

from pipeline.settings import Settings
from pipeline.stack.process import port_open
from pipeline.stack.services import Service

_HOST = "127.0.0.1"
SPARK_MASTER_PORT = 17077
SPARK_MASTER_UI_PORT = 18080
SPARK_WORKER_UI_PORTS = (18081, 18082)


class SparkDaemon(Service):
    """A Spark standalone master or worker, run by the pyspark distribution's ``spark-class``."""

    start_timeout_seconds = 120.0
    stop_grace_seconds = 20.0
    port_setting = "(fixed cluster ports)"

    def __init__(self, settings: Settings, name: str, main_class: str, args: list[str]) -> None:
        self.name = name
        self.main_class = main_class
        self.args = args
        super().__init__(settings)

    @property
    def enabled(self) -> bool:
        return True

    @property
    def ports(self) -> list[int]:
        ui = self.args[self.args.index("--webui-port") + 1]
        return [int(ui)]

    def prepare(self, java: str, classpath: list[Path]) -> None:
        (self.files.root / "work").mkdir(parents=True, exist_ok=True)

    def command(self, java: str, classpath: list[Path]) -> list[str]:
        import pyspark

        spark_class = Path(pyspark.__file__).parent / "bin" / "spark-class"
        return [str(spark_class), self.main_class, *self.args]

    def environment(self, java: str) -> dict[str, str]:
        # spark-class execs the JVM in place, so the marker on its command line is the pid's.
        return {
            **os.environ,
            "JAVA_HOME": str(Path(java).resolve().parent.parent),
            "SPARK_DAEMON_JAVA_OPTS": self.marker,
            "SPARK_DAEMON_MEMORY": "512m",
            "SPARK_LOG_DIR": str(self.files.root),
            "SPARK_WORKER_DIR": str(self.files.root / "work"),
        }

    def ready(self) -> bool:
        return port_open(_HOST, self.port)


def spark_services(settings: Settings) -> list[SparkDaemon]:
    master_url = f"spark://{_HOST}:{SPARK_MASTER_PORT}"
    master = SparkDaemon(
        settings,
        "spark-master",
        "org.apache.spark.deploy.master.Master",
        [
            "--host",
            _HOST,
            "--port",
            str(SPARK_MASTER_PORT),
            "--webui-port",
            str(SPARK_MASTER_UI_PORT),
        ],
    )
    workers = [
        SparkDaemon(
            settings,
            f"spark-worker-{number + 1}",
            "org.apache.spark.deploy.worker.Worker",
            [
                master_url,
                "--host",
                _HOST,
                "--cores",
                "1",
                "--memory",
                "1g",
                "--webui-port",
                str(ui_port),
            ],
        )
        for number, ui_port in enumerate(SPARK_WORKER_UI_PORTS)
    ]
    return [master, *workers]


def spark_workers_alive() -> int:
    try:
        with urllib.request.urlopen(
            f"http://{_HOST}:{SPARK_MASTER_UI_PORT}/json/", timeout=3
        ) as answer:
            return int(json.load(answer).get("aliveworkers", 0))
    except (OSError, ValueError):
        return 0
