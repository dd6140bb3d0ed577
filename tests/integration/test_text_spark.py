"""The Spark SQL text rules give exactly the pure-Python reference's tokens and topics."""

from __future__ import annotations

import itertools
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.ingest.model import Post
from pipeline.ingest.sources import open_source
from pipeline.text import categories_of, load_lexicon, tokenize
from pipeline.text.spark_tokens import hashtag_tokens, mention_tokens, word_tokens
from pipeline.text.spark_topics import topic_categories
from tests.conftest import DEV_TWEETS

pytestmark = pytest.mark.integration

# Scripts and symbols the generator draws from: Latin (with accents and ligatures), Greek,
# Cyrillic, Arabic, CJK, combining marks, punctuation and spaces, fullwidth forms, enclosed
# numbers and emoji.
RANGES = [
    (0x20, 0x7E), (0xA0, 0x24F), (0x300, 0x36F), (0x370, 0x3FF), (0x400, 0x4FF),
    (0x600, 0x6FF), (0x2000, 0x206F), (0x2460, 0x24FF), (0x3040, 0x30FF), (0x4E00, 0x4E80),
    (0xFB00, 0xFB06), (0xFF01, 0xFF5E), (0x1F300, 0x1F64F),
]  # fmt: skip
FRAGMENTS = [
    "https://t.co/x", "http://a.b/c?d=1", "www.example.com/p", "@user_1", "#coffee", "#Red",
    " ", "  ", "\n", "'", "’", "''", "Red Bull", "coffee", "ΣΟΦΟΣ", "İ", "ﬁ", "７", "e\u0301",
    "кофе", "7 up", "#", "@", "don't", "l’eau",
    # Mention and hashtag edges: e-mail addresses, dotted handles, C#, numeric tags, entities.
    "bob@example.com", "@alice.bsky.social", "@bob.", "@a-b-", "c#", "#2016", "&#39;", "x#y",
    ".", "-",
    # Around the token length cap, before and after NFKC (U+3300 becomes four code points).
    "a" * 99 + "b", "a" * 100 + "b", "\u3300" * 25, "\u3300" * 26, "#" + "h" * 101, "@" + "m" * 101,
]  # fmt: skip


def _class(char: str) -> str:
    major = unicodedata.category(char)[0]
    return major if major in "LMN" else "other"


@pytest.fixture(scope="module")
def alphabet(spark) -> list[str]:
    """Code points Java 17 (Unicode 13) and this Python (Unicode 14) classify alike."""
    jvm_character = spark.sparkContext._jvm.java.lang.Character
    letter, mark, number = {1, 2, 3, 4, 5}, {6, 7, 8}, {9, 10, 11}
    agreed = []
    for low, high in RANGES:
        for code in range(low, high + 1):
            char = chr(code)
            if unicodedata.category(char) in ("Cn", "Cs", "Co") or not jvm_character.isDefined(
                code
            ):
                continue
            kind = jvm_character.getType(code)
            java = (
                "L"
                if kind in letter
                else "M"
                if kind in mark
                else "N"
                if kind in number
                else "other"
            )
            if java == _class(char):
                agreed.append(char)
    return agreed


def spark_results(spark, texts: list[str], lexicon) -> list[tuple]:
    from pyspark.sql import functions as F

    frame = spark.createDataFrame(list(enumerate(texts)), "i long, text string")
    text = F.col("text")
    rows = frame.select(
        "i",
        word_tokens(text).alias("words"),
        mention_tokens(text).alias("mentions"),
        hashtag_tokens(text).alias("hashtags"),
        topic_categories(text, lexicon).alias("topics"),
    ).collect()
    by_index = {row.i: row for row in rows}
    return [
        (
            tuple(by_index[i].words),
            tuple(by_index[i].mentions),
            tuple(by_index[i].hashtags),
            list(by_index[i].topics),
        )
        for i in range(len(texts))
    ]


def reference_results(texts: list[str], lexicon) -> list[tuple]:
    results = []
    for text in texts:
        tokens = tokenize(text)
        results.append(
            (tokens.words, tokens.mentions, tokens.hashtags, categories_of(text, lexicon))
        )
    return results


