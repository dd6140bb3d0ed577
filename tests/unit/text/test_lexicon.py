from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import TrendoffError
from pipeline.text import categories_of, load_lexicon


@pytest.fixture(scope="module")
def drinks():
    return load_lexicon()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Morning COFFEE and tea", ["coffee", "tea"]),
        ("coffee coffee coffee", ["coffee"]),  # once per category
        ("need a Red Bull", ["energy_drinks"]),  # multi-word term
        ("red and then bull", []),  # terms match consecutive tokens only
        ("#redbull time", ["energy_drinks"]),
        ("#red #bull", ["energy_drinks"]),  # '#' separates; the tokens are consecutive
        ("@coffee said hi", []),  # mentions are not words
        ("7 Up please", ["soft_drinks"]),  # a short token inside a term still matches
        ("teacher and beers", ["beer"]),  # whole tokens: "teacher" is not "tea"
        ("Хочу кофе", ["coffee"]),
        ("https://coffee.example/tea", []),
    ],
)
def test_categories(drinks, text: str, expected: list[str]) -> None:
    assert categories_of(text, drinks) == expected


def test_default_lexicon_has_the_drink_categories(drinks) -> None:
    assert drinks.name == "drinks"
    assert {"coffee", "tea", "beer", "wine", "spirits", "water", "energy_drinks"} <= set(
        drinks.categories
    )


def test_own_lexicon_file(tmp_path: Path) -> None:
    path = tmp_path / "sports.toml"
    path.write_text('name = "sports"\n[categories]\nball = ["Foot Ball", "soccer"]\n')
    lexicon = load_lexicon(path)
    assert lexicon.categories == {"ball": (("foot", "ball"), ("soccer",))}
    assert categories_of("FOOT ball!", lexicon) == ["ball"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not = [toml", "not valid TOML"),
        ('name = "x"\n', r"no \[categories\]"),
        ("[categories]\nempty = []\n", "no usable term"),
        ("[categories]\nbad = 3\n", "list of strings"),
        ('[categories]\nsymbols = ["!!!"]\n', "no usable term"),
    ],
)
def test_malformed_lexicons_are_clear_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content)
    with pytest.raises(TrendoffError, match=message):
        load_lexicon(path)


def test_missing_lexicon_file(tmp_path: Path) -> None:
    with pytest.raises(TrendoffError, match="cannot read lexicon"):
        load_lexicon(tmp_path / "nope.toml")


def test_token_and_phrase_split_keeps_only_phrases_a_token_does_not_imply(drinks) -> None:
    tokens, phrases = drinks.tokens_and_phrases("tea")
    assert "tea" in tokens and "green tea" not in tokens
    # "green tea" holds the token "tea": wherever it matches, "tea" does.
    assert " green tea " not in phrases
    assert " earl grey " in phrases
    single, multi = drinks.tokens_and_phrases("energy_drinks")
    assert " red bull " in multi and "redbull" in single
    for category in drinks.categories:
        single, multi = drinks.tokens_and_phrases(category)
        assert len(single) + len(multi) <= len(drinks.phrases(category))
        assert set(multi) <= set(drinks.phrases(category))
