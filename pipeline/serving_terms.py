"""Serving of the term views: trending terms, leaderboards and a term's timeline.

Like every view, a bucket's tallies are the active batch slot's rows plus the speed rows of ingest
windows at or after H; counts add up, and distinct authors are united as sets, so a post's author
is counted once whichever layer counted the post. The rules are :mod:`pipeline.trending`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pipeline.trending import (
    TermTally,
    TopTerm,
    Trending,
    TrendParams,
    buckets_between,
    kind_matches,
    rank_top,
    summed,
    tally_slices,
    trend_span,
    trending_of,
    unpack_terms,
)
from pipeline.views import EPOCH

if TYPE_CHECKING:
    from cassandra.cluster import ResponseFuture, Session

    from pipeline.serving import Snapshot

SLOTS = (0, 1)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class TermViews:
    """Reads the packed term rows of a set of buckets, both layers at once (asynchronously): one
    read per hour partition slice (:func:`pipeline.trending.tally_slices`) and layer."""

    def __init__(self, session: Session, keyspace: str) -> None:
        self.session = session
        prepare = session.prepare
        self._batch = {
            (slot, with_authors): prepare(
                f"SELECT bucket, terms, posts{', authors' if with_authors else ''} "
                f"FROM {keyspace}.batch_term_tallies_{slot} "
                "WHERE hour = ? AND bucket >= ? AND bucket <= ?"
            )
            for slot in SLOTS
            for with_authors in (False, True)
        }
        self._speed = {
            with_authors: prepare(
                f"SELECT bucket, window_start, terms, posts{', authors' if with_authors else ''} "
                f"FROM {keyspace}.speed_term_tallies "
                "WHERE hour = ? AND bucket >= ? AND bucket <= ?"
            )
            for with_authors in (False, True)
        }

    def tallies(
        self,
        buckets: list[datetime],
        snapshot: Snapshot,
        kind: str = "all",
        authors_of: set[datetime] | None = None,
    ) -> dict[datetime, dict[str, TermTally]]:
        """Merged tallies of ``kind`` per bucket. Authors are read only for the buckets in
        ``authors_of`` (all when None); other buckets' tallies have ``authors`` None."""
        speed_from = snapshot.high_water or EPOCH
        wanted = set(buckets)
        pending: list[tuple[bool, ResponseFuture]] = []
        for piece in tally_slices(wanted, authors_of):
            bounds = (piece.hour, piece.first, piece.last)
            if snapshot.slot is not None:
                statement = self._batch[(snapshot.slot, piece.with_authors)]
                pending.append((False, self.session.execute_async(statement, bounds)))
            statement = self._speed[piece.with_authors]
            pending.append((True, self.session.execute_async(statement, bounds)))
        merged: dict[datetime, dict[str, TermTally]] = {bucket: {} for bucket in wanted}
        for is_speed, future in pending:
            for row in future.result():
                bucket = _utc(row.bucket)
                if bucket not in wanted or (is_speed and _utc(row.window_start) < speed_from):
                    continue
                terms = merged[bucket]
                authors: Any = getattr(row, "authors", None)
                for term, posts, names in unpack_terms(row.terms, row.posts, authors):
                    if kind_matches(term, kind):
                        tally = terms.get(term)
                        if tally is None:
                            tally = terms[term] = TermTally(0, set() if names is not None else None)
                        tally.add(posts, names)
        return merged

    def trending(
        self,
        snapshot: Snapshot,
        params: TrendParams,
        at: datetime,
        kind: str = "all",
        limit: int | None = 20,
    ) -> Trending:
        span = trend_span(_utc(at), params)
        tallies = self.tallies(span.buckets(), snapshot, kind, set(span.window_buckets()))
        return trending_of(tallies, span, params, kind, limit)

    def top(
        self,
        snapshot: Snapshot,
        since: datetime,
        until: datetime,
        bucket_seconds: int,
        kind: str = "all",
        limit: int | None = 20,
    ) -> list[TopTerm]:
        buckets = buckets_between(_utc(since), _utc(until), bucket_seconds)
        return rank_top(summed(self.tallies(buckets, snapshot, kind)), kind, limit)
