"""Windows and changes of the Topic trends page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.app.periods import (
    MAX_POINTS,
    change,
    fit_window,
    is_live,
    posts_between,
    step_for,
    window_label,
)

NOW = datetime(2030, 6, 1, 12, 0, 30, tzinfo=UTC)


def test_live_data_fits_the_last_hour_in_one_minute_steps_ending_now() -> None:
    window = fit_window(NOW - timedelta(days=3), NOW - timedelta(seconds=20), NOW, live=True)
    assert window.live
    assert window.step == 60
    assert window.until == datetime(2030, 6, 1, 12, 1, tzinfo=UTC)
    assert window.length == timedelta(hours=1)


def test_a_replay_fits_its_whole_span_ending_at_the_newest_post() -> None:
    oldest, newest = NOW - timedelta(days=400), NOW - timedelta(days=2)
    window = fit_window(oldest, newest, NOW, live=False)
    assert not window.live
    assert window.since <= oldest and window.until > newest
    assert window.length <= timedelta(days=398) + 2 * timedelta(seconds=window.step)
    assert window.length.total_seconds() / window.step <= 90


def test_a_chosen_window_has_whole_steps_and_ends_at_the_newest_post() -> None:
    newest = NOW - timedelta(days=2, minutes=7)
    window = fit_window(NOW - timedelta(days=30), newest, NOW, timedelta(hours=6), live=False)
    assert window.step == 300
    assert window.length == timedelta(hours=6)
    assert window.until - timedelta(seconds=300) <= newest < window.until


def test_steps_stay_round_and_few() -> None:
    assert step_for(timedelta(hours=1)) == 60
    assert step_for(timedelta(days=30)) == 86400
    assert step_for(timedelta(days=365)) == 7 * 86400
    assert step_for(timedelta(days=6 * 365)) == 30 * 86400
    assert step_for(timedelta(days=3650)) == 91 * 86400


@pytest.mark.parametrize("days", [1, 7, 90, 400, 2310, 3650, 10950])
def test_a_window_of_any_length_is_drawn_in_at_most_max_points(days: int) -> None:
    window = fit_window(NOW - timedelta(days=days), NOW, NOW, live=False)
    assert window.length.total_seconds() / window.step <= MAX_POINTS + 1


@pytest.mark.parametrize(
    ("current", "previous", "shown"),
    [(70, 0, "new"), (0, 0, None), (150, 100, "+50%"), (25, 100, "-75%"), (100, 100, "±0%")],
)
def test_change_against_the_previous_period(current: int, previous: int, shown: str) -> None:
    assert change(current, previous) == shown


def test_window_labels() -> None:
    assert window_label(timedelta(days=365)) == "365 days"
    assert window_label(timedelta(hours=6)) == "6 hours"
    assert window_label(timedelta(hours=1)) == "60 minutes"


def test_a_retimed_replay_ends_now_but_is_not_live() -> None:
    newest = NOW - timedelta(minutes=2)
    minutes = {
        "coffee": {newest.replace(second=0): 2, NOW - timedelta(days=40): 500},
        "tea": {NOW - timedelta(minutes=30): 3, NOW - timedelta(days=3): 100},
    }
    last_hour = posts_between(minutes, newest - timedelta(hours=1), newest + timedelta(minutes=1))
    assert last_hour == 5
    assert not is_live(newest, NOW, lambda: last_hour)
    assert is_live(newest, NOW, lambda: 10)
    assert not is_live(NOW - timedelta(hours=1), NOW, lambda: 1000)


def test_history_is_not_live_without_counting_its_last_hour() -> None:
    counted = []

    def last_hour_posts() -> int:
        counted.append(True)
        return 1000

    assert is_live(NOW - timedelta(minutes=15), NOW, last_hour_posts)
    assert counted == [True]
    assert not is_live(NOW - timedelta(minutes=16), NOW, last_hour_posts)
    assert counted == [True]  # not asked: the newest post is too old to be live
