"""What users type or put in links, made safe for the page: plain functions, no Streamlit.

Streamlit renders most text (titles, warnings, captions) as Markdown, so a handle like
``[win](http://evil.example)`` from ``?a=`` would become a link, ``![x](…)`` an image that loads
from elsewhere. :func:`markdown_literal` makes any text show as itself; :func:`parse_count` turns a
query parameter into a number in range or a sentence saying what was wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LINE_BREAKS = re.compile(r"[\r\n\t\v\f\u2028\u2029]+")
_BACKTICKS = re.compile(r"`+")
MAX_SHOWN = 80


def markdown_literal(text: str, limit: int = MAX_SHOWN) -> str:
    """``text`` as Markdown that renders as exactly that text, on one line, at most ``limit``
    characters (longer text is cut with an ellipsis).

    An inline code span: nothing inside one is Markdown, not even a bare ``http://…`` or
    ``www.…`` (backslash escapes stop ``[x](y)`` but GitHub-flavoured autolinks still fire).
    Its fence is one backtick longer than any run of backticks in the text."""
    flat = _LINE_BREAKS.sub(" ", text)
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(flat)), default=0) + 1)
    # A space inside the fence keeps a leading or trailing backtick off it (and is stripped).
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat.strip() else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


@dataclass(frozen=True)
class Parsed:
    value: int
    problem: str | None  # a sentence for the user when the given text was not used


def parse_count(raw: str | None, *, name: str, low: int, high: int, default: int) -> Parsed:
    """A whole number from ``low`` to ``high`` from a query parameter; ``default`` when it is
    missing, and the same with a message when it is not such a number."""
    if raw is None or raw == "":
        return Parsed(default, None)
    text = raw.strip()
    if text.isascii() and text.isdigit() and low <= int(text) <= high:
        return Parsed(int(text), None)
    return Parsed(
        default,
        f"`{name}` in the link must be a whole number from {low} to {high}, "
        f"not “{markdown_literal(raw, 20)}”; showing {default}.",
    )


def parse_choice(raw: str | None, *, name: str, choices: tuple[str, ...], default: str) -> Parsed:
    """Index into ``choices`` of a query parameter, with a message when it is not one of them."""
    if raw is None or raw == "":
        return Parsed(choices.index(default), None)
    if raw in choices:
        return Parsed(choices.index(raw), None)
    return Parsed(
        choices.index(default),
        f"`{name}` in the link must be one of {', '.join(choices)}, "
        f"not “{markdown_literal(raw, 20)}”; showing {default}.",
    )
