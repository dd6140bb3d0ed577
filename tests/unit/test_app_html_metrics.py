"""The app's metric cards: each figure, its change badge and its explanation, all as text."""

from __future__ import annotations

import pytest

from pipeline.app.html_metrics import Metric, delta_direction, metric_cards
from tests.table_reader import read_metrics

HOSTILE = ["#x_[win](http://evil.example)", "<img src=x onerror=alert(1)>", 'a "quoted" & <b>']


def test_each_card_reads_back_as_given_in_order() -> None:
    metrics = [
        Metric("Coffee", "1,204", "+12%", "1,075 in the previous period"),
        Metric("Tea", "310", "-3%"),
        Metric("Juice & smoothies", "0"),
        Metric("Beer", "7", "new"),
    ]
    assert read_metrics(metric_cards(metrics)) == [
        {
            "label": "Coffee",
            "value": "1,204",
            "delta": "+12%",
            "help": "1,075 in the previous period",
        },
        {"label": "Tea", "value": "310", "delta": "-3%", "help": None},
        {"label": "Juice & smoothies", "value": "0", "delta": None, "help": None},
        {"label": "Beer", "value": "7", "delta": "new", "help": None},
    ]


@pytest.mark.parametrize("text", HOSTILE)
def test_text_is_escaped_everywhere(text: str) -> None:
    cards = metric_cards([Metric(text, text, text, text)])
    assert read_metrics(cards) == [{"label": text, "value": text, "delta": text, "help": text}]
    body = cards.split("</style>")[-1]
    assert "<img" not in body and "<b>" not in body and "href" not in body


@pytest.mark.parametrize(
    ("delta", "direction"),
    [("+12%", "up"), ("new", "up"), ("-3%", "down"), ("−3%", "down"), ("±0%", "flat")],
)
def test_a_badge_points_the_way_the_figure_went(delta: str, direction: str) -> None:
    assert delta_direction(delta) == direction
    assert f'trendoff-metric-delta {direction}"' in metric_cards([Metric("x", "1", delta)])


def test_cards_fill_rows_of_at_most_the_given_width() -> None:
    assert "columns-5" in metric_cards([Metric(str(i), "1") for i in range(9)], per_row=5)
    assert "columns-2" in metric_cards([Metric(str(i), "1") for i in range(2)], per_row=5)
    assert "columns-1" in metric_cards([], per_row=5)
