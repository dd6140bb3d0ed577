"""Batch refresh requests as the serving side files them: at most one waiting, and not more than
one a minute, whoever asks. The batch scheduler (:mod:`pipeline.jobs.scheduler`) takes them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from pipeline.cassandra import as_utc
from pipeline.errors import TrendoffError

if TYPE_CHECKING:
    from cassandra.cluster import Session


class RequestRefused(TrendoffError):
    """A batch refresh request that the throttle turned down; the message says why."""


# A refresh is a full recount of the master dataset: one at a time, and not more than once a
# minute, whoever asks.
MIN_REQUEST_INTERVAL = timedelta(seconds=60)
REQUESTS_LOOKED_AT = 20


def batch_request_refusal(
    recent: Iterable[tuple[datetime, str]], now: datetime, min_interval: timedelta
) -> str | None:
    """Why a new refresh request must wait (None: it may be filed), given the recent requests as
    (requested at, status), newest first."""
    newest: datetime | None = None
    for requested_at, status in recent:
        if status == "pending":
            return "a refresh is already waiting for the batch scheduler"
        newest = requested_at if newest is None else max(newest, requested_at)
    if newest is not None and now - newest < min_interval:
        wait = int((min_interval - (now - newest)).total_seconds()) + 1
        return f"a refresh was requested moments ago; try again in {wait} s"
    return None


class BatchRequests:
    """Files refresh requests in ``batch_requests`` through prepared statements."""

    def __init__(self, session: Session, keyspace: str) -> None:
        self.session = session
        self._file = session.prepare(
            f"INSERT INTO {keyspace}.batch_requests (bucket, requested_at, requested_by, status) "
            "VALUES (0, ?, ?, 'pending')"
        )
        self._recent = session.prepare(
            f"SELECT toTimestamp(requested_at) AS at, status FROM {keyspace}.batch_requests "
            "WHERE bucket = 0 ORDER BY requested_at DESC LIMIT ?"
        )

    def file(self, requested_by: str, min_interval: timedelta) -> uuid.UUID:
        """File a request, or raise :class:`RequestRefused` saying why it must wait."""
        recent = [
            (as_utc(row.at), row.status)
            for row in self.session.execute(self._recent, (REQUESTS_LOOKED_AT,))
        ]
        refusal = batch_request_refusal(recent, datetime.now(UTC), min_interval)  # type: ignore[arg-type]
        if refusal is not None:
            raise RequestRefused(refusal)
        request_id = uuid.uuid1()
        self.session.execute(self._file, (request_id, requested_by[:200]))
        return request_id
