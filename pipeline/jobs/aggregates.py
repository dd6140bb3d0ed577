"""The views, as Spark aggregations shared by the speed layer and the batch layer.

Both layers call the same functions and differ only in the extra grouping keys: the speed layer
adds the ingest window and the micro-batch id, the batch layer adds nothing. So a post counts the
same way whichever layer counts it. Tokenising and topic matching are Spark SQL expressions from
:mod:`pipeline.text` (JVM, no Python UDF), the twins of the pure-Python reference. Each text is
tokenised once, by :func:`with_terms`; every view reads its ``words`` and ``categories``.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from pipeline.shards import account_shard_column
from pipeline.text import Lexicon
from pipeline.text.spark_tokens import PACK_TERMS_FUNCTION, tokens, words_of_tokens_column
from pipeline.text.spark_topics import categories_of_candidates
from pipeline.trending import POSTS_PER_PACK, SIGILS, TALLY_PARTITION_SECONDS, TERMS_PER_CHUNK
from pipeline.views import VOCABULARY_CHUNKS, VOCABULARY_SEPARATOR

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

# Views are keyed by the author id, which a source keeps when an account renames itself (a Bluesky
# DID; X's user id; a file without ids uses the handle). Account rows carry the newest handle.
AUTHOR = "author_id"


def with_terms(posts: DataFrame, lexicon: Lexicon) -> DataFrame:
    """``posts`` with the ``text`` column replaced by its ``words``, topic ``categories`` and
    trending ``terms`` (distinct words, ``#hashtags`` and ``@mentions``).

    Each text is tokenised once, by one call of the Java function behind
    :func:`pipeline.text.spark_tokens.tokens`; words, categories and terms read its fields.
    Persist the result when several views read it. (Spark keeps the projections apart rather
    than inlining an expression twice: it does not collapse projections that would repeat an
    expensive expression.)"""
    for name, column in _term_columns(lexicon):
        posts = posts.withColumn(name, column)
    return posts.drop("tokens", "text")


# lexicon id -> (the lexicon, kept so its id stays its own; its columns)
_TERM_COLUMNS: dict[int, tuple[Lexicon, list[tuple[str, Column]]]] = {}


def _term_columns(lexicon: Lexicon) -> list[tuple[str, Column]]:
    """The columns :func:`with_terms` adds, in order, built once per process and lexicon.

    Building them takes a py4j call per expression node, one per lexicon term among them:
    0.3-0.5 s measured, paid by every speed micro-batch while they were rebuilt each time (a
    micro-batch of 2,000 posts runs in about as long). Unresolved columns are plain expression
    trees, so one instance serves every DataFrame (as words_of_tokens_column does)."""
    cached = _TERM_COLUMNS.get(id(lexicon))
    if cached is not None:
        return cached[1]
    from pyspark.sql import functions as F

    def with_sigil(sigil: str, found: Column) -> Column:
        return F.transform(found, lambda token: F.concat(F.lit(sigil), token))

    columns = [
        ("tokens", tokens(F.col("text"))),
        ("words", words_of_tokens_column()),
        ("categories", categories_of_candidates(F.col("tokens.candidates"), lexicon)),
        (
            "terms",
            F.array_distinct(
                F.concat(
                    F.col("words"),
                    with_sigil(SIGILS["hashtag"], F.col("tokens.hashtags")),
                    with_sigil(SIGILS["mention"], F.col("tokens.mentions")),
                )
            ),
        ),
    ]
    _TERM_COLUMNS[id(lexicon)] = (lexicon, columns)
    return columns


@cache
def joined_field(array: str, field: str, separator: str) -> Column:
    """The ``field`` of each struct in the ``array`` column, as strings joined by ``separator``.

    Built once per process, like :func:`_term_columns`: building a ``transform`` costs PySpark
    ~60 py4j class lookups for its lambda (9 ms on a quiet machine, several times that under
    load), and the speed layer built five of them on every micro-batch."""
    from pyspark.sql import functions as F

    return F.array_join(F.transform(array, lambda entry: entry[field].cast("string")), separator)


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
            joined_field("entries", "word", VOCABULARY_SEPARATOR).alias("words"),
            joined_field("entries", "uses", VOCABULARY_SEPARATOR).alias("uses"),
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
    """``shard`` (:func:`pipeline.shards.account_shard_column`), keys…, ``author``, ``posts``,
    ``first_post``, ``last_post``, ``handle`` per
    account; ``handle`` is that of the newest post (ties: the greater handle), the rule of
    :class:`pipeline.views.AccountTally`."""
    from pyspark.sql import functions as F

    return (
        posts.groupBy(F.col(AUTHOR).alias("author"), *keys)
        .agg(
            F.count(F.lit(1)).alias("posts"),
            F.min("created_at").alias("first_post"),
            F.max("created_at").alias("last_post"),
            F.max_by("author_handle", F.struct("created_at", "author_handle")).alias("handle"),
        )
        .withColumn("shard", account_shard_column(F.col("author")))
    )


def event_bucket(created_at: Column, bucket_seconds: int) -> Column:
    """``created_at`` floored to the trending bucket (pipeline.views.floor_time's twin)."""
    from pyspark.sql import functions as F

    seconds = F.floor(F.unix_micros(created_at) / F.lit(1_000_000 * bucket_seconds))
    return F.timestamp_seconds(seconds * F.lit(bucket_seconds))


# Options for writing packed_terms: rows bound for the same replicas go together (the session's
# grouping, pipeline/spark.py) in batches of up to 16 KiB, twice the session's, as a replay's rows
# are small but many. Grouping by partition instead sent ~2 rows a request when a micro-batch
# spreads over thousands of hours (a replay of history): 50,000 dev posts' 27,743 rows took
# 2.35-4.3 s to write that way, 1.27 s this way (docs/performance.md). Rows are at most a few
# hundred kilobytes; one larger than a batch goes alone.
TERM_WRITE_OPTIONS = {
    "spark.cassandra.output.batch.grouping.key": "replica_set",
    "spark.cassandra.output.batch.size.bytes": "16384",
}


def _with_packs_by_density(posts: DataFrame, group: list[str]) -> DataFrame:
    """``posts`` with ``packs``: how many packs each group's posts need (1 for most). Only the
    dense groups come back to the driver, usually none, so the common case costs one small
    counting job and no join."""
    from pyspark.sql import functions as F

    dense = (
        posts.groupBy(*group)
        .agg(F.count(F.lit(1)).alias("posts"))
        .where(F.col("posts") > F.lit(POSTS_PER_PACK))
        .select(*group, F.ceil(F.col("posts") / F.lit(POSTS_PER_PACK)).cast("int").alias("packs"))
    )
    found = dense.collect()
    if not found:
        return posts.withColumn("packs", F.lit(1))
    packs = posts.sparkSession.createDataFrame(found, dense.schema)
    return posts.join(F.broadcast(packs), group, "left").withColumn(
        "packs", F.coalesce(F.col("packs"), F.lit(1))
    )


def packed_terms(
    terms: DataFrame, keys: list[str], bucket_seconds: int, packs: int | None = None
) -> DataFrame:
    """``hour``, ``bucket``, keys…, ``chunk``, ``terms``, ``posts``, ``authors``: each term's
    posts and distinct authors per event-time bucket (``terms`` from :func:`with_terms`), packed
    as :func:`pipeline.trending.unpack_terms` reads them, :data:`TERMS_PER_CHUNK` terms a row,
    with the hour partition of the bucket. Write with :data:`TERM_WRITE_OPTIONS`.

    One shuffle: each post with terms goes, with its author, to its bucket (and keys), and the
    Java function ``trendoff_pack_terms`` (jvm/udf/.../PackTerms.java) tallies and packs a
    bucket's terms in one pass. Rows come sorted by hour within each Spark partition, so rows of
    one Cassandra partition reach the connector together and share its batches.

    A bucket's posts are split into ``packs`` groups by a hash of author and time, each tallied
    and packed on its own, so that no group holds more than :data:`POSTS_PER_PACK` posts in
    memory; a term then has a row per group it occurs in, which readers add up. ``packs=None``
    counts each bucket's posts first (one small job) and splits only the dense ones: for the
    batch, whose buckets may hold any number of posts. A caller whose input is bounded passes a
    fixed count."""
    from pyspark.sql import functions as F

    posts = terms.where(F.size("terms") > 0).select(
        event_bucket(F.col("created_at"), bucket_seconds).alias("bucket"),
        *keys,
        F.col(AUTHOR).alias("author"),
        "created_at",
        "terms",
    )
    if packs is None:
        posts = _with_packs_by_density(posts, ["bucket", *keys])
    else:
        posts = posts.withColumn("packs", F.lit(packs))
    pack = F.pmod(F.xxhash64("author", "created_at"), F.col("packs")).cast("int")
    per_pack = posts.groupBy("bucket", *keys, "packs", pack.alias("pack")).agg(
        F.collect_list(F.struct("author", "terms")).alias("posts")
    )
    chunks = per_pack.select(
        "bucket",
        *keys,
        "packs",
        "pack",
        F.posexplode(F.call_udf(PACK_TERMS_FUNCTION, F.col("posts"), F.lit(TERMS_PER_CHUNK))).alias(
            "position", "part"
        ),
    )
    return chunks.select(
        event_bucket(F.col("bucket"), TALLY_PARTITION_SECONDS).alias("hour"),
        "bucket",
        *keys,
        # Unique within a bucket: packs interleave (pack p holds chunks p, p + packs, …).
        (F.col("position") * F.col("packs") + F.col("pack")).alias("chunk"),
        F.col("part.terms").alias("terms"),
        F.col("part.posts").alias("posts"),
        F.col("part.authors").alias("authors"),
    ).sortWithinPartitions("hour")
