"""What the Pipeline page shows of the pipeline itself: the batch state, the batch runs' history
and how far each streaming job has got, read as they are (no merge)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pipeline.cassandra import as_utc
from pipeline.schemas import STATE_ID

if TYPE_CHECKING:
    from cassandra.cluster import Session

STREAMING_JOBS = ("master", "speed")


class PipelineStatus:
    """Reads ``batch_state``, ``batch_runs`` and ``job_progress`` through prepared statements."""

    def __init__(self, session: Session, keyspace: str) -> None:
        self.session = session
        prepare = session.prepare
        self._state = prepare(
            f"SELECT active_slot, high_water FROM {keyspace}.batch_state WHERE id = ?"
        )
        self._runs = prepare(
            "SELECT run_id, status, step, slot, high_water, started_at, finished_at, "
            f"rows_written, posts_counted, error FROM {keyspace}.batch_runs "
            "WHERE bucket = 0 LIMIT ?"
        )
        self._progress = prepare(
            "SELECT kafka_partition, max_offset, max_append_time, updated_at "
            f"FROM {keyspace}.job_progress WHERE job = ?"
        )

    def read(self, runs: int) -> dict[str, object]:
        # Not the serving snapshot's slot check: the page must still show the runs when it fails.
        state = self.session.execute(self._state, (STATE_ID,)).one()
        history = [
            {
                "run_id": str(row.run_id),
                "status": row.status,
                "step": row.step,
                "slot": row.slot,
                "high_water": as_utc(row.high_water),
                "started_at": as_utc(row.started_at),
                "finished_at": as_utc(row.finished_at),
                "rows_written": row.rows_written,
                "posts_counted": row.posts_counted,
                "error": row.error,
            }
            for row in self.session.execute(self._runs, (runs,))
        ]
        jobs = {}
        for job in STREAMING_JOBS:
            rows = list(self.session.execute(self._progress, (job,)))
            jobs[job] = {
                "partitions": len(rows),
                "max_offset_total": sum(row.max_offset + 1 for row in rows),
                "newest_append_time": _newest(row.max_append_time for row in rows),
                "updated_at": _newest(row.updated_at for row in rows),
            }
        return {
            "active_slot": state.active_slot if state else None,
            "high_water": as_utc(state.high_water) if state else None,
            "checked_at": datetime.now(UTC),
            "runs": history,
            "jobs": jobs,
        }


def _newest(moments: Iterable[datetime | None]) -> datetime | None:
    present = [moment for moment in moments if moment is not None]
    return as_utc(max(present)) if present else None
