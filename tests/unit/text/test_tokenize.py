from __future__ import annotations

import pytest

from pipeline.text import STOP_WORDS, candidates, normalize, tokenize, words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I LOVE Coffee", ["love", "coffee"]),  # lower case; "i" is a stop-word
        ("ﬂat ①st ＣＯＦＦＥＥ", ["flat", "1st", "coffee"]),  # NFKC: ligature, circled, fullwidth
        ("ΟΔΟΣ οδός", ["οδοσ", "οδόσ"]),  # final sigma folded to σ on both sides
        ("brew https://t.co/AbC?x=1 and www.cafe.com/x roast", ["brew", "roast"]),
        ("@Barista_1 brews #Coffee", ["brews", "coffee"]),  # mention removed, # separates
        ("l’eau 'quoted' rock'n'roll ''", ["l’eau", "quoted", "rock'n'roll"]),
        ("a 42 x2 __ _a_", ["x2", "_a_"]),  # no letter or under 2 code points: dropped
        ("кофе и чай", ["кофе", "чай"]),  # Russian stop-word "и" dropped
        (
            "cafe\u0301 ke\u0301fir",
            ["café", "kéfir"],
        ),  # combining marks are word characters; NFKC composes
        ("emoji☕kettle", ["emoji", "kettle"]),
    ],
)
def test_words(text: str, expected: list[str]) -> None:
    assert words(text) == expected


def test_mentions_and_hashtags_are_collected_lowercased() -> None:
    tokens = tokenize("RT @Alice: #Tea with @bob_2 #GreenTea #tea http://x.co/#nothashtag")
    assert tokens.mentions == ("alice", "bob_2")
    assert tokens.hashtags == ("tea", "greentea", "tea")
    assert tokens.words == ("rt", "tea", "greentea", "tea")


def test_candidates_keep_stop_words_and_short_tokens_for_topic_terms() -> None:
    assert candidates("The 7 Up can") == ["the", "7", "up", "can"]


def test_stop_words_cover_the_seven_languages_normalised() -> None:
    for word in ("the", "und", "и", "що", "el", "le", "il"):
        assert word in STOP_WORDS
    assert all(word == normalize(word) for word in STOP_WORDS)


def test_empty_and_symbol_only_text() -> None:
    assert words("") == []
    assert tokenize("!!! ☕☕ --").words == ()
