"""Packaging and the Makefile: what a new user types and sees before any Python runs."""

from __future__ import annotations

import shutil
import subprocess
import tomllib

import pytest

from tests.conftest import REPO_ROOT


def test_license_is_an_spdx_string_setuptools_does_not_warn_about() -> None:
    # A TOML table ({ text = ... }) makes setuptools 77+ print a deprecation warning on every
    # install; the SPDX string needs setuptools 77 to build.
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "Apache-2.0"
    assert "setuptools>=77" in pyproject["build-system"]["requires"]


def run_command(source: str | None) -> str:
    if shutil.which("make") is None:
        pytest.fail("make is missing")
    argv = ["make", "--no-print-directory", "-n", "-W", ".venv/.installed", "run"]
    if source is not None:
        argv.append(f"SOURCE={source}")
    dry = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    (line,) = [line for line in dry.stdout.splitlines() if line.endswith("trendoff run")]
    return line


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (None, ".venv/bin/trendoff run"),
        ("", ".venv/bin/trendoff run"),
        ("bluesky", "SOURCE='--source bluesky' .venv/bin/trendoff run"),
        ("synthetic --rate 2", "SOURCE='--source synthetic --rate 2' .venv/bin/trendoff run"),
        (
            "--source csv --format ira data.csv.gz --retime now",
            "SOURCE='--source csv --format ira data.csv.gz --retime now' .venv/bin/trendoff run",
        ),
    ],
)
def test_make_run_takes_a_bare_source_name_or_produce_arguments(
    source: str | None, expected: str
) -> None:
    assert run_command(source) == expected
