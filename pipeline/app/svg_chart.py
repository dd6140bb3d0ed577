"""Altair charts drawn on the server: the chart's Vega-Lite spec rendered to SVG by vl-convert
(Vega itself, in an embedded JavaScript engine) and placed in the page as markup.

Why not ``st.altair_chart``: it makes every visitor's browser fetch Vega's code (~0.8 MB) when
the first chart arrives, then compile it before drawing. With every part of ``trendoff run`` on
two cores that was 1.2-1.5 s of a chart page's 3-4 s (BENCHMARKS.md, "App"); rendered here a
chart costs 0.03-0.15 s once the engine has started. Hovering a mark still shows its values:
Vega-Lite labels each mark for screen readers (``aria-label``) with the chart's ``description``
field (pipeline/app/charts.py writes it), and :func:`with_hover_titles` repeats that label as the
mark's SVG ``<title>``, which browsers show on hover. What is given up: Vega's action menu
(save as PNG, view source).

Vega runs in renderer processes (pipeline/app/chart_renderer.py), not in the app's: vl-convert
holds the GIL while it draws (0.1-0.3 s a chart with every part running), which would stall
everything else the app's process does meanwhile, including serving the page's scripts to the
browser.

The SVG is shown with ``st.markdown(unsafe_allow_html=True)`` because ``st.html`` sanitises with
an HTML-only profile that drops inline ``<svg>``. Text from posts (words, terms, handles) only
ever reaches it escaped: Vega escapes every text it writes, and this module the titles it adds.
"""

from __future__ import annotations

import html
import json
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple  # altair has no type information for mypy

from pipeline.app.chart_renderer import WARM_UP_SPEC

CHART_CLASS = "trendoff-chart"
# What a chart across the page is drawn at, in pixels: about the wide layout's content width
# in a 1300-pixel window. Charts are then scaled to their container's width.
FULL_WIDTH = 800
# A self-closing element with only quoted attributes. Vega escapes `"` and `&` in attribute
# values but not `<` or `>`, so a value is matched up to its closing quote, not up to `>`.
_SELF_CLOSING = re.compile(r'<([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"]*")*)\s*/>')
_ATTRIBUTE = re.compile(r'([\w:-]+)="([^"]*)"')
_SVG_OPEN = re.compile(r"<svg\b[^>]*>")
_SIZE_AND_CLASS = re.compile(r'\s(width|height|class)="[^"]*"')
# Every chart: the app's font, no background (the page's shows through), no action menu.
_CONFIG = {
    "background": None,
    "font": "sans-serif",
    "title": {"fontSize": 15, "anchor": "start", "offset": 12},
    "axis": {"labelFontSize": 12, "titleFontSize": 12, "titleFontWeight": "normal"},
    "legend": {"labelFontSize": 12},
    "view": {"stroke": None},
}


def with_hover_titles(svg: str) -> str:
    """``svg`` with each mark's ``aria-label`` repeated as its ``<title>`` (the browser's hover
    text). Marks are the elements Vega gives ``role="graphics-symbol"``; nothing else changes."""

    def titled(match: re.Match[str]) -> str:
        tag, attributes = match.group(1), match.group(2)
        values = dict(_ATTRIBUTE.findall(attributes))
        label = values.get("aria-label")
        if values.get("role") != "graphics-symbol" or not label:
            return match.group(0)
        text = html.escape(html.unescape(label), quote=False)
        return f"<{tag}{attributes}><title>{text}</title></{tag}>"

    return _SELF_CLOSING.sub(titled, svg)


def fluid(svg: str) -> str:
    """``svg`` scaled to its container's width (its ``viewBox`` keeps the proportions) instead
    of the fixed pixel size it was drawn at."""
    match = _SVG_OPEN.search(svg)
    if match is None:
        raise ValueError("not an SVG document")
    opening = _SIZE_AND_CLASS.sub("", match.group(0))
    opening = opening[:-1] + f' class="marks {CHART_CLASS}" style="width:100%;height:auto">'
    return svg[: match.start()] + opening + svg[match.end() :]


def chart_spec(chart: Any, width: int, height: int | None = None) -> dict[str, Any]:
    """The chart's Vega-Lite spec drawn ``width`` pixels wide overall (axes and legend inside),
    with the app's look; ``height`` is the plot's, Vega-Lite's default when not given."""
    sized = chart.properties(width=width, autosize={"type": "fit-x", "contains": "padding"})
    if height is not None:
        sized = sized.properties(height=height)
    spec: dict[str, Any] = sized.to_dict()
    spec["config"] = {**_CONFIG, **spec.get("config", {})}
    return spec


