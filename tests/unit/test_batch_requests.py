"""The throttle on batch refresh requests: one pending at a time, and not too often."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.batch_requests import batch_request_refusal

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def test_a_first_request_is_filed() -> None:
    assert batch_request_refusal([], NOW, MINUTE) is None


def test_no_second_request_while_one_is_pending() -> None:
    recent = [(NOW - timedelta(hours=2), "pending")]
    assert "already waiting" in (batch_request_refusal(recent, NOW, MINUTE) or "")


def test_not_again_within_the_minimum_interval() -> None:
    recent = [(NOW - timedelta(seconds=20), "done"), (NOW - timedelta(hours=1), "done")]
    assert "try again in 41 s" in (batch_request_refusal(recent, NOW, MINUTE) or "")
    later = [(NOW - timedelta(seconds=61), "done")]
    assert batch_request_refusal(later, NOW, MINUTE) is None
