"""The views, as Spark aggregations shared by the speed layer and the batch layer.

Both layers call the same functions and differ only in the extra grouping keys: the speed layer
adds the ingest window and the micro-batch id, the batch layer adds nothing. So a post counts the
same way whichever layer counts it. Tokenising and topic matching are Spark SQL expressions from
:mod:`pipeline.text` (JVM, no Python UDF), the twins of the pure-Python reference. Each text is
tokenised once, by :func:`with_terms`; every view reads its ``words`` and ``categories``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.text import Lexicon
from pipeline.text.spark_tokens import candidate_tokens, words_of_candidates_column
from pipeline.text.spark_topics import categories_of_candidates
from pipeline.views import VOCABULARY_CHUNKS, VOCABULARY_SEPARATOR

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

# Views are keyed by the account's handle: it is what people pick and what the recount reads.
AUTHOR = "author_handle"


def with_terms(posts: DataFrame, lexicon: Lexicon) -> DataFrame:
    """``posts`` with the ``text`` column replaced by its ``words`` and topic ``categories``.

    The text is normalised and split into candidate tokens once (the costly part: NFKC and three
    regular expressions); words and categories both derive from the candidates. Persist the
    result when several views read it. (Spark keeps the two projections apart rather than
    inlining the candidates twice: it does not collapse projections that would repeat an
    expensive expression.)"""
    from pyspark.sql import functions as F

    return (
        posts.withColumn("candidates", candidate_tokens(F.col("text")))
        .withColumn("words", words_of_candidates_column())
        .withColumn("categories", categories_of_candidates(F.col("candidates"), lexicon))
        .drop("candidates", "text")
    )


def word_uses(terms: DataFrame, keys: list[str]) -> DataFrame:
    """``author``, keys…, ``word``, ``uses``: how often each account used each word (``terms``
    from :func:`with_terms`)."""
    from pyspark.sql import functions as F

    return (
        terms.select(
            F.col(AUTHOR).alias("author"),
            *keys,
            F.explode("words").alias("word"),
        )
        .groupBy("author", *keys, "word")
        .agg(F.count(F.lit(1)).alias("uses"))
    )


def packed_vocabulary(
    uses: DataFrame, keys: list[str], chunks: int = VOCABULARY_CHUNKS
) -> DataFrame:
    """``author``, keys…, ``chunk``, ``words``, ``uses``: :func:`word_uses` (with the same keys)
    packed into ``chunks`` rows per account and keys (see :func:`pipeline.views.unpack_vocabulary`).
    The batch slot spreads an account's whole history over several chunks; a speed micro-batch's
    words of one account fit one. Runs in the JVM: a hash, a collect and two joins."""
    from pyspark.sql import functions as F

    return (
        uses.withColumn("chunk", F.pmod(F.hash("word"), F.lit(chunks)))
        .groupBy("author", *keys, "chunk")
        .agg(F.collect_list(F.struct("word", "uses")).alias("entries"))
        .select(
            "author",
            *keys,
            "chunk",
            F.array_join(
                F.transform("entries", lambda entry: entry["word"]), VOCABULARY_SEPARATOR
            ).alias("words"),
            F.array_join(
                F.transform("entries", lambda entry: entry["uses"].cast("string")),
                VOCABULARY_SEPARATOR,
            ).alias("uses"),
        )
    )


def topic_posts(terms: DataFrame, keys: list[str]) -> DataFrame:
    """``category``, keys…, ``minute``, ``posts``: posts per category per created_at minute
    (``terms`` from :func:`with_terms`)."""
    from pyspark.sql import functions as F

    return (
        terms.select(
            *keys,
            F.date_trunc("minute", F.col("created_at")).alias("minute"),
            F.explode("categories").alias("category"),
        )
        .groupBy("category", *keys, "minute")
        .agg(F.count(F.lit(1)).alias("posts"))
    )


def account_activity(posts: DataFrame, keys: list[str]) -> DataFrame:
    """``bucket``, keys…, ``author``, ``posts``, ``first_post``, ``last_post`` per account."""
    from pyspark.sql import functions as F

    return (
        posts.groupBy(F.col(AUTHOR).alias("author"), *keys)
        .agg(
            F.count(F.lit(1)).alias("posts"),
            F.min("created_at").alias("first_post"),
            F.max("created_at").alias("last_post"),
        )
        .withColumn("bucket", F.lit(0))
    )
