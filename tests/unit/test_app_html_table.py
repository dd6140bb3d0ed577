"""The app's HTML tables: text stays text, numbers read as numbers, sparklines keep their shape."""

from __future__ import annotations

import base64

import numpy
import pytest

from pipeline.app.html_table import Column, cell_text, columns_of, html_table, sparkline_uri
from tests.table_reader import SVG_URI, read_tables, sparkline_heights

HOSTILE = ["#x_[win](http://evil.example)", "<img src=x onerror=alert(1)>", 'a "quoted" & <b>']


@pytest.mark.parametrize("text", HOSTILE)
def test_text_from_posts_is_shown_as_written_and_never_becomes_markup(text: str) -> None:
    table = html_table([{"term": text, "posts": 3}], columns_of([{"term": text, "posts": 3}]))
    assert read_tables(table) == [[{"term": text, "posts": "3"}]]
    body = table.split("<table", 1)[1]
    assert "<img" not in body and "<b>" not in body and "href" not in body


def test_a_heading_and_its_tooltip_are_escaped_too() -> None:
    table = html_table([{"k": 1}], [Column("k", "<i>score</i>", numeric=True, help='a "b" <c>')])
    assert read_tables(table) == [[{"<i>score</i>": "1"}]]
    assert 'title="a &quot;b&quot; &lt;c&gt;"' in table


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (1234567, "1,234,567"),
        (30.0, "30"),
        (0.000412, "0.000412"),
        (1234.5, "1,234.5"),
        (None, ""),
        (float("nan"), ""),
        (True, "yes"),
        (numpy.int64(1234), "1,234"),
        (numpy.float64(0.5), "0.5"),
        ("12 to 13 UTC", "12 to 13 UTC"),
    ],
)
def test_cells_show_numbers_with_separators_and_every_digit_given(
    value: object, shown: str
) -> None:
    assert cell_text(value) == shown


def test_numeric_columns_are_right_aligned_and_a_missing_key_is_an_empty_cell() -> None:
    rows = [{"term": "tea", "posts": 1200}, {"term": "coffee"}]
    table = html_table(rows, [Column("term"), Column("posts", numeric=True)])
    assert table.count('<td class="number">') == 2
    assert read_tables(table) == [
        [{"term": "tea", "posts": "1,200"}, {"term": "coffee", "posts": ""}]
    ]


def test_columns_follow_the_first_rows_keys_and_only_all_number_columns_align_right() -> None:
    rows = [
        {"alerted": "x", "posts": 2, "score": 1.5, "change": "+5%", "webhook": True},
        {"alerted": "y", "posts": numpy.int64(7), "score": None, "change": 3, "webhook": False},
    ]
    assert columns_of(rows) == [
        Column("alerted"),
        Column("posts", numeric=True),
        Column("score", numeric=True),
        Column("change"),
        Column("webhook"),
    ]
    assert columns_of([]) == []


def test_a_sparkline_runs_from_zero_at_the_bottom_to_the_largest_value_at_the_top() -> None:
    uri = sparkline_uri([0, 5, 10, 0], width=50, height=22)
    heights = sparkline_heights(uri)
    assert heights == [0.0, 10.0, 20.0, 0.0]  # height 22 leaves a pixel above and below
    svg = base64.b64decode(uri.removeprefix(SVG_URI)).decode()
    xs = [float(point.split(",")[0]) for point in svg.split('points="')[1].split('"')[0].split()]
    assert xs[0] == 1 and xs[-1] == 49 and xs == sorted(xs)


def test_a_flat_or_empty_sparkline_is_drawn_without_dividing_by_zero() -> None:
    assert sparkline_heights(sparkline_uri([0, 0, 0])) == [0.0, 0.0, 0.0]
    assert sparkline_heights(sparkline_uri([7])) == [22.0]
    assert sparkline_heights(sparkline_uri([])) == []


def test_a_sparkline_column_draws_each_rows_series() -> None:
    rows = [{"term": "#tea", "over time": [0] * 299 + [30]}]
    table = html_table(rows, [Column("term"), Column("over time", "trend", sparkline=True)])
    (row,) = read_tables(table)[0]
    assert row["term"] == "#tea"
    assert row["trend"] == [0.0] * 299 + [22.0]


def test_a_sparkline_cell_without_a_series_draws_an_empty_line() -> None:
    rows = [{"trend": "not a series"}, {"trend": None}]
    (table,) = read_tables(html_table(rows, [Column("trend", sparkline=True)]))
    assert [row["trend"] for row in table] == [[], []]
