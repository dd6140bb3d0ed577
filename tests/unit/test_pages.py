"""Rules for the Streamlit pages that a reader should not have to check by eye."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGE_FILES = sorted(
    [
        REPO / "streamlit_app.py",
        *(REPO / "pages").glob("*.py"),
        *(REPO / "pipeline" / "app").glob("*.py"),
    ]
)
WIDGETS = {
    "button", "download_button", "form_submit_button", "selectbox", "multiselect", "slider",
    "select_slider", "toggle", "checkbox", "radio", "text_input", "text_area", "number_input",
    "date_input", "time_input", "file_uploader", "color_picker", "segmented_control", "pills",
}  # fmt: skip


def calls(path: Path) -> list[ast.Call]:
    return [node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Call)]


@pytest.mark.parametrize("path", PAGE_FILES, ids=lambda path: path.name)
def test_every_control_has_a_key(path: Path) -> None:
    for call in calls(path):
        name = getattr(call.func, "attr", None)
        if name in WIDGETS:
            keywords = {keyword.arg for keyword in call.keywords}
            assert "key" in keywords, f"{path.name}:{call.lineno}: st.{name} without key="


@pytest.mark.parametrize("path", PAGE_FILES, ids=lambda path: path.name)
def test_no_unsafe_html(path: Path) -> None:
    for call in calls(path):
        for keyword in call.keywords:
            assert keyword.arg != "unsafe_allow_html", f"{path.name}:{call.lineno}"


def test_the_rule_sees_a_missing_key(tmp_path: Path) -> None:
    page = tmp_path / "page.py"
    page.write_text('import streamlit as st\nst.button("Go")\n')
    with pytest.raises(AssertionError, match="without key"):
        test_every_control_has_a_key(page)


def test_the_server_serves_every_page_address_of_the_navigation() -> None:
    from pipeline.app.server import PAGE_PATHS, page_html

    pages = []
    for call in calls(REPO / "streamlit_app.py"):
        if getattr(call.func, "attr", None) == "Page":
            keywords = {keyword.arg for keyword in call.keywords}
            if "default" not in keywords:
                pages.append(Path(call.args[0].value).stem)  # type: ignore[attr-defined]
    assert sorted(pages) == sorted(PAGE_PATHS)
    html = page_html()
    assert html.index("window.__streamlit") < html.index("<script type=")
