"""Reads back what a browser shows of the app's HTML tables (pipeline/app/html_table.py): each
cell's text, and a sparkline cell as the heights of its line's points; and of its charts drawn on
the server (pipeline/app/svg_chart.py): each mark's hover text; and of its metric cards
(pipeline/app/html_metrics.py)."""

from __future__ import annotations

import base64
import html
import re
from html.parser import HTMLParser

from pipeline.app.svg_chart import CHART_CLASS

SVG_URI = "data:image/svg+xml;base64,"


class _TableParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[object]]] = []
        self._cell: list[object] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img" and self._cell is not None:
            self._cell.append(sparkline_heights(dict(attrs).get("src") or ""))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            text = [part for part in self._cell if isinstance(part, str)]
            images = [part for part in self._cell if not isinstance(part, str)]
            self.tables[-1][-1].append(images[0] if images else "".join(text))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def sparkline_heights(uri: str) -> list[float]:
    """A sparkline's points as heights above its bottom edge (SVG y grows downwards)."""
    assert uri.startswith(SVG_URI), uri[:40]
    svg = base64.b64decode(uri.removeprefix(SVG_URI)).decode()
    height = float(re.search(r'height="([0-9.]+)"', svg).group(1))  # type: ignore[union-attr]
    points = re.search(r'points="([^"]*)"', svg).group(1).split()  # type: ignore[union-attr]
    return [round(height - 1 - float(point.split(",")[1]), 1) for point in points]


def read_tables(html: str) -> list[list[dict[str, object]]]:
    """Every table in ``html`` as rows keyed by the heading's text."""
    parser = _TableParser()
    parser.feed(html)
    tables = []
    for head, *body in parser.tables:
        tables.append([dict(zip(head, row, strict=True)) for row in body])
    return tables


def app_tables(at: object) -> list[list[dict[str, object]]]:
    """The HTML tables of an ``AppTest`` run, in page order."""
    return [table for element in at.html for table in read_tables(element.value)]  # type: ignore[attr-defined]


def app_charts(at: object) -> list[str]:
    """The SVG of every chart of an ``AppTest`` run (pipeline/app/svg_chart.py), in page order."""
    return [
        element.value  # type: ignore[attr-defined]
        for element in at.markdown  # type: ignore[attr-defined]
        if f'class="marks {CHART_CLASS}"' in element.value
    ]


def chart_titles(svg: str) -> list[str]:
    """Each mark's hover text in a chart's SVG (Vega's label of the mark)."""
    return [html.unescape(text) for text in re.findall(r"<title>(.*?)</title>", svg)]


def hovered_fields(svg: str) -> list[dict[str, str]]:
    """Each mark's hover text as fields ("word: tea; uses: 3" -> {"word": "tea", "uses": "3"})."""
    return [
        dict(part.split(": ", 1) for part in title.split("; ") if ": " in part)
        for title in chart_titles(svg)
    ]


class _MetricParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.metrics: list[dict[str, str | None]] = []
        self._field: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        classes = (values.get("class") or "").split()
        if "trendoff-metric" in classes:
            self.metrics.append(
                {"label": "", "value": "", "delta": None, "help": values.get("title")}
            )
        elif "trendoff-metric-label" in classes:
            self._field = "label"
        elif "trendoff-metric-value" in classes:
            self._field = "value"
        elif "trendoff-metric-delta" in classes:
            self.metrics[-1]["delta"] = values.get("data-delta")

    def handle_endtag(self, tag: str) -> None:
        self._field = None

    def handle_data(self, data: str) -> None:
        if self._field is not None:
            self.metrics[-1][self._field] = (self.metrics[-1][self._field] or "") + data


def read_metrics(html: str) -> list[dict[str, str | None]]:
    """Every metric card in ``html`` (pipeline/app/html_metrics.py): its label, value, change
    badge (as given, "+12%" or "new"; None without one) and hover text."""
    parser = _MetricParser()
    parser.feed(html)
    return parser.metrics


def app_metrics(at: object) -> list[dict[str, str | None]]:
    """The metric cards of an ``AppTest`` run, in page order."""
    return [metric for element in at.html for metric in read_metrics(element.value)]  # type: ignore[attr-defined]
