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


# The one exception: charts drawn on the server are shown as SVG markup, which only Markdown's
# unsafe HTML can place in the page. That markup is Vega's, with every text escaped.
UNSAFE_HTML_ALLOWED = {("svg_chart.py", "draw_all")}


def unsafe_html_calls(path: Path) -> list[tuple[str, str]]:
    """(file, enclosing function or "") of every call in ``path`` that passes
    ``unsafe_allow_html``."""
    found = []

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, ast.FunctionDef):
            function = node.name
        if isinstance(node, ast.Call) and any(
            keyword.arg == "unsafe_allow_html" for keyword in node.keywords
        ):
            found.append((path.name, function))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(ast.parse(path.read_text()), "")
    return found


@pytest.mark.parametrize("path", PAGE_FILES, ids=lambda path: path.name)
def test_no_unsafe_html(path: Path) -> None:
    assert set(unsafe_html_calls(path)) <= UNSAFE_HTML_ALLOWED


def test_the_unsafe_html_rule_sees_a_call_anywhere(tmp_path: Path) -> None:
    page = tmp_path / "svg_chart.py"
    page.write_text(
        'import streamlit as st\nst.markdown("<b>x</b>", unsafe_allow_html=True)\n'
        "def draw(c):\n    c.markdown('<svg/>', unsafe_allow_html=True)\n"
        "def other(c):\n    if c:\n        c.markdown('<i/>', unsafe_allow_html=True)\n"
    )
    assert sorted(unsafe_html_calls(page)) == [
        ("svg_chart.py", ""),
        ("svg_chart.py", "draw"),
        ("svg_chart.py", "other"),
    ]


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