# Renderer processes (pipeline/app/chart_renderer.py): two, so a page's charts and a second
# visitor's are drawn side by side.
RENDERERS = 2
_RENDERER_PROGRAM = Path(__file__).with_name("chart_renderer.py")


class RenderError(RuntimeError):
    """A chart could not be drawn; the message says why."""


class _RendererGone(RenderError):
    pass


class _Renderer:
    """One renderer process and the pipes to it; used by one thread at a time."""

    def __init__(self) -> None:
        # Its standard error is the app's: what it reports lands in the app's log.
        self._process = subprocess.Popen(
            [sys.executable, str(_RENDERER_PROGRAM)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="ascii",
        )

    def draw(self, spec: str) -> str:
        requests, replies = self._process.stdin, self._process.stdout
        assert requests is not None and replies is not None
        try:
            requests.write(spec + "\n")
            requests.flush()
            reply = replies.readline()
        except OSError:  # a broken pipe: the process is gone
            reply = ""
        if not reply:
            raise _RendererGone(f"the chart renderer exited ({self._process.poll()}): see the log")
        answer = json.loads(reply)
        if "error" in answer:
            raise RenderError(answer["error"])
        svg: str = answer["svg"]
        return svg

    def stop(self) -> None:
        self._process.kill()
        self._process.wait()


_idle: queue.SimpleQueue[_Renderer] = queue.SimpleQueue()
_started = 0
_starting = threading.Lock()


def _take() -> _Renderer:
    """An idle renderer, a new one while fewer than RENDERERS run, else the next to be done."""
    global _started
    with _starting:
        try:
            return _idle.get_nowait()
        except queue.Empty:
            if _started < RENDERERS:
                _started += 1
                return _Renderer()
    return _idle.get()


@lru_cache(maxsize=64)
def _render(spec: str) -> str:
    renderer = _take()
    try:
        try:
            svg = renderer.draw(spec)
        except _RendererGone:
            # Killed, or out of memory: replaced, and the chart tried once more.
            renderer.stop()
            renderer = _Renderer()
            svg = renderer.draw(spec)
    finally:
        _idle.put(renderer)  # even a dead one: whoever takes it next replaces it
    return fluid(with_hover_titles(svg))


def spec_json(chart: Any, width: int, height: int | None = None) -> str:
    """:func:`chart_spec` as the text renderers are given and drawings are cached by."""
    return json.dumps(chart_spec(chart, width, height), sort_keys=True, default=str)


def chart_svg(chart: Any, width: int, height: int | None = None) -> str:
    """The chart as SVG markup ready for the page. The same chart over the same data (a page
    refreshed within its loaders' cache time, a second visitor) is drawn once."""
    return _render(spec_json(chart, width, height))


def warm_up() -> None:
    """Start the renderers (each starts its engine, ~0.8 s, off the app's GIL) and wait until
    they answer, so the first chart a visitor asks for does not pay for it."""
    renderers = [_take() for _ in range(RENDERERS)]
    try:
        for renderer in renderers:
            renderer.draw(json.dumps(WARM_UP_SPEC))
    finally:
        for renderer in renderers:
            _idle.put(renderer)


class Drawing(NamedTuple):
    """A chart to show in a Streamlit ``container`` (``st``, a column, an expander), drawn
    ``width`` pixels wide; ``height`` is the plot's (Vega-Lite's default when None)."""

    container: Any
    chart: Any
    width: int
    height: int | None = None


# Threads that only wait for renderers, so a page's charts are drawn side by side.
_waiting = ThreadPoolExecutor(2 * RENDERERS, thread_name_prefix="trendoff-chart")


def draw_all(drawings: Sequence[Drawing]) -> None:
    """Show each chart in its container, in order, as soon as it and those before it are drawn;
    all are drawn at once.

    The ``<div>`` makes Markdown take the SVG as one raw HTML block, which ends at a blank line:
    the SVG is put on one line (a line break inside SVG text draws as a space anyway), so no text
    inside it is read as Markdown."""
    specs = [spec_json(chart, width, height) for _, chart, width, height in drawings]
    for drawing, svg in zip(drawings, _waiting.map(_render, specs), strict=True):
        one_line = svg.replace("\r", " ").replace("\n", " ")
        drawing.container.markdown(f"<div>{one_line}</div>", unsafe_allow_html=True)


def draw(container: Any, chart: Any, width: int, height: int | None = None) -> None:
    """Show one ``chart`` in a ``container``: see :class:`Drawing` and :func:`draw_all`."""
    draw_all([Drawing(container, chart, width, height)])
