"""Small pieces every ``trendoff`` subcommand module shares."""

from __future__ import annotations

import argparse
import json
import sys


def emit_json(payload: object) -> None:
    """A command's ``--json`` output: one indented document on stdout."""
    json.dump(payload, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value
