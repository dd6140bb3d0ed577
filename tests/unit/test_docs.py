from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.docs import END, START, render_into, settings_table
from pipeline.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_configuration_table_matches_the_settings_class() -> None:
    text = README.read_text(encoding="utf-8")
    assert render_into(text) == text, "README's settings table is stale: run `make docs`"


def test_every_setting_has_a_row_and_a_description() -> None:
    table = settings_table()
    for name, field in Settings.model_fields.items():
        assert f"`TRENDOFF_{name.upper()}`" in table
        assert field.description, f"setting {name} has no description"


def test_secrets_have_no_default_shown() -> None:
    rows = {line.split("|")[1].strip(): line for line in settings_table().splitlines()[2:]}
    assert "| unset |" in rows["`TRENDOFF_CASSANDRA_PASSWORD`"]


def test_render_needs_both_markers() -> None:
    with pytest.raises(ValueError, match="markers"):
        render_into(f"no end marker {START}")
    assert render_into(f"a {START} stale {END} b").startswith(f"a {START}\n| variable")
