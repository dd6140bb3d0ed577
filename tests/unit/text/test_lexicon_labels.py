"""Display names of lexicon categories: what the app shows instead of snake_case keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import TrendoffError
from pipeline.text import load_lexicon


def test_the_drinks_lexicon_names_every_category_for_people() -> None:
    drinks = load_lexicon()
    assert drinks.label("juice_and_smoothies") == "Juice & smoothies"
    assert drinks.label("energy_drinks") == "Energy drinks"
    assert drinks.label("coffee") == "Coffee"
    assert all("_" not in drinks.label(category) for category in drinks.categories)


def test_labels_of_an_own_lexicon(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('[categories]\nhot_drinks = ["tea"]\ncold = ["ice"]\n[labels]\ncold = "Ice!"\n')
    lexicon = load_lexicon(path)
    assert (lexicon.label("hot_drinks"), lexicon.label("cold")) == ("Hot drinks", "Ice!")


@pytest.mark.parametrize(
    ("labels", "message"),
    [('[labels]\nnope = "X"\n', "unknown categories"), ("[labels]\ntea = 3\n", "must map")],
)
def test_bad_labels_are_clear_errors(tmp_path: Path, labels: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[categories]\ntea = ["tea"]\n' + labels)
    with pytest.raises(TrendoffError, match=message):
        load_lexicon(path)
