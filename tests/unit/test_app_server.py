"""The app server's warm-up (it imports what the page scripts import, read from their source)
and the modules its pages preload."""

import re
from pathlib import Path

from streamlit import file_util

from pipeline.app.server import (
    PAGES,
    PRELOADED_COMPONENTS,
    component_modules,
    page_html,
    page_imports,
)


def test_the_warm_up_covers_every_module_the_real_pages_import() -> None:
    names = page_imports(PAGES)
    for module in ("pipeline.app.loaders", "pipeline.app.trending", "pipeline.app.charts"):
        assert module in names
    assert "pipeline.app.loaders.serving" not in names  # a function, not a module


def test_names_imported_from_a_package_count_only_when_they_are_modules(tmp_path: Path) -> None:
    (tmp_path / "one.py").write_text(
        "import json\nfrom pipeline.app import loaders\nfrom pipeline.serving import Serving\n"
        "from . import local\n",
        encoding="utf-8",
    )
    assert page_imports(tmp_path) == [
        "json",
        "pipeline.app",
        "pipeline.app.loaders",
        "pipeline.serving",
    ]


def test_the_preloaded_modules_are_the_components_and_all_they_import(tmp_path: Path) -> None:
    (tmp_path / "Chart.abc1.js").write_text(
        'import{a as b}from"./vega.f00.js";import"./style.x-y.js";', encoding="utf-8"
    )
    (tmp_path / "vega.f00.js").write_text('import{c}from"./Chart.abc1.js";', encoding="utf-8")
    (tmp_path / "style.x-y.js").write_text("export const s=1;", encoding="utf-8")
    (tmp_path / "Chart.abc1.js.map").write_text("{}", encoding="utf-8")
    (tmp_path / "Unused.zzz9.js").write_text("export const u=1;", encoding="utf-8")
    assert component_modules(tmp_path, ("Chart", "Grid")) == [
        "Chart.abc1.js",
        "style.x-y.js",
        "vega.f00.js",
    ]


def test_every_page_preloads_the_real_chart_and_table_modules_once() -> None:
    html = page_html()
    links = re.findall(r'<link rel="modulepreload" crossorigin href="\./static/js/([^"]+)">', html)
    js_dir = Path(file_util.get_static_dir()) / "static" / "js"
    for component in PRELOADED_COMPONENTS:
        assert any(name.startswith(f"{component}.") for name in links), component
    assert any(name.startswith("embed.") for name in links)  # Vega, imported by the chart
    assert len(links) == len(set(links))
    assert all((js_dir / name).is_file() for name in links)
