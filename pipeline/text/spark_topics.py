"""Topic matching as Spark SQL column expressions: the JVM twin of ``lexicon.categories_of``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.text.lexicon import SEPARATOR, Lexicon
from pipeline.text.spark_tokens import candidate_tokens

if TYPE_CHECKING:
    from pyspark.sql import Column


def topic_categories(text: Column, lexicon: Lexicon) -> Column:
    """array<string> of the categories the text mentions, sorted, each once."""
    return categories_of_candidates(candidate_tokens(text), lexicon)


def categories_of_candidates(candidates: Column, lexicon: Lexicon) -> Column:
    """:func:`topic_categories` from the text's candidate tokens, tokenised beforehand."""
    from functools import reduce

    from pyspark.sql import functions as F

    padded = F.concat(F.lit(SEPARATOR), F.array_join(candidates, SEPARATOR), F.lit(SEPARATOR))

    def matches(tokens: Column) -> Column:
        categories = []
        for category in sorted(lexicon.categories):
            hits = [tokens.contains(phrase) for phrase in lexicon.phrases(category)]
            categories.append(F.when(reduce(lambda a, b: a | b, hits), F.lit(category)))
        return F.array_compact(F.array(*categories))

    # Bound to a lambda variable, the padded token string is built once per row; written inline,
    # Spark would rebuild it (tokenising the text again) for each of the ~100 term checks.
    return F.transform(F.array(padded), matches)[0]
