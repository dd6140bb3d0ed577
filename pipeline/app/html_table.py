"""Small tables as HTML, built from plain rows (no Streamlit, no I/O) and shown with ``st.html``.

Why not Streamlit's own tables: ``st.dataframe`` draws with a data grid whose code (~1.2 MB) the
browser fetches and compiles beside Vega's before the page's chart is drawn (0.1-0.3 s of a
data page's ~2 s on two cores: BENCHMARKS.md, "Tables drawn as HTML"); ``st.table`` renders each
cell as Markdown, so a term from a post such as ``#x_[win](http://evil.example)`` would show as a
link. Here every cell is text: HTML-escaped, never Markdown. Sparklines are SVG images in data
URIs, which the page's HTML sanitiser keeps (it drops inline ``<svg>``).
"""

from __future__ import annotations

import base64
import html
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# The theme's primary colour (.streamlit/config.toml), as the data grid drew its sparklines.
SPARKLINE_COLOUR = "#c2410c"
# Semi-transparent greys read on a light and on a dark theme alike.
_STYLE = (
    "<style>"
    ".trendoff-table{border-collapse:collapse;width:100%;font-size:0.875rem;"
    "font-variant-numeric:tabular-nums}"
    ".trendoff-table th,.trendoff-table td{border:1px solid rgba(128,128,128,0.25);"
    "padding:0.3rem 0.5rem;text-align:left;vertical-align:middle;overflow-wrap:anywhere}"
    ".trendoff-table th{font-weight:400;opacity:0.75;background:rgba(128,128,128,0.06)}"
    # A number column's heading sits over its figures.
    ".trendoff-table .number{text-align:right}.trendoff-table td.number{white-space:nowrap}"
    ".trendoff-table img{display:block}"
    "</style>"
)


@dataclass(frozen=True)
class Column:
    """One column: the row key it shows, its heading, and how its cells are drawn.
    ``help`` becomes the heading's tooltip."""

    key: str
    label: str | None = None
    numeric: bool = False
    sparkline: bool = False
    help: str | None = None

    @property
    def heading(self) -> str:
        return self.key if self.label is None else self.label


def is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def columns_of(rows: Sequence[Mapping[str, object]]) -> list[Column]:
    """A column per key of the first row, in its order; a column whose every value is a number
    is right-aligned."""
    if not rows:
        return []
    return [
        Column(
            key, numeric=all(is_number(row.get(key)) for row in rows if row.get(key) is not None)
        )
        for key in rows[0]
    ]


def cell_text(value: object) -> str:
    """A cell's text: numbers with thousands separators and every digit they were given
    (callers round; a rate of 0.000412 stays that), whole floats without ".0", nothing for a
    missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        number = float(value)
        return f"{int(number):,}" if number.is_integer() and abs(number) < 1e15 else f"{number:,}"
    return str(value)


def sparkline_uri(
    values: Sequence[float], width: int = 120, height: int = 24, colour: str = SPARKLINE_COLOUR
) -> str:
    """``values`` as a line from left to right, zero at the bottom, the largest at the top, as
    an SVG data URI; an empty sequence draws nothing."""
    points = ""
    if values:
        top = max(max(values), 0) or 1
        step = (width - 2) / max(len(values) - 1, 1)
        points = " ".join(
            f"{1 + index * step:.1f},{height - 1 - max(value, 0) / top * (height - 2):.1f}"
            for index, value in enumerate(values)
        )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
        f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{points}"/></svg>'
    )
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


def _cell(column: Column, value: object) -> str:
    if column.sparkline:
        values = []
        if isinstance(value, Sequence) and not isinstance(value, str):
            values = [float(item) for item in value]
        return f'<td><img alt="" src="{sparkline_uri(values)}"></td>'
    css = ' class="number"' if column.numeric else ""
    return f"<td{css}>{html.escape(cell_text(value))}</td>"


def _heading(column: Column) -> str:
    tooltip = f' title="{html.escape(column.help)}"' if column.help else ""
    css = ' class="number"' if column.numeric else ""
    return f"<th{css}{tooltip}>{html.escape(column.heading)}</th>"


def html_table(rows: Sequence[Mapping[str, object]], columns: Sequence[Column]) -> str:
    """The rows as one HTML table with its style; every text escaped. A key missing from a row
    shows as an empty cell."""
    head = "".join(_heading(column) for column in columns)
    body = "".join(
        "<tr>" + "".join(_cell(column, row.get(column.key)) for column in columns) + "</tr>"
        for row in rows
    )
    return (
        f'{_STYLE}<table class="trendoff-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )
