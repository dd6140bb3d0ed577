"""Logging set-up for Trendoff's command-line entry points (library code only creates loggers)."""

from __future__ import annotations

import logging
import sys


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )
    # The Kafka and Cassandra clients log every failed connection attempt, even at ERROR, while a
    # server is starting or down; Trendoff reports unreachable servers itself, in one line.
    quiet = logging.DEBUG if level == "DEBUG" else logging.CRITICAL
    for noisy in ("kafka", "cassandra", "py4j"):
        logging.getLogger(noisy).setLevel(quiet)
    # Except what the Kafka producer says about the records it sends (retries, failed batches):
    # muting that would hide why posts were not delivered.
    logging.getLogger("kafka.producer").setLevel(
        logging.DEBUG if level == "DEBUG" else logging.WARNING
    )
