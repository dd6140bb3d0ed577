"""The text rules as Spark SQL columns: the JVM twin of :mod:`pipeline.text.tokenize`.

Rules 1 to 5 but the stop-words run in Trendoff's Java function ``trendoff_tokenize``
(jvm/udf/.../TokenizeText.java, no Python worker): it normalises each text once and scans it in
a few single passes, returning its candidate tokens, word candidates, mentions and hashtags
(:data:`TOKENS_TYPE`). The stop-word filter stays a Spark SQL ``isin`` (a hash-set lookup), so
the stop-word list has one source, the Python one. No Python runs per row.

(Until 2026-11 these were Spark SQL regular expressions: two replacements and three extractions
over each text and one more replacement per token. docs/performance.md has the comparison.)
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from pipeline.text.tokenize import STOP_WORDS

if TYPE_CHECKING:
    from pyspark.sql import Column

TOKENIZE_FUNCTION = "trendoff_tokenize"
# A bucket's trending terms tallied and packed (jvm/udf/.../PackTerms.java; used by
# pipeline.jobs.aggregates.packed_terms).
PACK_TERMS_FUNCTION = "trendoff_pack_terms"
PACKED_TERMS_TYPE = "array<struct<terms:string,posts:string,authors:string>>"
# What trendoff_tokenize returns (pipeline.spark.register_functions declares it).
TOKENS_TYPE = (
    "struct<candidates:array<string>,words:array<string>,"
    "mentions:array<string>,hashtags:array<string>>"
)


def tokens(text: Column) -> Column:
    """The struct of :data:`TOKENS_TYPE` for a raw text: compute it once per text and read its
    fields (``candidates``, ``words`` before the stop-words, ``mentions``, ``hashtags``)."""
    from pyspark.sql import functions as F

    return F.call_udf(TOKENIZE_FUNCTION, text)


def mention_tokens(text: Column) -> Column:
    return tokens(text)["mentions"]


def hashtag_tokens(text: Column) -> Column:
    return tokens(text)["hashtags"]


def candidate_tokens(text: Column) -> Column:
    """Step 4: the token sequence topic terms are matched against (no stop-word removal)."""
    return tokens(text)["candidates"]


@cache
def _stop_words() -> list[str]:
    return sorted(STOP_WORDS)


def without_stop_words(words: Column) -> Column:
    """Step 5's last part on the ``words`` field of :func:`tokens`.

    ``isin`` over thousands of literals becomes a hash-set lookup (Spark's InSet), not a scan.
    Building it costs a py4j call per literal (about two seconds): the jobs use
    :func:`words_of_tokens_column`, built once per process.
    """
    from pyspark.sql import functions as F

    return F.filter(words, lambda token: ~token.isin(_stop_words()))


def word_tokens(text: Column) -> Column:
    """Step 5: candidates with a letter, 2 to ``MAX_TOKEN_LENGTH`` code points, not a stop-word."""
    return without_stop_words(tokens(text)["words"])


@cache
def words_of_tokens_column() -> Column:
    """:func:`without_stop_words` of a ``tokens`` column's words, built once per process.

    A streaming job that rebuilt it would pay the stop-word literals' py4j calls on every
    micro-batch: measured at 1.5-3 s each, more than the rest of a small micro-batch. An
    unresolved column is a plain expression tree, so one instance serves every DataFrame.
    """
    from pyspark.sql import functions as F

    return without_stop_words(F.col("tokens.words"))
