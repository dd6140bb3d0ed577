"""The app server's warm-up (it imports what the page scripts import, read from their source)
and the chart and table modules its pages import once loaded."""

import json
import re
from pathlib import Path

from streamlit import file_util

from pipeline.app.server import (
    IDLE_IMPORTED_COMPONENTS,
    PAGES,
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


def test_the_idle_imported_modules_are_the_named_components_build_files(tmp_path: Path) -> None:
    for name in ("Chart.abc1.js", "vega.f00.js", "Chart.abc1.js.map", "Grid.zz-9.js", "Gridx.q.js"):
        (tmp_path / name).write_text("export const a=1;", encoding="utf-8")
    assert component_modules(tmp_path, ("Grid", "Chart", "Table")) == [
        "Grid.zz-9.js",
        "Chart.abc1.js",
    ]


def test_every_page_imports_the_real_chart_and_table_modules_after_loading() -> None:
    html = page_html()
    script = re.search(r'<script type="module">addEventListener\("load".*?</script>', html)
    assert script is not None
    names = json.loads(re.search(r"(\[.*?\])\.forEach", script.group(0)).group(1))  # type: ignore[union-attr]
    js_dir = Path(file_util.get_static_dir()) / "static" / "js"
    assert [name.split(".")[0] for name in names] == list(IDLE_IMPORTED_COMPONENTS)
    assert all((js_dir / name).is_file() for name in names)
    assert html.index("window.__streamlit") < html.index("<script type=")
