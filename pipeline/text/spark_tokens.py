"""The text rules as Spark SQL column expressions: the JVM twin of :mod:`pipeline.text.tokenize`.

Step 1 (NFKC, lower case, σ) is Trendoff's Java function ``trendoff_normalize`` (jvm/udf; Spark
SQL has no Unicode normalisation); every other step is a built-in Spark SQL function with Java
regular expressions. No Python runs per row.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from pipeline.text.rules import (
    APOSTROPHES,
    JAVA_HASHTAG,
    JAVA_LETTER,
    JAVA_MENTION,
    JAVA_WORD_CHARS,
    MAX_TOKEN_LENGTH,
    MIN_WORD_LENGTH,
    java_url_pattern,
)
from pipeline.text.tokenize import STOP_WORDS

if TYPE_CHECKING:
    from pyspark.sql import Column

NORMALIZE_FUNCTION = "trendoff_normalize"


def _lit(value: str) -> Column:
    from pyspark.sql import functions as F

    return F.lit(value)


def normalized(text: Column) -> Column:
    from pyspark.sql import functions as F

    return F.call_udf(NORMALIZE_FUNCTION, text)


def url_free(text: Column) -> Column:
    """Rules 1 and 2: the normalised text without URLs (compute it once per text and pass it to
    the ``*_of_url_free`` functions; normalising is the costly step)."""
    from pyspark.sql import functions as F

    return F.regexp_replace(normalized(text), _lit(java_url_pattern()), _lit(" "))


def mention_free(url_free_text: Column) -> Column:
    """Rule 3: a :func:`url_free` text with its mentions removed."""
    from pyspark.sql import functions as F

    return F.regexp_replace(url_free_text, _lit(JAVA_MENTION), _lit(" "))


def _short_enough(tokens: Column) -> Column:
    """Tokens of at most ``MAX_TOKEN_LENGTH`` code points (Spark's ``length`` counts code points,
    as Python's ``len`` does)."""
    from pyspark.sql import functions as F

    return F.filter(tokens, lambda token: F.length(token) <= MAX_TOKEN_LENGTH)


def mentions_of_url_free(url_free_text: Column) -> Column:
    from pyspark.sql import functions as F

    return _short_enough(F.regexp_extract_all(url_free_text, _lit(JAVA_MENTION), F.lit(1)))


def hashtags_of_mention_free(mention_free_text: Column) -> Column:
    from pyspark.sql import functions as F

    tags = F.regexp_extract_all(mention_free_text, _lit(JAVA_HASHTAG), F.lit(1))
    return F.filter(_short_enough(tags), lambda tag: tag.rlike(JAVA_LETTER))


def candidates_of_mention_free(mention_free_text: Column) -> Column:
    """Step 4: runs of word characters and apostrophes, apostrophes stripped at both ends."""
    from pyspark.sql import functions as F

    runs = F.regexp_extract_all(
        mention_free_text, _lit(f"[{JAVA_WORD_CHARS}{APOSTROPHES}]+"), F.lit(0)
    )
    ends = f"^[{APOSTROPHES}]+|[{APOSTROPHES}]+$"
    stripped = F.transform(runs, lambda token: F.regexp_replace(token, _lit(ends), _lit("")))
    return F.filter(stripped, lambda token: F.length(token) > 0)


def mention_tokens(text: Column) -> Column:
    return mentions_of_url_free(url_free(text))


def hashtag_tokens(text: Column) -> Column:
    return hashtags_of_mention_free(mention_free(url_free(text)))


def candidate_tokens(text: Column) -> Column:
    """Step 4 of a raw text (see :func:`candidates_of_mention_free`)."""
    return candidates_of_mention_free(mention_free(url_free(text)))


@cache
def _stop_words() -> list[str]:
    return sorted(STOP_WORDS)


def word_tokens(text: Column) -> Column:
    """Step 5: candidates with a letter, 2 to ``MAX_TOKEN_LENGTH`` code points, not a stop-word.

    ``isin`` over thousands of literals becomes a hash-set lookup (Spark's InSet), not a scan.
    Building it costs a py4j call per literal (about two seconds): the jobs use
    :func:`words_of_candidates_column`, built once per process.
    """
    return words_of_candidates(candidate_tokens(text))


def words_of_candidates(candidates: Column) -> Column:
    """Step 5 on an array of candidate tokens (see :func:`word_tokens`)."""
    from pyspark.sql import functions as F

    return F.filter(
        candidates,
        lambda token: (
            F.length(token).between(MIN_WORD_LENGTH, MAX_TOKEN_LENGTH)
            & token.rlike(JAVA_LETTER)
            & ~token.isin(_stop_words())
        ),
    )


@cache
def words_of_candidates_column() -> Column:
    """:func:`words_of_candidates` of a ``candidates`` column, built once per process.

    A streaming job that rebuilt it would pay the stop-word literals' py4j calls on every
    micro-batch: measured at 1.5-3 s each, more than the rest of a small micro-batch. An
    unresolved column is a plain expression tree, so one instance serves every DataFrame.
    """
    from pyspark.sql import functions as F

    return words_of_candidates(F.col("candidates"))
