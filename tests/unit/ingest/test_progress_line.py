"""The producer's progress display: redrawn on a terminal, logged now and then elsewhere."""

from __future__ import annotations

import io
import logging

import pytest

from pipeline.ingest.report import ProduceSummary, ProgressLine


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def summary(read: int, produced: int) -> ProduceSummary:
    done = ProduceSummary()
    done.read, done.produced = read, produced
    return done


def test_on_a_terminal_the_line_is_redrawn_and_ends_with_a_newline() -> None:
    terminal = Terminal()
    progress = ProgressLine(terminal, every_seconds=0)
    progress.update(summary(1500, 1200), started=0.0)
    progress.update(summary(3000, 3000), started=0.0, final=True)
    assert terminal.getvalue().startswith("\rread 1,500  produced 1,200  rejected 0")
    assert "\rread 3,000  produced 3,000" in terminal.getvalue()
    assert terminal.getvalue().endswith("\n")


def test_off_a_terminal_progress_goes_to_the_log_not_the_stream(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stream = io.StringIO()
    progress = ProgressLine(stream, every_seconds=0)
    with caplog.at_level(logging.INFO, logger="pipeline.ingest.report"):
        progress.update(summary(9000, 8990), started=0.0)
        progress.update(summary(9000, 9000), started=0.0, final=True)
    assert stream.getvalue() == ""
    lines = [record.getMessage() for record in caplog.records]
    # One line while sending; the final summary is the caller's to print.
    assert len(lines) == 1 and lines[0].startswith("progress: read 9,000  produced 8,990")


def test_off_a_terminal_lines_are_spaced_out() -> None:
    progress = ProgressLine(io.StringIO())
    assert progress.every == ProgressLine.LOGGED_EVERY_SECONDS
    assert ProgressLine(Terminal()).every == 0.5
