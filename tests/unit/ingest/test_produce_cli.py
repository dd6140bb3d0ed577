"""`trendoff produce` reports failed sends in its summary and its exit status."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.cli import build_parser
from pipeline.cli_produce import cmd_produce
from pipeline.ingest import producer
from pipeline.ingest.report import ProduceSummary
from pipeline.settings import Settings
from tests.unit.ingest.conftest import IRA_HEADER, csv_bytes, ira_row


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        ({}, 0),
        ({"failed_posts": 3, "failures": ["post: MessageSizeTooLargeError"]}, 1),
        ({"failed_dead_letters": 1}, 1),
        ({"stopped": "Kafka did not take a record within 30 s"}, 1),
        ({"interrupted": True, "failed_posts": 1}, 130),
    ],
)
def test_failed_sends_set_the_exit_status_and_appear_in_the_json_summary(
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    outcome: dict[str, object],
    status: int,
) -> None:
    path = tmp_path / "posts.csv"
    path.write_bytes(csv_bytes(IRA_HEADER, [ira_row()]))

    def fake_produce(settings: Settings, records: object, **_: object) -> ProduceSummary:
        # Kafka is not the subject here (tests/integration/test_producer_failures.py is): only
        # how the command turns a summary into output and an exit status.
        summary = ProduceSummary(read=4, produced=4 - int(outcome.get("failed_posts", 0)))  # type: ignore[call-overload]
        for name, value in outcome.items():
            setattr(summary, name, value)
        return summary

    monkeypatch.setattr(producer, "produce", fake_produce)
    args = build_parser().parse_args(["produce", "--source", "csv", str(path), "--json"])
    assert cmd_produce(args, make_settings()) == status
    printed = json.loads(capsys.readouterr().out)
    assert {"failed", "failed_posts", "failed_dead_letters", "failures", "stopped"} <= set(printed)
    assert printed["failed"] == int(outcome.get("failed_posts", 0)) + int(  # type: ignore[call-overload]
        outcome.get("failed_dead_letters", 0)  # type: ignore[call-overload]
    )
