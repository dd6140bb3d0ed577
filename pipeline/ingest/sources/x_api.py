"""Live X API v2 sources through tweepy: the filtered stream and a timeline backfill.

Both ask for the tweet fields and the author expansion that :mod:`.jsonl` reads, and convert every
response with the same code as recorded responses, so a live post and a replayed one are the same
post (source label ``x``), and a malformed tweet is a :class:`~pipeline.ingest.model.Rejected`
record, never a crash.

``x-stream`` first makes the stream's rules match the topic lexicon: its terms (multi-word terms
quoted) packed into as few OR-rules of at most 512 characters as they fit in, tagged
``trendoff``. Rules of ours that are already there are kept, stale ones of ours deleted, rules of
other tags left alone, so a restart with the same lexicon changes nothing. tweepy reconnects a
dropped stream itself; the stream runs until Ctrl-C.

``x-timeline`` looks the named accounts up and pages through each one's recent tweets (the API
serves the latest 3,200), waiting out rate limits.

Both talk to ``https://api.twitter.com`` unless given another ``base_url``, for a server that
answers like the v2 endpoints (the tests run one on 127.0.0.1).
"""

from __future__ import annotations

import json
import logging
import queue
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import tweepy
from pydantic import SecretStr

from pipeline.errors import TrendoffError
from pipeline.ingest.model import Post, Rejected
from pipeline.ingest.sources import Source
from pipeline.ingest.sources.jsonl import records_from_line, records_from_response
from pipeline.ingest.sources.x_http import (
    DEFAULT_BASE_URL,
    api_errors,
    hide_in_tweepy_logs,
    use_base_url,
)
from pipeline.ingest.sources.x_rules import RuleSync, pack_rules, rule_keywords, sync_rules
from pipeline.settings import Settings
from pipeline.text import Lexicon, load_lexicon

logger = logging.getLogger(__name__)

X_SOURCE_KINDS = ("x-stream", "x-timeline")

# What jsonl.post_from_tweet reads; id, text and the user's id, username and name always come.
TWEET_FIELDS = ["author_id", "created_at", "lang", "public_metrics", "referenced_tweets"]
USER_FIELDS = ["location", "public_metrics"]
EXPANSIONS = ["author_id"]

_USERNAME = re.compile(r"[A-Za-z0-9_]{1,15}")
_USERS_PER_LOOKUP = 100  # the most /2/users/by accepts at once
_TWEETS_PER_PAGE = 100  # the most a timeline page holds
# records() wakes this often while the stream is quiet, to notice a stream thread that died.
_WAKE_SECONDS = 1.0
# The stream thread notices a disconnect only after its next line; X sends a keep-alive every
# 20 s, so waiting longer for it on the way out would only delay Ctrl-C. It is a daemon thread.
_STOP_WAIT_SECONDS = 2.0


def open_x_source(kind: str, settings: Settings, *, users: str = "") -> Source:
    """The live source ``kind`` (``x-stream`` or ``x-timeline``); ``users`` are comma-separated
    usernames, for ``x-timeline`` only."""
    if kind not in X_SOURCE_KINDS:
        raise ValueError(f"unknown X source {kind!r}; X sources are {', '.join(X_SOURCE_KINDS)}")
    if not settings.x_bearer_token:  # unset, or set to an empty string
        raise TrendoffError(
            f"--source {kind} needs an X API bearer token", hint="set TRENDOFF_X_BEARER_TOKEN"
        )
    usernames = parse_usernames(users)
    if kind == "x-timeline":
        if not usernames:
            raise TrendoffError(
                "--source x-timeline needs the accounts to backfill",
                hint="name them with --users name1,name2",
            )
        return XTimelineSource(settings.x_bearer_token, usernames)
    if usernames:
        raise TrendoffError(
            "--users applies to --source x-timeline only",
            hint="x-stream follows the topic lexicon (TRENDOFF_LEXICON_PATH)",
        )
    return XStreamSource(settings.x_bearer_token, load_lexicon(settings.lexicon_path))


def parse_usernames(users: str) -> list[str]:
    """Usernames from ``a,@b, c``: stripped of spaces and ``@``, each once (X ignores case)."""
    names: dict[str, str] = {}
    for part in users.split(","):
        name = part.strip().removeprefix("@")
        if name:
            names.setdefault(name.lower(), name)
    invalid = [name for name in names.values() if not _USERNAME.fullmatch(name)]
    if invalid:
        raise TrendoffError(
            f"not X usernames: {', '.join(invalid)}",
            hint="a username is 1 to 15 letters, digits or underscores",
        )
    return list(names.values())


