"""The batch lease: one batch run at a time per namespace, whoever starts it.

Two schedulers, or the app's refresh button and a schedule, must not fill the same slot. A run takes
the lease with a lightweight transaction (``INSERT ... IF NOT EXISTS USING TTL``), a small thread
renews it while the run works, and the run releases it at the end. A run killed with the lease held
leaves it to expire after the TTL, or sooner: a run on the same host takes over a lease whose
process is gone. A run whose renewal fails (it stalled past the TTL and another run took over)
learns so before its flip and gives up.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pipeline.stack.process import pid_alive

if TYPE_CHECKING:
    from cassandra.cluster import Session

logger = logging.getLogger(__name__)

LEASE_ID = "batch"
LEASE_TTL_SECONDS = 60


def holder_is_gone(host: str | None, pid: int | None, this_host: str) -> bool:
    """A lease holder known to be dead: a process of this host that no longer runs."""
    return host == this_host and pid is not None and not pid_alive(pid)


class BatchLease:
    def __init__(
        self, session: Session, run_id: uuid.UUID, ttl_seconds: int = LEASE_TTL_SECONDS
    ) -> None:
        self._session = session
        self.run_id = run_id
        self.ttl_seconds = ttl_seconds
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self._lost = threading.Event()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self._take = session.prepare(
            "INSERT INTO batch_lease (id, run_id, host, pid, taken_at) VALUES (?, ?, ?, ?, ?) "
            "IF NOT EXISTS USING TTL ?"
        )
        # Every regular column is written again: a TTL applies to the cells a statement writes.
        self._renew = session.prepare(
            "UPDATE batch_lease USING TTL ? SET run_id = ?, host = ?, pid = ?, taken_at = ? "
            "WHERE id = ? IF run_id = ?"
        )
        self._release = session.prepare("DELETE FROM batch_lease WHERE id = ? IF run_id = ?")

    def _try_take(self) -> Any:
        return self._session.execute(
            self._take,
            (LEASE_ID, self.run_id, self.host, self.pid, datetime.now(UTC), self.ttl_seconds),
        ).one()

    def acquire(self) -> str | None:
        """Take the lease; None on success, else who holds it (for the refusal message)."""
        result = self._try_take()
        if not result.applied and holder_is_gone(result.host, result.pid, self.host):
            logger.warning(
                "batch run %s (pid %s) died holding the lease: taking it over",
                result.run_id,
                result.pid,
            )
            self._session.execute(self._release, (LEASE_ID, result.run_id))
            result = self._try_take()
        if not result.applied:
            return (
                f"batch run {result.run_id} (pid {result.pid} on {result.host}, "
                f"since {result.taken_at} UTC)"
            )
        self._renewer = threading.Thread(
            target=self._keep_renewed, name=f"batch-lease-{self.run_id}", daemon=True
        )
        self._renewer.start()
        return None

    def _keep_renewed(self) -> None:
        interval = self.ttl_seconds / 3
        while not self._stop.wait(interval):
            try:
                renewed = self._session.execute(
                    self._renew,
                    (
                        self.ttl_seconds,
                        self.run_id,
                        self.host,
                        self.pid,
                        datetime.now(UTC),
                        LEASE_ID,
                        self.run_id,
                    ),
                ).one()
            except Exception:
                # A missed renewal is retried: the TTL spans three intervals.
                logger.warning("could not renew the batch lease; retrying", exc_info=True)
                continue
            if not renewed.applied:
                logger.error("batch run %s lost its lease to %s", self.run_id, renewed.run_id)
                self._lost.set()
                return

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
            try:
                self._session.execute(self._release, (LEASE_ID, self.run_id))
            except Exception:
                # Not fatal: the lease expires by itself within its TTL.
                logger.warning("could not release the batch lease", exc_info=True)
