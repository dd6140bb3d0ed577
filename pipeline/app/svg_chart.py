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

The SVG is shown with ``st.markdown(unsafe_allow_html=True)`` because ``st.html`` sanitises with
an HTML-only profile that drops inline ``<svg>``. Text from posts (words, terms, handles) only
ever reaches it escaped: Vega escapes every text it writes, and this module the titles it adds.
"""

from __future__ import annotations

import html
import json
import re
from functools import lru_cache
from typing import Any  # altair has no type information for mypy

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


@lru_cache(maxsize=64)
def _render(spec_json: str) -> str:
    import vl_convert  # imported where used: its engine starts on the first render

    return fluid(with_hover_titles(vl_convert.vegalite_to_svg(json.loads(spec_json))))


def chart_svg(chart: Any, width: int, height: int | None = None) -> str:
    """The chart as SVG markup ready for the page. The same chart over the same data (a page
    refreshed within its loaders' cache time, a second visitor) is drawn once."""
    return _render(json.dumps(chart_spec(chart, width, height), sort_keys=True, default=str))


def warm_up() -> None:
    """Start the rendering engine (~0.8 s here) so the first chart a visitor asks for does not
    pay for it."""
    import vl_convert

    vl_convert.vegalite_to_svg({"mark": "point", "data": {"values": [{}]}})


def draw(container: Any, chart: Any, width: int, height: int | None = None) -> None:
    """Show ``chart`` in a Streamlit ``container`` (``st``, a column, an expander).

    The ``<div>`` makes Markdown take the SVG as one raw HTML block, which ends at a blank line:
    the SVG is put on one line (a line break inside SVG text draws as a space anyway), so no text
    inside it is read as Markdown."""
    svg = chart_svg(chart, width, height).replace("\r", " ").replace("\n", " ")
    container.markdown(f"<div>{svg}</div>", unsafe_allow_html=True)
