"""Time windows and period-over-period changes for the Topic trends page: plain functions.

A window is the span the charts cover, ending at the newest post (a replay) or at the wall clock
(live data); the metrics compare it with the equal period just before it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

# Data counts as live when its newest post is this recent and the last hour before it holds at
# least LIVE_MIN_POSTS category posts: then the page follows the wall clock by the minute. A file
# replayed with --retime now also ends now, but its last hour is nearly empty: it is a replay.
LIVE_WITHIN = timedelta(minutes=15)
LIVE_WINDOW = timedelta(hours=1)
LIVE_MIN_POSTS = 10
DAY = 86400
# Up to 30-, 91- and 365-day steps: a replay of years (the dev file spans six) stays within
# MAX_POINTS per line; every point is drawn in the browser, which is what a page waits for.
STEPS = (60, 300, 900, 3600, 3 * 3600, 6 * 3600, DAY, 7 * DAY, 30 * DAY, 91 * DAY, 365 * DAY)
MAX_POINTS = 90


def step_for(window: timedelta) -> int:
    """The smallest round step that draws the window in at most MAX_POINTS points."""
    for step in STEPS:
        if window.total_seconds() / step <= MAX_POINTS:
            return step
    return STEPS[-1]


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime
    step: int  # seconds per point
    live: bool  # ends at the wall clock (live data) rather than at the newest post

    @property
    def length(self) -> timedelta:
        return self.until - self.since


def _aligned(end: datetime, step: int) -> datetime:
    """The end of the step-long bucket holding ``end``, so the last bucket is whole."""
    return datetime.fromtimestamp((end.timestamp() // step + 1) * step, tz=end.tzinfo)


def is_live(newest: datetime, now: datetime, last_hour_posts: Callable[[], int]) -> bool:
    """Whether the data is live. ``last_hour_posts`` is asked only when the newest post is recent:
    counting reads every topic minute (~0.1 s on the dev file's years), which history skips."""
    return now - newest <= LIVE_WITHIN and last_hour_posts() >= LIVE_MIN_POSTS


def posts_between(
    minutes: Mapping[str, Mapping[datetime, int]], since: datetime, until: datetime
) -> int:
    """Category posts (summed over categories) created in [since, until)."""
    return sum(
        count
        for per_minute in minutes.values()
        for minute, count in per_minute.items()
        if since <= minute < until
    )


def fit_window(
    oldest: datetime,
    newest: datetime,
    now: datetime,
    chosen: timedelta | None = None,
    *,
    live: bool,
) -> Window:
    """The window to draw. ``chosen`` None fits it to the data: ``live`` data shows the last hour
    in 1-minute steps, ending now; a replay shows the span from the oldest to the newest post. A
    chosen length ends at now for live data, else at the newest post.
    """
    if chosen is None:
        length = LIVE_WINDOW if live else max(newest - oldest, timedelta(minutes=1))
    else:
        length = chosen
    step = step_for(length)
    until = _aligned(now if live else newest, step)
    if chosen is None and not live:
        length = until - oldest  # the aligned end moved past the newest post: still cover all
    # Whole steps, so the previous period has exactly as many buckets as this one.
    steps = max(1, -(-int(length.total_seconds()) // step))
    return Window(until - timedelta(seconds=steps * step), until, step, live)


def change(current: int, previous: int) -> str | None:
    """The metric's delta: a percentage against the previous equal period, "new" when that
    period had nothing, None (no badge) when neither had anything."""
    if previous == 0:
        return "new" if current else None
    percent = 100 * (current - previous) / previous
    if abs(percent) < 0.5:
        return "±0%"
    return f"{percent:+.0f}%"


def human(age: timedelta) -> str:
    seconds = int(age.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400:,} days"


def window_label(length: timedelta) -> str:
    if length >= timedelta(days=2):
        return f"{length.days:,} days"
    if length >= timedelta(hours=2):
        return f"{int(length.total_seconds() // 3600)} hours"
    return f"{max(1, int(length.total_seconds() // 60))} minutes"