class XTimelineSource:
    """The recent tweets of named accounts, one account after another, page by page."""

    name = "x-timeline"

    def __init__(
        self, bearer_token: SecretStr, usernames: Sequence[str], *, base_url: str = DEFAULT_BASE_URL
    ) -> None:
        self._bearer_token = bearer_token
        self.usernames = list(usernames)
        self.base_url = base_url

    def records(self) -> Iterator[Post | Rejected]:
        hide_in_tweepy_logs(self._bearer_token)
        client = tweepy.Client(
            bearer_token=self._bearer_token.get_secret_value(),
            return_type=dict,
            wait_on_rate_limit=True,
        )
        use_base_url(client.session, self.base_url)
        for user_id, username in self._look_up(client):
            yield from self._timeline(client, user_id, username)

    def _look_up(self, client: Any) -> list[tuple[str, str]]:
        found: dict[str, tuple[str, str]] = {}
        for start in range(0, len(self.usernames), _USERS_PER_LOOKUP):
            batch = self.usernames[start : start + _USERS_PER_LOOKUP]
            with api_errors("looking up users"):
                response = client.get_users(usernames=batch)
            for user in response.get("data") or []:
                if isinstance(user, dict) and "id" in user and "username" in user:
                    found[str(user["username"]).lower()] = (str(user["id"]), str(user["username"]))
            for error in response.get("errors") or []:
                if isinstance(error, dict):
                    logger.warning("X has no user %s: %s", error.get("value"), error.get("detail"))
        if not found:
            raise TrendoffError(
                f"none of the users {', '.join(self.usernames)} exists on X",
                hint="check the names given to --users",
            )
        # The order asked for, not the order the API answered in.
        return [found[name.lower()] for name in self.usernames if name.lower() in found]

    def _timeline(self, client: Any, user_id: str, username: str) -> Iterator[Post | Rejected]:
        pages = tweepy.Paginator(
            client.get_users_tweets,
            user_id,
            max_results=_TWEETS_PER_PAGE,
            tweet_fields=TWEET_FIELDS,
            expansions=EXPANSIONS,
            user_fields=USER_FIELDS,
        )
        page_number = 0
        with api_errors(f"reading the timeline of {username}"):
            for page in pages:
                page_number += 1
                position = f"x-timeline:{username}:page {page_number}"
                # A timeline with no (more) tweets answers with meta only: nothing to reject.
                if isinstance(page, dict) and "data" not in page:
                    if page.get("errors"):
                        logger.warning("%s: %s", position, json.dumps(page["errors"])[:300])
                    continue
                yield from records_from_response(page, position)
        logger.info("x-timeline: %s read, %d pages", username, page_number)


class XStreamSource:
    """Tweets from the filtered stream, as they come, matching the topic lexicon's terms."""

    name = "x-stream"

    def __init__(
        self, bearer_token: SecretStr, lexicon: Lexicon, *, base_url: str = DEFAULT_BASE_URL
    ) -> None:
        self._bearer_token = bearer_token
        self.lexicon = lexicon
        self.base_url = base_url
        self.rules = pack_rules(rule_keywords(lexicon))

    def sync_rules(self) -> RuleSync:
        """Make the stream's rules of our tag exactly :attr:`rules`."""
        return self._sync_rules(self._client(queue.Queue()))

    def records(self) -> Iterator[Post | Rejected]:
        lines: queue.Queue[bytes | _StreamEnd] = queue.Queue()
        client = self._client(lines)
        self._sync_rules(client)
        thread = client.filter(
            threaded=True,
            tweet_fields=TWEET_FIELDS,
            expansions=EXPANSIONS,
            user_fields=USER_FIELDS,
        )
        line_number = 0
        try:
            while True:
                # A timeout, not a plain get(): some platforms do not interrupt a blocked lock
                # acquire on Ctrl-C, and a thread that died without a word must not hang us.
                try:
                    item = lines.get(timeout=_WAKE_SECONDS)
                except queue.Empty:
                    if thread.is_alive():
                        continue
                    item = _StreamEnd()
                if isinstance(item, _StreamEnd):
                    if item.error:
                        raise item.error
                    logger.info("x-stream: the stream ended after %d lines", line_number)
                    return
                line_number += 1
                yield from records_from_line(item, f"x-stream:{line_number}")
        finally:
            # Runs on Ctrl-C and when the consumer stops early (a --limit), so the connection
            # closes and the KeyboardInterrupt reaches the producer, which flushes.
            client.disconnect()
            thread.join(_STOP_WAIT_SECONDS)

    def _client(self, lines: queue.Queue[bytes | _StreamEnd]) -> _QueueingStreamingClient:
        hide_in_tweepy_logs(self._bearer_token)
        client = _QueueingStreamingClient(self._bearer_token.get_secret_value(), lines)
        use_base_url(client.session, self.base_url)
        return client

    def _sync_rules(self, client: Any) -> RuleSync:
        with api_errors("syncing the filtered stream's rules"):
            done = sync_rules(client, self.rules)
        logger.info(
            "x-stream rules: %d kept, %d added, %d deleted",
            len(done.kept),
            len(done.added),
            len(done.deleted),
        )
        return done


@dataclass(frozen=True)
class _StreamEnd:
    error: TrendoffError | None = None


class _QueueingStreamingClient(tweepy.StreamingClient):  # type: ignore[misc]  # tweepy is untyped
    """Puts each raw stream line on a queue for the consumer's thread to convert, and a
    :class:`_StreamEnd` when the stream thread stops."""

    def __init__(self, bearer_token: str, lines: queue.Queue[bytes | _StreamEnd]) -> None:
        super().__init__(bearer_token, return_type=dict, wait_on_rate_limit=True, daemon=True)
        self.lines = lines
        self.fatal: TrendoffError | None = None

    def on_data(self, raw_data: bytes) -> None:
        # Not tweepy's on_data: it parses with json.loads and a line that is not JSON would end
        # the stream; the shared conversion rejects such a line instead.
        self.lines.put(raw_data)

    def on_request_error(self, status_code: int) -> None:
        super().on_request_error(status_code)
        if status_code in (401, 403):
            # tweepy retries every refusal with back-off, forever; no retry fixes a refused token.
            self.fatal = TrendoffError(
                f"the X API refused the filtered stream (HTTP {status_code})",
                hint="check TRENDOFF_X_BEARER_TOKEN and the stream access of its app",
            )
            self.disconnect()

    def on_exception(self, exception: Exception) -> None:
        super().on_exception(exception)
        self.fatal = TrendoffError(
            f"the filtered stream failed: {type(exception).__name__}: {exception}"
        )

    def on_disconnect(self) -> None:
        super().on_disconnect()
        self.lines.put(_StreamEnd(self.fatal))