def test_regression_corpus(spark) -> None:
    lexicon = load_lexicon()
    texts = [
        "ΟΔΟΣ οδός ΣΟΦΟΣ", "İstanbul’da çay", "ﬁne ①st ＣＯＦＦＥＥ", "@a@b #x#y",
        "https://t.co/x?y=1\u00a0after www.a.b\tc", "l’'eau'' '’ rock'n'roll", "ǅemal Straße",
        "Red\nBull", "#red #bull", "7 Up", "кофе и чай", "e\u0301te\u0301", "", "   ",
        "☕☕ coffee☕tea", "x_y __ _", "١٢٣ قهوة", "日本のお茶",
        # The token length cap (100 code points), counted after NFKC: U+3300 becomes アパート,
        # U+FDFA an 18-character phrase.
        "w" * 100 + " kept", "w" * 101 + " dropped", "\u3300" * 25, "\u3300" * 26 + " tail",
        "\ufdfa" * 30, "#" + "t" * 100 + " #" + "u" * 101, "@" + "n" * 100 + " @" + "o" * 101,
        "coffee " + "\u3300" * 20_000,
        # Mentions and hashtags: e-mail addresses and C# are neither; handles keep inner dots.
        "mail bob@example.com or @alice.bsky.social.", "C# and #2016 &#39; #tag2016 x#y",
        "@bob- @a-b.c_d @.x @ü.ñ",
    ]  # fmt: skip
    assert spark_results(spark, texts, lexicon) == reference_results(texts, lexicon)


def test_spark_equals_reference_on_dev_posts(spark) -> None:
    """Real mess: many languages, mojibake, embedded newlines, HTML entities, URLs. One post in
    every 50 of the dev file's first 150,000 (the file is ordered by account, so this spans
    about a hundred accounts)."""
    if not DEV_TWEETS.exists():
        pytest.fail(f"development data not found at {DEV_TWEETS}: the suite needs ../shared/data")
    records = open_source("csv", [DEV_TWEETS], fmt="ira").records()
    sample = itertools.islice(records, 0, 150_000, 50)
    texts = [record.text for record in sample if isinstance(record, Post)]
    assert len(texts) > 2_900
    lexicon = load_lexicon()
    spark_side = spark_results(spark, texts, lexicon)
    reference = reference_results(texts, lexicon)
    mismatches = [
        (text, got, expected)
        for text, got, expected in zip(texts, spark_side, reference, strict=True)
        if got != expected
    ]
    assert mismatches == []
    # The sample exercises every rule, not only plain words.
    assert sum(1 for words, mentions, hashtags, topics in reference if mentions) > 100
    assert sum(1 for words, mentions, hashtags, topics in reference if hashtags) > 100


@pytest.fixture(scope="module")
def texts_strategy(alphabet):
    piece = st.one_of(
        st.text(alphabet=st.sampled_from(alphabet), min_size=1, max_size=12),
        st.sampled_from(FRAGMENTS),
    )
    return st.lists(st.lists(piece, max_size=12).map("".join), min_size=150, max_size=250)


def test_spark_equals_reference_on_generated_text(spark, texts_strategy) -> None:
    lexicon = load_lexicon()

    @settings(
        max_examples=12,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(texts=texts_strategy)
    def check(texts: list[str]) -> None:
        spark_side = spark_results(spark, texts, lexicon)
        reference = reference_results(texts, lexicon)
        for text, got, expected in zip(texts, spark_side, reference, strict=True):
            assert got == expected, repr(text)

    check()


def test_trending_terms_column_equals_the_reference_terms(spark) -> None:
    """The jobs' ``terms`` column (words, #hashtags, @mentions, each once) is terms_of's twin."""
    from pipeline.jobs.aggregates import with_terms
    from pipeline.trending import terms_of

    texts = [
        *FRAGMENTS,
        "#Coffee coffee @Bob. COFFEE again #coffee mail bob@example.com",
        "@alice.bsky.social likes #tea and #TEA and tea",
        "",
    ]
    frame = spark.createDataFrame(list(enumerate(texts)), "i long, text string")
    rows = with_terms(frame, load_lexicon()).select("i", "terms").collect()
    served = {row.i: set(row.terms) for row in rows}
    assert all(len(row.terms) == len(set(row.terms)) for row in rows)
    assert served == {i: terms_of(tokenize(text)) for i, text in enumerate(texts)}
