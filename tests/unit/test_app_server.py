"""The app server's warm-up: it imports what the page scripts import, read from their source."""

from pathlib import Path

from pipeline.app.server import PAGES, page_imports


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
