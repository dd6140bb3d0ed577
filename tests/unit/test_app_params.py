"""Link parameters and user text made safe for Streamlit's Markdown."""

from __future__ import annotations

import pytest

from pipeline.app.params import markdown_literal, parse_choice, parse_count


@pytest.mark.parametrize(
    "hostile",
    [
        "[win a prize](http://evil.example)",
        "![x](http://evil.example/pixel.png)",
        "<img src=x onerror=alert(1)>",
        "http://evil.example",
        "**bold** _it_ `code` # head",
        ":red[alert] :material/warning:",
    ],
)
def test_markdown_literal_is_one_code_span_holding_the_text(hostile: str) -> None:
    fence, inner = split_code_span(markdown_literal(hostile))
    # One code span: a fence, the text as it is, the same fence; nothing in it is Markdown.
    assert inner.strip(" ") == hostile
    assert fence not in inner


def split_code_span(shown: str) -> tuple[str, str]:
    fence = shown[: len(shown) - len(shown.lstrip("`"))]
    assert fence and shown.endswith(fence)
    return fence, shown[len(fence) : -len(fence)]


@pytest.mark.parametrize("text", ["a`b", "``x", "y`", "`", " "])
def test_markdown_literal_fences_backticks_in_the_text(text: str) -> None:
    fence, inner = split_code_span(markdown_literal(text))
    assert fence not in inner
    assert inner.strip(" ") == text.strip(" ")
    if text.startswith("`") or text.endswith("`"):
        assert inner == f" {text} "  # the padding CommonMark strips again


def test_markdown_literal_is_one_short_line() -> None:
    assert markdown_literal("a\nb\r\nc") == "`a b c`"
    assert markdown_literal("x" * 500, 10) == "`" + "x" * 9 + "…`"
    assert markdown_literal("demo_otter_0") == "`demo_otter_0`"


@pytest.mark.parametrize(
    ("raw", "value", "problem"),
    [
        (None, 20, False),
        ("", 20, False),
        ("30", 30, False),
        (" 7 ", 7, False),
        ("abc", 20, True),
        ("4", 20, True),
        ("51", 20, True),
        ("1e3", 20, True),
        ("٣", 20, True),  # a digit, but not an ASCII one: int() would take it
        ("-5", 20, True),
    ],
)
def test_parse_count(raw: str | None, value: int, problem: bool) -> None:
    parsed = parse_count(raw, name="n", low=5, high=50, default=20)
    assert parsed.value == value
    assert (parsed.problem is not None) == problem
    if problem:
        assert "`n` in the link must be a whole number from 5 to 50" in (parsed.problem or "")


def test_parse_choice_escapes_what_it_echoes() -> None:
    parsed = parse_choice("[x](y)", name="by", choices=("both", "combined"), default="both")
    assert parsed.value == 0
    assert "`[x](y)`" in (parsed.problem or "")
    chosen = parse_choice("combined", name="by", choices=("both", "combined"), default="both")
    assert (chosen.value, chosen.problem) == (1, None)


def test_rates_keep_three_significant_digits_and_never_round_to_zero() -> None:
    from pipeline.app.charts import significant

    assert significant(6.7114) == 6.71
    assert significant(0.000412) == 0.000412
    assert significant(1234.5) == 1230.0
