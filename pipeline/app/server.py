"""The app as an ASGI application: Streamlit's own server plus one route per page.

Opened straight at a page's address (``/trends``), Streamlit's page does not know where the
server lives and first asks ``/trends/_stcore/health`` and ``/trends/_stcore/host-config``, which
answer 404 (two errors in the browser console) before it tries ``/``. These routes serve the same
page with the server's address filled in (``window.__streamlit.BACKEND_BASE_URL``), so the first
request succeeds. Run with ``streamlit run pipeline/app/server.py`` (what ``trendoff run`` does).
"""

from __future__ import annotations

import json
from pathlib import Path

import streamlit as st
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from streamlit import file_util

SCRIPT = Path(__file__).resolve().parents[2] / "streamlit_app.py"
# The url_path of every page but the default one (streamlit_app.py's st.navigation).
PAGE_PATHS = ("compare", "trends", "pipeline")
_BASE_SCRIPT = (
    "<script>window.__streamlit = {BACKEND_BASE_URL: window.location.origin + %s};</script>"
)


def page_html(base_path: str = "/") -> str:
    """Streamlit's index.html with the server's base address set before its scripts run."""
    index = (Path(file_util.get_static_dir()) / "index.html").read_text(encoding="utf-8")
    script = _BASE_SCRIPT % json.dumps(base_path)
    return index.replace("<head>", "<head>" + script, 1)


async def _page(request: Request) -> HTMLResponse:
    return HTMLResponse(page_html(), headers={"Cache-Control": "no-cache"})


app = st.App(str(SCRIPT), routes=[Route(f"/{path}", _page, methods=["GET"]) for path in PAGE_PATHS])
