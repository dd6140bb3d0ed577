"""The Pipeline page's tables: blanks, not "None"; readable UTC times."""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.app.pipeline_view import cell, jobs_table, runs_table

STARTED = datetime(2026, 11, 26, 14, 5, 9, 123000, tzinfo=UTC)


def test_a_running_batch_shows_blanks_for_what_it_does_not_know_yet() -> None:
    running = {
        "started_at": STARTED,
        "finished_at": None,
        "status": "running",
        "step": "counting words",
        "slot": None,
        "high_water": None,
        "posts_counted": None,
        "rows_written": None,
        "error": None,
    }
    (row,) = runs_table([running])
    assert row["started"] == "2026-11-26 14:05:09 UTC"
    assert [row[k] for k in ("slot", "high-water mark", "posts", "rows", "seconds", "error")] == [
        ""
    ] * 6
    assert "None" not in str(row)


def test_finished_runs_and_jobs_read_well() -> None:
    done = {
        "started_at": STARTED,
        "finished_at": datetime(2026, 11, 26, 14, 6, 0, tzinfo=UTC),
        "status": "succeeded",
        "step": "done",
        "slot": 1,
        "high_water": datetime(2026, 11, 26, 14, 5, tzinfo=UTC),
        "posts_counted": 123456,
        "rows_written": 7890,
        "error": None,
    }
    (row,) = runs_table([done])
    assert (row["posts"], row["rows"], row["seconds"], row["slot"]) == (
        "123,456",
        "7,890",
        "50.9",
        "1",
    )
    jobs = {"speed": {"partitions": 4, "max_offset_total": 1000, "newest_append_time": None,
                      "updated_at": STARTED}}  # fmt: skip
    (job,) = jobs_table(jobs, None)
    assert (job["lag"], job["newest append time"]) == ("", "")
    assert job["last progress"] == "2026-11-26 14:05:09 UTC"
    assert jobs_table(jobs, 1500)[0]["lag"] == "500"
    assert jobs_table(jobs, 1000)[0]["behind"] == "0 s"


def test_a_job_with_lag_says_how_far_behind_it_is_in_seconds() -> None:
    newest = datetime(2026, 11, 26, 14, 5, 0, tzinfo=UTC)
    jobs = {"speed": {"partitions": 4, "max_offset_total": 1000, "newest_append_time": newest,
                      "updated_at": STARTED}}  # fmt: skip
    (job,) = jobs_table(jobs, 4000, checked_at=datetime(2026, 11, 26, 14, 5, 42, tzinfo=UTC))
    assert (job["lag"], job["behind"]) == ("3,000", "42 s")
    (unknown,) = jobs_table(jobs, None, checked_at=newest)
    assert unknown["behind"] == ""
    assert cell(True) == "yes"
