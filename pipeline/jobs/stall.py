"""Noticing a streaming query that is stuck inside one micro-batch.

A micro-batch can block for good without failing. Seen in the fault test: Cassandra was killed
while the connector refreshed its schema, and the Java driver's schema refresh (called by
spark-cassandra-connector for every write, with no timeout) never completed, nor did any later
refresh on that cached session. The queries neither wrote nor failed, so the runner never
restarted them. A stuck query is therefore treated as a failed one: the job exits, `trendoff
run` restarts it in a fresh JVM, and the micro-batch is replayed from the checkpoint (the views
are idempotent per batch, so nothing is counted twice).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class StallWatch:
    """Tracks one query's trigger across polls; :meth:`observe` says how long the current
    micro-batch has run. A new progress report or an idle poll starts the clock again."""

    started_at: float | None = None
    batch_seen: object = None

    def observe(self, now: float, *, trigger_active: bool, last_batch: object) -> float:
        """Seconds the query has been inside the same micro-batch (0 when idle)."""
        if not trigger_active:
            self.started_at = None
        elif self.started_at is None or last_batch != self.batch_seen:
            self.started_at = now
        self.batch_seen = last_batch
        return 0.0 if self.started_at is None else now - self.started_at


def stall_message(query_name: str, seconds: float, limit: float) -> str:
    return (
        f"streaming query {query_name} has been inside one micro-batch for {seconds:.0f} s "
        f"(limit TRENDOFF_STREAM_STALL_SECONDS={limit:.0f}); exiting so that it restarts in a "
        "fresh process and replays the micro-batch from its checkpoint"
    )
