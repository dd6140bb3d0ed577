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

    One-token terms are looked up among the tokens: first the tokens that are any category's
    term (one hash lookup each: Spark turns ``isin`` over many literals into a hash set), usually
    none, then which categories those are. Only multi-token phrases are searched in the
    separator-padded token string (:meth:`Lexicon.tokens_and_phrases`)."""
    from functools import reduce

    from pyspark.sql import functions as F

    plans = {category: lexicon.tokens_and_phrases(category) for category in lexicon.categories}
    every_token = sorted({token for single, _ in plans.values() for token in single})
    padded = F.concat(F.lit(SEPARATOR), F.array_join(candidates, SEPARATOR), F.lit(SEPARATOR))
    known = F.filter(candidates, lambda token: token.isin(every_token))

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

    # Bound to a lambda variable, the padded string and the known tokens are built once per row;
    # written inline, Spark could rebuild them (tokenising the text again) for each check.
    bound = F.struct(padded.alias("padded"), known.alias("known"))
    return F.transform(F.array(bound), matches)[0]
