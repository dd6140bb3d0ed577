"""Topic matching as Spark SQL column expressions: the JVM twin of ``lexicon.categories_of``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pipeline.text.lexicon import SEPARATOR, Lexicon
from pipeline.text.spark_tokens import candidate_tokens

if TYPE_CHECKING:
    from pyspark.sql import Column


def topic_categories(text: Column, lexicon: Lexicon) -> Column:
    """array<string> of the categories the text mentions, sorted, each once."""
    return categories_of_candidates(candidate_tokens(text), lexicon)


def categories_of_candidates(candidates: Column, lexicon: Lexicon) -> Column:
    """:func:`topic_categories` from the text's candidate tokens, tokenised beforehand.

    First the tokens that can matter are picked out (one hash lookup each: Spark turns ``isin``
    over many literals into a hash set): any category's one-token term, or the first token of a
    multi-token one. Most posts have none and get no category without further work (the rest
    used to cost more than tokenising itself). Otherwise one-token terms are looked up among
    those tokens, and only multi-token phrases are searched in the separator-padded token string
    (:meth:`Lexicon.tokens_and_phrases`)."""
    from functools import reduce

    from pyspark.sql import functions as F

    plans = {category: lexicon.tokens_and_phrases(category) for category in lexicon.categories}
    every_token = {token for single, _ in plans.values() for token in single}
    phrase_starts = {
        term[0] for terms in lexicon.categories.values() for term in terms if len(term) > 1
    }
    relevant = sorted(every_token | phrase_starts)
    padded = F.concat(F.lit(SEPARATOR), F.array_join(candidates, SEPARATOR), F.lit(SEPARATOR))
    known = F.filter(candidates, lambda token: token.isin(relevant))

    def one_of(tokens: list[str]) -> Callable[[Column], Column]:
        return lambda token: token.isin(tokens)

    def matches(row: Column) -> Column:
        categories = []
        for category in sorted(plans):
            single, phrases = plans[category]
            hits = [row["padded"].contains(phrase) for phrase in phrases]
            if single:
                hits.append(F.exists(row["known"], one_of(single)))
            categories.append(F.when(reduce(lambda a, b: a | b, hits), F.lit(category)))
        return F.array_compact(F.array(*categories))

    def of_known(tokens: Column) -> Column:
        bound = F.struct(padded.alias("padded"), tokens.alias("known"))
        return F.when(F.size(tokens) == 0, F.array().cast("array<string>")).otherwise(
            F.transform(F.array(bound), matches)[0]
        )

    # Bound to lambda variables, the known tokens and the padded string are built once per row
    # (the string only for rows with known tokens); written inline, Spark could rebuild them for
    # each check.
    return F.transform(F.array(known), of_known)[0]
