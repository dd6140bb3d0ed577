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


def test_tokens_over_the_length_cap_are_dropped_after_normalising() -> None:
    from pipeline.text.rules import MAX_TOKEN_LENGTH

    assert MAX_TOKEN_LENGTH == 100
    assert words("w" * 100 + " brew") == ["w" * 100, "brew"]
    assert words("w" * 101 + " brew") == ["brew"]
    # U+3300 (SQUARE APAATO) is one code point before NFKC and four after: 25 make exactly 100.
    assert words("\u3300" * 25) == ["アパート" * 25]
    assert words("\u3300" * 26 + " tea") == ["tea"]
    # Normalised, a text at the post size limit can hold one token of 80,000 code points.
    assert words("coffee " + "\u3300" * 20_000) == ["coffee"]


def test_mentions_and_hashtags_over_the_length_cap_are_dropped() -> None:
    tokens = tokenize("@" + "m" * 100 + " @" + "n" * 101 + " #" + "h" * 100 + " #" + "g" * 101)
    assert tokens.mentions == ("m" * 100,)
    assert tokens.hashtags == ("h" * 100,)
