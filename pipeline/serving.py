"""The serving layer: every answer = the active batch slot (posts appended before H) + the speed
rows of ingest windows at or after H. Prepared statements only; the merge itself is the pure
:func:`pipeline.views.merge_counts`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from cassandra.concurrent import execute_concurrent_with_args

from pipeline.alerts import Alert, AlertStore
from pipeline.batch_requests import MIN_REQUEST_INTERVAL, BatchRequests
from pipeline.cassandra import as_utc, build_cluster, require_tables
from pipeline.errors import TrendoffError
from pipeline.merge_guard import slot_is_consistent
from pipeline.schemas import SLOTS, STATE_ID, TABLES
from pipeline.serving_status import PipelineStatus
from pipeline.serving_terms import TermViews
from pipeline.settings import Settings
from pipeline.shards import ACCOUNT_SHARDS
from pipeline.text import Lexicon, load_lexicon
from pipeline.trending import TopTerm, Trending, TrendParams
from pipeline.views import (
    EPOCH,
    AccountTally,
    SharedWord,
    bucket_series,
    merge_counts,
    merge_window_counts,
    rank_counts,
    rank_shared_words,
    resolve_account,
    unpack_vocabulary,
)

if TYPE_CHECKING:
    from cassandra.cluster import Cluster, Session

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Account:
    handle: str
    posts: int
    first_post: datetime | None
    last_post: datetime | None
    author_id: str

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        for key in ("first_post", "last_post"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


class SlotBeingRewritten(TrendoffError):
    """The active batch slot no longer holds what the run that flipped to it wrote."""


@dataclass(frozen=True)
class Snapshot:
    """Which batch slot serves and up to which append time it counts (None: no batch yet)."""

    slot: int | None
    high_water: datetime | None


class Serving:
    def __init__(self, settings: Settings, lexicon: Lexicon | None = None) -> None:
        self.settings = settings
        self.lexicon = lexicon or load_lexicon(settings.lexicon_path)
        self._cluster: Cluster = build_cluster(settings)
        try:
            self.session: Session = self._cluster.connect()
            require_tables(self.session, settings, TABLES)
            # A busy account's speed partition can hold thousands of rows: one page, one trip.
            self.session.default_fetch_size = 50_000
        except BaseException:
            self._cluster.shutdown()
            raise
        prepare = self.session.prepare
        # Qualified names: Cassandra warns about prepared statements that rely on `USE keyspace`.
        ks = settings.keyspace
        # The slot tags come in the same single-row read (see pipeline/merge_guard.py).
        self._state = prepare(
            "SELECT active_slot, high_water, run_id, slot_0_run, slot_1_run "
            f"FROM {ks}.batch_state WHERE id = ?"
        )
        self._batch_vocab = {
            slot: prepare(f"SELECT words, uses FROM {ks}.batch_vocab_{slot} WHERE author = ?")
            for slot in SLOTS
        }
        self._batch_topics = {
            slot: prepare(f"SELECT minute, posts FROM {ks}.batch_topics_{slot} WHERE category = ?")
            for slot in SLOTS
        }
        self._batch_accounts = {
            slot: prepare(
                "SELECT author, posts, first_post, last_post, handle "
                f"FROM {ks}.batch_account_tallies_{slot} WHERE shard = ?"
            )
            for slot in SLOTS
        }
        self._speed_vocab = prepare(
            f"SELECT window_start, words, uses FROM {ks}.speed_vocab "
            "WHERE author = ? AND window_start >= ?"
        )
        self._speed_topics = prepare(
            f"SELECT window_start, minute, posts FROM {ks}.speed_topics "
            "WHERE category = ? AND window_start >= ?"
        )
        self._speed_accounts = prepare(
            "SELECT window_start, author, posts, first_post, last_post, handle "
            f"FROM {ks}.speed_account_tallies "
            "WHERE shard = ? AND window_start >= ?"
        )

        self._terms = TermViews(self.session, ks)
        self._requests = BatchRequests(self.session, ks)
        self._status = PipelineStatus(self.session, ks)
        self.alerts = AlertStore(self.session, ks)

    def close(self) -> None:
        self._cluster.shutdown()

    def __enter__(self) -> Serving:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the merge -----------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        row = self.session.execute(self._state, (STATE_ID,)).one()
        if row is None:
            return Snapshot(None, None)
        tags = {0: row.slot_0_run, 1: row.slot_1_run}
        if not slot_is_consistent(row.active_slot, row.run_id, tags):
            logger.error("active batch slot %s is being rewritten", row.active_slot)
            # Never serve a slot another run is rewriting: its counts would be partial.
            raise SlotBeingRewritten(
                f"batch slot {row.active_slot} is being rewritten by batch run "
                f"{tags.get(row.active_slot)}, not the run {row.run_id} that flipped to it",
                hint="two batch runs overlapped; run `trendoff batch --force` once the other "
                "has finished (docs/operations.md)",
            )
        return Snapshot(row.active_slot, as_utc(row.high_water))

    @staticmethod
    def _speed_from(snapshot: Snapshot) -> datetime:
        return snapshot.high_water or EPOCH

    def _word_counts(self, author: str, snapshot: Snapshot) -> dict[str, int]:
        return self._word_counts_of([author], snapshot)[0]

    def _word_counts_of(self, authors: list[str], snapshot: Snapshot) -> list[dict[str, int]]:
        """Merged word counts of several accounts; all their partitions are read concurrently."""
        speed_from = self._speed_from(snapshot)
        pending = []
        for author in authors:
            batch_future = (
                self.session.execute_async(self._batch_vocab[snapshot.slot], (author,))
                if snapshot.slot is not None
                else None
            )
            speed_future = self.session.execute_async(self._speed_vocab, (author, speed_from))
            pending.append((batch_future, speed_future))
        merged = []
        for batch_future, speed_future in pending:
            batch = (
                unpack_vocabulary((row.words, row.uses) for row in batch_future.result())
                if batch_future
                else {}
            )
            speed = (
                (as_utc(row.window_start), unpack_vocabulary([(row.words, row.uses)]))
                for row in speed_future.result()
            )
            merged.append(merge_window_counts(batch, speed, snapshot.high_water))  # type: ignore[arg-type]
        return merged

    def _topic_minutes_of(
        self, categories: Iterable[str], snapshot: Snapshot
    ) -> dict[str, dict[datetime, int]]:
        """Merged posts per minute of several categories; every partition is read concurrently
        (two per category), so a page of ten categories waits for one round trip, not twenty."""
        speed_from = self._speed_from(snapshot)
        pending = {
            category: (
                self.session.execute_async(self._batch_topics[snapshot.slot], (category,))
                if snapshot.slot is not None
                else None,
                self.session.execute_async(self._speed_topics, (category, speed_from)),
            )
            for category in categories
        }
        merged: dict[str, dict[datetime, int]] = {}
        for category, (batch_future, speed_future) in pending.items():
            batch: dict[datetime, int] = (
                {as_utc(row.minute): row.posts for row in batch_future.result()}  # type: ignore[misc]
                if batch_future
                else {}
            )
            speed: Iterable[tuple[datetime, datetime, int]] = (
                (as_utc(row.minute), as_utc(row.window_start), row.posts)  # type: ignore[misc]
                for row in speed_future.result()
            )
            merged[category] = merge_counts(batch, speed, snapshot.high_water)
        return merged

    # -- queries -------------------------------------------------------------------------------

    def word_counts(self, author: str) -> dict[str, int]:
        """Every word of one account (handle or id) with its merged count (the
        distinctive-words input)."""
        return self._word_counts(self.resolve([author])[0], self.snapshot())

    def pair_word_counts(self, a: str, b: str) -> tuple[dict[str, int], dict[str, int]]:
        """Both accounts' merged word counts, from one snapshot: what their shared words and
        their distinctive words are both computed from, so a comparison reads each once."""
        counts_a, counts_b = self._word_counts_of(self.resolve([a, b]), self.snapshot())
        return counts_a, counts_b

    def newest_post(self) -> datetime | None:
        """created_at of the newest counted post: the app's freshness badge and replay clock."""
        newest = [account.last_post for account in self.accounts(limit=1_000_000)]
        return max((moment for moment in newest if moment), default=None)

    def post_span(self) -> tuple[datetime, datetime] | None:
        """created_at of the oldest and the newest counted post (None before any): what a
        replay's trend charts span."""
        accounts = self.accounts(limit=1_000_000)
        oldest = [account.first_post for account in accounts if account.first_post]
        newest = [account.last_post for account in accounts if account.last_post]
        if not oldest or not newest:
            return None
        return min(oldest), max(newest)

    def request_batch(
        self, requested_by: str, min_interval: timedelta = MIN_REQUEST_INTERVAL
    ) -> uuid.UUID:
        """File a refresh request; the batch scheduler takes the oldest pending one.

        Throttled: refused (:class:`~pipeline.batch_requests.RequestRefused`) while another
        request is pending or when the newest one is younger than ``min_interval``, so a page
        reloaded in a loop cannot queue up batch runs."""
        return self._requests.file(requested_by, min_interval)

    def shared_words(
        self, a: str, b: str, limit: int | None = 20, by: str = "both"
    ) -> list[SharedWord]:
        """Words both use (all of them when ``limit`` is None), ranked as
        :func:`pipeline.views.rank_shared_words` says."""
        return rank_shared_words(*self.pair_word_counts(a, b), limit, by)

    def account_words(self, author: str, limit: int = 20) -> list[tuple[str, int]]:
        return rank_counts(self.word_counts(author), limit)

    def topic_totals(self) -> dict[str, int]:
        minutes = self._topic_minutes_of(sorted(self.lexicon.categories), self.snapshot())
        return {category: sum(counts.values()) for category, counts in minutes.items()}

    def topic_minutes(self) -> dict[str, dict[datetime, int]]:
        """Posts per created_at minute of every category, from one snapshot: the app buckets
        them itself, so totals, windows and series on one page always agree."""
        return self._topic_minutes_of(sorted(self.lexicon.categories), self.snapshot())

    def topic_series(
        self, categories: list[str], since: datetime, until: datetime, step_seconds: int
    ) -> dict[str, list[tuple[datetime, int]]]:
        minutes = self._topic_minutes_of(categories, self.snapshot())
        return {
            category: bucket_series(counts.items(), since, until, step_seconds)
            for category, counts in minutes.items()
        }

    def account_tallies(self) -> dict[str, AccountTally]:
        """Every account's merged posts, first and last post and newest handle, by author id."""
        snapshot = self.snapshot()
        tallies: dict[str, AccountTally] = {}

        def absorb(row: Any) -> None:
            tallies.setdefault(row.author, AccountTally()).add(
                row.posts, as_utc(row.first_post), as_utc(row.last_post), row.handle
            )

        shards = range(ACCOUNT_SHARDS)
        if snapshot.slot is not None:
            for row in self._read_all(self._batch_accounts[snapshot.slot], [(s,) for s in shards]):
                absorb(row)
        speed_from = self._speed_from(snapshot)
        for row in self._read_all(self._speed_accounts, [(s, speed_from) for s in shards]):
            if snapshot.high_water is None or as_utc(row.window_start) >= snapshot.high_water:  # type: ignore[operator]
                absorb(row)
        return tallies

    def _read_all(self, statement: Any, parameters: list[tuple[Any, ...]]) -> Iterable[Any]:
        """Every row of ``statement`` run once per parameter tuple, the reads in flight together
        (one per account shard); paging continues per result set."""
        results = execute_concurrent_with_args(
            self.session,
            statement,
            parameters,
            concurrency=len(parameters),
            raise_on_first_error=True,
        )
        for _ok, rows in results:
            yield from rows

    def accounts(self, search: str = "", limit: int = 50) -> list[Account]:
        """Accounts whose handle or id holds ``search`` (any case), busiest first."""
        needle = search.casefold()
        matches = []
        for author_id, tally in self.account_tallies().items():
            # Rows written before views carried handles show the key, which was the handle.
            handle = tally.handle or author_id
            if needle in handle.casefold() or needle in author_id.casefold():
                matches.append(
                    Account(handle, tally.posts, tally.first_post, tally.last_post, author_id)
                )
        matches.sort(key=lambda account: (-account.posts, account.handle, account.author_id))
        return matches[:limit]

    def resolve(self, names: list[str]) -> list[str]:
        """The author ids that handles or ids stand for (see :func:`resolve_account`)."""
        handles = {key: tally.handle for key, tally in self.account_tallies().items()}
        return [resolve_account(name, handles) for name in names]

    # -- trending terms (pipeline/serving_terms.py) ------------------------------------------------

    def trending(
        self,
        kind: str = "all",
        at: datetime | None = None,
        params: TrendParams | None = None,
        limit: int | None = 20,
    ) -> Trending:
        """Rising terms of ``kind`` (hashtag, mention, word or all) in the window ending with the
        bucket of ``at`` (default now), scored against the baseline before it."""
        return self._terms.trending(
            self.snapshot(),
            params or self.settings.trend_params(),
            at or datetime.now(UTC),
            kind,
            limit,
        )

    def top_terms(
        self, kind: str, since: datetime, until: datetime, limit: int | None = 20
    ) -> list[TopTerm]:
        """Leaderboard of ``kind``: posts and distinct authors per term, created in the buckets
        from that of ``since`` up to ``until``."""
        return self._terms.top(
            self.snapshot(), since, until, self.settings.trend_bucket_seconds, kind, limit
        )

    def recent_alerts(self, limit: int = 20) -> list[Alert]:
        """The newest alerts, newest first, with their webhook outcomes (docs/alerts.md)."""
        return self.alerts.recent(limit)

    def pipeline_status(self, runs: int = 10) -> dict[str, object]:
        """The batch slot and high-water mark, the newest batch runs and each streaming job's
        progress, as stored (see :mod:`pipeline.serving_status`)."""
        return self._status.read(runs)
