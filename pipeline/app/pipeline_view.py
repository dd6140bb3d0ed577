"""Widgets of the Pipeline page: batch run history and the health of each part."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import pandas as pd
import streamlit as st

from pipeline.app import loaders


def render_runs(runs: Sequence[Mapping[str, object]]) -> None:
    st.subheader("Batch runs")
    if not runs:
        st.caption("No batch run yet.")
        return
    latest = runs[0]
    if latest["status"] == "running":
        st.info(f"Running: {latest['step']}")
    frame = pd.DataFrame(
        [
            {
                "started": run["started_at"],
                "status": run["status"],
                "step": run["step"],
                "slot": run["slot"],
                "high-water mark": run["high_water"],
                "posts": run["posts_counted"],
                "rows": run["rows_written"],
                "seconds": _duration(run),
                "error": run["error"],
            }
            for run in runs
        ]
    )
    st.dataframe(frame, hide_index=True, width="stretch")


def _duration(run: Mapping[str, object]) -> float | None:
    started, finished = run.get("started_at"), run.get("finished_at")
    if started is None or finished is None:
        return None
    assert isinstance(started, datetime) and isinstance(finished, datetime)
    return round((finished - started).total_seconds(), 1)


def render_health(status: Mapping[str, object]) -> None:
    st.subheader("Health")
    servers = loaders.stack_health()
    cols = st.columns(len(servers) + 1)
    for column, server in zip(cols, servers, strict=False):
        column.metric(
            str(server["name"]).capitalize(),
            "ready" if server["ready"] else "unreachable",
            help=f"port {server['port']}",
        )
    cols[-1].metric(
        "Active slot",
        "none yet" if status["active_slot"] is None else str(status["active_slot"]),
        help=f"high-water mark: {status['high_water'] or 'none yet'}",
    )
    jobs = status["jobs"]
    assert isinstance(jobs, Mapping)
    settings = loaders.app_settings()
    sizes = loaders.topic_sizes()
    if sizes is None:
        st.warning("Kafka is not reachable: lag and dead letters are unknown.")
    else:
        st.metric(
            "Dead letters",
            f"{sizes[settings.dead_letter_topic]:,}",
            help=f"records in {settings.dead_letter_topic}; `trendoff topic tail --dlq` shows them",
        )
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "job": job,
                    "partitions written": info["partitions"],
                    "records processed": info["max_offset_total"],
                    "lag": None
                    if sizes is None
                    else max(0, sizes[settings.posts_topic] - info["max_offset_total"]),
                    "newest append time": info["newest_append_time"],
                    "last progress": info["updated_at"],
                }
                for job, info in jobs.items()
            ]
        ),
        hide_index=True,
        width="stretch",
    )
