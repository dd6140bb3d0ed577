"""Headline figures as HTML cards (a label, a value, a change badge), built from plain values (no
Streamlit, no I/O) and shown with ``st.html``.

Why not ``st.metric``: its code is a chunk the browser fetches only when the first metric
arrives, behind the page's other widgets' chunks. With every part of ``trendoff run`` on two
cores the Topic trends page's figures showed up to a second after its charts (BENCHMARKS.md,
"Charts drawn in renderer processes"). These cards are drawn as soon as they arrive. Every text
is HTML-escaped; the explanation (``help``) is the card's hover text.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

# Semi-transparent greys read on a light and on a dark theme alike; green and red as
# Streamlit's own metric badges.
_STYLE = (
    "<style>"
    ".trendoff-metrics{display:grid;gap:1rem;margin-bottom:0.5rem}"
    ".trendoff-metric-label{font-size:0.875rem;opacity:0.75;overflow-wrap:anywhere}"
    ".trendoff-metric-value{font-size:2.25rem;line-height:1.3;font-variant-numeric:tabular-nums;"
    "white-space:nowrap}"
    ".trendoff-metric-delta{display:inline-block;font-size:0.875rem;padding:0 0.4rem;"
    "border-radius:0.5rem;background:rgba(128,128,128,0.12)}"
    ".trendoff-metric-delta.up{color:#158237;background:rgba(33,195,84,0.12)}"
    ".trendoff-metric-delta.down{color:#d1232a;background:rgba(255,43,43,0.09)}"
    "</style>"
)


@dataclass(frozen=True)
class Metric:
    """One card: ``delta`` is the change badge's text ("+12%", "-3%", "±0%", "new") or None
    for no badge; ``help`` explains the figure on hover."""

    label: str
    value: str
    delta: str | None = None
    help: str | None = None


def delta_direction(delta: str) -> str:
    """How a badge is drawn: "down" for a fall ("-3%"), "flat" for no change ("±0%"), "up"
    for anything else (a rise, or "new": the previous period had nothing)."""
    if delta.startswith(("-", "−")):
        return "down"
    if delta.startswith("±"):
        return "flat"
    return "up"


_ARROWS = {"up": "↑ ", "down": "↓ ", "flat": ""}


def _card(metric: Metric) -> str:
    tooltip = f' title="{html.escape(metric.help)}"' if metric.help else ""
    badge = ""
    if metric.delta:
        direction = delta_direction(metric.delta)
        text = _ARROWS[direction] + metric.delta.lstrip("+-−")
        badge = (
            f'<div><span class="trendoff-metric-delta {direction}" '
            f'data-delta="{html.escape(metric.delta)}">{html.escape(text)}</span></div>'
        )
    return (
        f'<div class="trendoff-metric"{tooltip}>'
        f'<div class="trendoff-metric-label">{html.escape(metric.label)}</div>'
        f'<div class="trendoff-metric-value">{html.escape(metric.value)}</div>'
        f"{badge}</div>"
    )


def metric_cards(metrics: Sequence[Metric], per_row: int = 5) -> str:
    """The cards in rows of ``per_row``, left to right, with their style."""
    columns = max(1, min(per_row, len(metrics)))
    grid = (
        f"<style>.trendoff-metrics.columns-{columns}"
        f"{{grid-template-columns:repeat({columns},minmax(0,1fr))}}</style>"
    )
    cards = "".join(_card(metric) for metric in metrics)
    return f'{_STYLE}{grid}<div class="trendoff-metrics columns-{columns}">{cards}</div>'
