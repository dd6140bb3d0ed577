"""Widgets of the Pipeline page: batch run history and the health of each part.

Every cell is text: a blank where there is nothing (never "None"), counts with thousands
separators, times as "2026-11-26 14:05:09 UTC".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import streamlit as st

from pipeline.app import loaders


def cell(value: object) -> str:
    """How a table shows one value."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return utc_time(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


def utc_time(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def runs_table(runs: Sequence[Mapping[str, object]]) -> list[dict[str, str]]:
    return [
        {
            "started": cell(run["started_at"]),
            "status": cell(run["status"]),
            "step": cell(run["step"]),
            "slot": cell(run["slot"]),
            "high-water mark": cell(run["high_water"]),
            "posts": cell(run["posts_counted"]),
            "rows": cell(run["rows_written"]),
            "seconds": cell(_duration(run)),
            "error": cell(run["error"]),
        }
        for run in runs
    ]


def render_runs(runs: Sequence[Mapping[str, object]]) -> None:
    st.subheader("Batch runs")
    if not runs:
        st.caption("No batch run yet.")
        return
    latest = runs[0]
    if latest["status"] == "running":
        st.info(f"Running: {latest['step']}")
    st.dataframe(runs_table(runs), hide_index=True, width="stretch")


def _duration(run: Mapping[str, object]) -> float | None:
    started, finished = run.get("started_at"), run.get("finished_at")
    if started is None or finished is None:
        return None
    assert isinstance(started, datetime) and isinstance(finished, datetime)
    return round((finished - started).total_seconds(), 1)


def jobs_table(
    jobs: Mapping[str, Mapping[str, object]],
    posts_in_topic: int | None,
    checked_at: datetime | None = None,
) -> list[dict[str, str]]:
    """One row per streaming job. ``lag`` is the posts in Kafka it has not written yet;
    ``behind`` how long ago the newest post it wrote was appended, while it has any lag: the age
    of the oldest post still waiting for it."""
    rows = []
    for job, info in jobs.items():
        processed = info["max_offset_total"]
        assert isinstance(processed, int)
        lag = None if posts_in_topic is None else max(0, posts_in_topic - processed)
        newest = info["newest_append_time"]
        behind: str | None = None
        if lag == 0:
            behind = "0 s"
        elif lag and isinstance(newest, datetime) and checked_at is not None:
            behind = f"{max(0.0, (checked_at - newest).total_seconds()):,.0f} s"
        rows.append(
            {
                "job": job,
                "partitions written": cell(info["partitions"]),
                "records processed": cell(processed),
                "lag": cell(lag),
                "behind": cell(behind),
                "newest append time": cell(newest),
                "last progress": cell(info["updated_at"]),
            }
        )
    return rows


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
    high_water = status["high_water"]
    cols[-1].metric(
        "Active slot",
        "none yet" if status["active_slot"] is None else str(status["active_slot"]),
        help="high-water mark: "
        + (utc_time(high_water) if isinstance(high_water, datetime) else "none yet"),
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
    posts_in_topic = None if sizes is None else sizes[settings.posts_topic]
    checked_at = status["checked_at"]
    st.dataframe(
        jobs_table(jobs, posts_in_topic, checked_at if isinstance(checked_at, datetime) else None),
        hide_index=True,
        width="stretch",
    )


def processes_table(
    status: Mapping[str, object] | None, runner_alive: bool
) -> list[dict[str, str]]:
    """The parts of `trendoff run` as the runner last published them (empty: no runner)."""
    if not status or not runner_alive:
        return []
    parts = status.get("parts")
    if not isinstance(parts, list):
        return []
    rows = []
    for part in parts:
        failed_at = part.get("last_failure_at")
        rows.append(
            {
                "part": cell(part.get("name")),
                "status": cell(part.get("status")),
                "pid": str(part["pid"]) if part.get("pid") else "",
                "restarts": cell(part.get("restarts")),
                "last exit status": cell(part.get("last_exit")),
                "last failure": cell(datetime.fromisoformat(failed_at)) if failed_at else "",
                "log": cell(part.get("log")),
            }
        )
    return rows


def render_processes() -> None:
    status, alive = loaders.runner_status()
    rows = processes_table(status, alive)
    if not rows:
        st.caption(
            "No `trendoff run` is supervising this namespace from this machine: parts started "
            "another way (Docker, separate commands) are not listed here."
        )
        return
    st.subheader("Processes")
    st.dataframe(rows, hide_index=True, width="stretch")
    restarted = [row["part"] for row in rows if row["restarts"] not in ("", "0")]
    if restarted:
        st.warning(
            f"Restarted after a failure: {', '.join(restarted)}. Its log says why; the views "
            "stay exact across restarts."
        )
