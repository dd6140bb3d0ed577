"""The views, as Spark aggregations shared by the speed layer and the batch layer.

Both layers call the same functions and differ only in the extra grouping keys: the speed layer
adds the ingest window and the micro-batch id, the batch layer adds nothing. So a post counts the
same way whichever layer counts it. Tokenising and topic matching are Spark SQL expressions from
:mod:`pipeline.text` (JVM, no Python UDF), the twins of the pure-Python reference.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.text import Lexicon
from pipeline.text.spark_tokens import word_tokens
from pipeline.text.spark_topics import topic_categories
from pipeline.views import VOCABULARY_CHUNKS, VOCABULARY_SEPARATOR

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

# Views are keyed by the account's handle: it is what people pick and what the recount reads.
AUTHOR = "author_handle"


def word_uses(posts: DataFrame, keys: list[str]) -> DataFrame:
    """``author``, keys…, ``word``, ``uses``: how often each account used each word."""
    from pyspark.sql import functions as F

    return (
        posts.select(
            F.col(AUTHOR).alias("author"),
            *keys,
            F.explode(word_tokens(F.col("text"))).alias("word"),
        )
        .groupBy("author", *keys, "word")
        .agg(F.count(F.lit(1)).alias("uses"))
    )


def packed_vocabulary(uses: DataFrame) -> DataFrame:
    """``author``, ``chunk``, ``words``, ``uses``: :func:`word_uses` (with no extra keys) packed
    into ``VOCABULARY_CHUNKS`` rows per account, the batch slot's layout (see
    :func:`pipeline.views.unpack_vocabulary`). Runs in the JVM: a hash, a collect and two joins."""
    from pyspark.sql import functions as F

    return (
        uses.withColumn("chunk", F.pmod(F.hash("word"), F.lit(VOCABULARY_CHUNKS)))
        .groupBy("author", "chunk")
        .agg(F.collect_list(F.struct("word", "uses")).alias("entries"))
        .select(
            "author",
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


def topic_posts(posts: DataFrame, keys: list[str], lexicon: Lexicon) -> DataFrame:
    """``category``, keys…, ``minute``, ``posts``: posts per category per created_at minute."""
    from pyspark.sql import functions as F

    return (
        posts.select(
            *keys,
            F.date_trunc("minute", F.col("created_at")).alias("minute"),
            F.explode(topic_categories(F.col("text"), lexicon)).alias("category"),
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
