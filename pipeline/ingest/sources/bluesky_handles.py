"""Bluesky handles for DIDs: learned from identity events, looked up in batches otherwise.

Accounts are keyed by DID (a post's ``author_id``); the handle is what people read. The cache is
bounded (least recently used out first). Unknown DIDs are resolved through the public AppView's
``app.bsky.actor.getProfiles`` (at most 25 actors a call), no faster than ``min_interval`` apart
and with a timeout; when that fails, the DID stands in for the handle and the DID is not asked
about again for ``retry_after`` seconds.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import requests

logger = logging.getLogger(__name__)

DEFAULT_APPVIEW_URL = "https://public.api.bsky.app"
PROFILES_PATH = "/xrpc/app.bsky.actor.getProfiles"
MAX_ACTORS_PER_CALL = 25  # the endpoint's limit
CACHE_SIZE = 200_000
RETRY_AFTER_SECONDS = 600.0


class HandleCache:
    """DID -> handle, at most ``size`` entries."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._handles: OrderedDict[str, str] = OrderedDict()

    def get(self, did: str) -> str | None:
        handle = self._handles.get(did)
        if handle is not None:
            self._handles.move_to_end(did)
        return handle

    def put(self, did: str, handle: str) -> None:
        self._handles[did] = handle
        self._handles.move_to_end(did)
        while len(self._handles) > self.size:
            self._handles.popitem(last=False)

    def __len__(self) -> int:
        return len(self._handles)


Fetch = Callable[[Sequence[str]], dict[str, str]]


class AppViewResolver:
    """Resolves DIDs to handles through ``getProfiles``; never raises for a failed lookup."""

    def __init__(
        self,
        base_url: str = DEFAULT_APPVIEW_URL,
        *,
        timeout: float = 5.0,
        min_interval: float = 0.2,
        retry_after: float = RETRY_AFTER_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.min_interval = min_interval
        self.retry_after = retry_after
        self._clock = clock
        self._sleep = sleep
        self._last_call = -float("inf")
        self._failed_until: OrderedDict[str, float] = OrderedDict()
        self._session = requests.Session()
        self.calls = 0
        self.failures = 0

    def gave_up_on(self, did: str) -> bool:
        """True while a DID whose lookup failed is not asked about again."""
        return self._failed_until.get(did, 0.0) > self._clock()

    def resolve(self, dids: Iterable[str]) -> dict[str, str]:
        """Handles of the DIDs the AppView knows; DIDs it does not answer for are left out."""
        now = self._clock()
        wanted = [did for did in dict.fromkeys(dids) if self._failed_until.get(did, 0.0) <= now]
        found: dict[str, str] = {}
        for start in range(0, len(wanted), MAX_ACTORS_PER_CALL):
            batch = wanted[start : start + MAX_ACTORS_PER_CALL]
            answered = self._call(batch)
            found.update(answered)
            for did in batch:
                if did not in answered:
                    self._remember_failure(did)
        return found

    def _call(self, batch: Sequence[str]) -> dict[str, str]:
        wait = self._last_call + self.min_interval - self._clock()
        if wait > 0:
            self._sleep(wait)
        self._last_call = self._clock()
        self.calls += 1
        try:
            response = self._session.get(
                self.base_url + PROFILES_PATH,
                params=[("actors", did) for did in batch],
                timeout=self.timeout,
            )
            response.raise_for_status()
            return handles_from_profiles(response.json())
        except (requests.RequestException, ValueError) as exc:
            self.failures += 1
            logger.warning(
                "handle lookup of %d accounts failed (%s); their DIDs stand in", len(batch), exc
            )
            return {}

    def _remember_failure(self, did: str) -> None:
        self._failed_until[did] = self._clock() + self.retry_after
        self._failed_until.move_to_end(did)
        while len(self._failed_until) > CACHE_SIZE:
            self._failed_until.popitem(last=False)

    def close(self) -> None:
        self._session.close()


def handles_from_profiles(answer: Any) -> dict[str, str]:
    """DID -> handle from a ``getProfiles`` answer; entries without both are ignored. The AppView
    answers ``handle.invalid`` for an account whose handle does not verify: no handle then."""
    profiles = answer.get("profiles") if isinstance(answer, dict) else None
    found: dict[str, str] = {}
    for profile in profiles if isinstance(profiles, list) else []:
        if not isinstance(profile, dict):
            continue
        did, handle = profile.get("did"), profile.get("handle")
        if (
            isinstance(did, str)
            and isinstance(handle, str)
            and handle
            and handle != "handle.invalid"
            and handle.isascii()  # handles are DNS names: anything else is not one
        ):
            found[did] = handle
    return found
