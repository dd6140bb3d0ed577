"""The app as an ASGI application: Streamlit's own server plus one route per page.

Opened straight at a page's address (``/trends``), Streamlit's page does not know where the
server lives and first asks ``/trends/_stcore/health`` and ``/trends/_stcore/host-config``, which
answer 404 (two errors in the browser console) before it tries ``/``. These routes serve the same
page with the server's address filled in (``window.__streamlit.BACKEND_BASE_URL``), so the first
request succeeds. As it starts, the server imports what the page scripts import and starts the
chart renderer (:func:`warm_up`). Run with
``streamlit run pipeline/app/server.py`` (what ``trendoff run`` does)."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path

import streamlit as st
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from streamlit import file_util
from streamlit.runtime.pages_manager import PagesManager

from pipeline.app import svg_chart

SCRIPT = Path(__file__).resolve().parents[2] / "streamlit_app.py"
# The url_path of every page but the default one (streamlit_app.py's st.navigation).
PAGE_PATHS = ("compare", "trends", "pipeline")
PAGES = SCRIPT.parent / "pages"
log = logging.getLogger(__name__)
_BASE_SCRIPT = (
    "<script>window.__streamlit = {BACKEND_BASE_URL: window.location.origin + %s};</script>"
)


@cache
def page_html(base_path: str = "/") -> str:
    """Streamlit's index.html with the server's base address set before its scripts run."""
    index = (Path(file_util.get_static_dir()) / "index.html").read_text(encoding="utf-8")
    return index.replace("<head>", "<head>" + _BASE_SCRIPT % json.dumps(base_path), 1)


async def _page(request: Request) -> HTMLResponse:
    return HTMLResponse(page_html(), headers={"Cache-Control": "no-cache"})


def page_imports(pages: Path) -> list[str]:
    """Every module the page scripts import, read from their source (``from pipeline.app import
    loaders`` names the module ``pipeline.app.loaders``), in a stable order."""
    names: set[str] = set()
    for script in sorted(pages.glob("*.py")):
        for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(
                    f"{node.module}.{alias.name}"
                    for alias in node.names
                    if _is_module(f"{node.module}.{alias.name}")
                )
    return sorted(names)


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # the parent is not a package: the name is a function or class
        return False


def warm_up() -> None:
    """Import what the pages import (~1.7 s here: Altair, pandas, the Cassandra driver) and
    start the chart renderer (~0.8 s), so the first visit after a start costs what every later
    one does. Opening the serving connection takes ~0.1 s and needs a script run's context: left
    to the page. A failure is left for the first page to report; the log only notes it."""
    try:
        for name in page_imports(PAGES):
            importlib.import_module(name)
        svg_chart.warm_up()
    except Exception as error:  # noqa: BLE001 - the first page shows the real error
        log.info("app warm-up stopped early: %s", error)


@asynccontextmanager
async def _warm_lifespan(_app: object) -> AsyncIterator[None]:
    # A thread, so the server answers its first requests while the imports run.
    threading.Thread(target=warm_up, name="trendoff-warm-up", daemon=True).start()
    yield


# Streamlit runs a script beside a pages/ folder the old multipage way (each file a page of its
# own, named after the file) until some visit has run st.navigation: the first visitors of a
# freshly started app who open a page's own address saw "streamlit app", "compare", … in the
# sidebar and the page without the app's settings. Every page of this app comes from
# streamlit_app.py's st.navigation, so the old way is off from the start.
PagesManager.uses_pages_directory = False

app = st.App(
    str(SCRIPT),
    lifespan=_warm_lifespan,
    routes=[Route(f"/{path}", _page, methods=["GET"]) for path in ("", *PAGE_PATHS)],
)
