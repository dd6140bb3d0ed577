"""Topic lexicons: categories of terms, loaded from TOML; topic matching for the reference.

A post counts once for a category when any of the category's terms equals a run of consecutive
candidate tokens of the post (tokens before the letter, length and stop-word filters, so terms
like "7 up" or "the" inside a brand still match). Both posts and terms go through the same
tokeniser, so matching is case- and NFKC-insensitive and ``#redbull`` matches the term "redbull".
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from pipeline.errors import TrendoffError
from pipeline.text.tokenize import candidates

# Tokens never contain a space, so " a b " in " x a b y " is exactly a whole-token match.
SEPARATOR = " "


@dataclass(frozen=True)
class Lexicon:
    name: str
    categories: dict[str, tuple[tuple[str, ...], ...]]  # category -> tokenised terms
    labels: dict[str, str] = field(default_factory=dict)  # category -> name shown to people

    def label(self, category: str) -> str:
        """The category's display name: from the lexicon's [labels] table, else its key in
        words ("soft_drinks" -> "Soft drinks")."""
        return self.labels.get(category) or category.replace("_", " ").capitalize()

    def phrases(self, category: str) -> list[str]:
        """The category's terms as separator-padded token runs (what both matchers look for)."""
        return [SEPARATOR + SEPARATOR.join(term) + SEPARATOR for term in self.categories[category]]

    def tokens_and_phrases(self, category: str) -> tuple[list[str], list[str]]:
        """The same match split for speed: the category's one-token terms (a text matches when
        one of its tokens equals one), and its padded multi-token :meth:`phrases` that hold none
        of those tokens (a phrase holding one can only match where that token already does)."""
        terms = self.categories[category]
        tokens = sorted({term[0] for term in terms if len(term) == 1})
        single = set(tokens)
        phrases = [
            SEPARATOR + SEPARATOR.join(term) + SEPARATOR
            for term in terms
            if len(term) > 1 and not single.intersection(term)
        ]
        return tokens, phrases


def _parse(text: str, where: str) -> Lexicon:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TrendoffError(f"lexicon {where} is not valid TOML: {exc}") from None
    categories = data.get("categories")
    if not isinstance(categories, dict) or not categories:
        raise TrendoffError(f"lexicon {where} has no [categories] table")
    parsed: dict[str, tuple[tuple[str, ...], ...]] = {}
    for category, terms in categories.items():
        if not isinstance(terms, list) or not all(isinstance(term, str) for term in terms):
            raise TrendoffError(f"lexicon {where}: category {category!r} must be a list of strings")
        tokenised = tuple(
            dict.fromkeys(tuple(candidates(term)) for term in terms if candidates(term))
        )
        if not tokenised:
            raise TrendoffError(f"lexicon {where}: category {category!r} has no usable term")
        parsed[str(category)] = tokenised
    labels = data.get("labels", {})
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise TrendoffError(f"lexicon {where}: [labels] must map categories to names")
    unknown = sorted(set(labels) - set(parsed))
    if unknown:
        raise TrendoffError(f"lexicon {where}: [labels] for unknown categories {unknown}")
    return Lexicon(
        name=str(data.get("name", Path(where).stem)),
        categories=parsed,
        labels={str(key): str(value) for key, value in labels.items()},
    )


def load_lexicon(path: Path | None = None) -> Lexicon:
    """The lexicon at ``path``, or the built-in ``drinks`` lexicon."""
    if path is None:
        text = (
            resources.files("pipeline.resources.lexicons")
            .joinpath("drinks.toml")
            .read_text(encoding="utf-8")
        )
        return _parse(text, "drinks.toml")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise TrendoffError(f"cannot read lexicon {path}: {exc.strerror}") from None
    return _parse(text, str(path))


def categories_of(text: str, lexicon: Lexicon) -> list[str]:
    """The categories ``text`` mentions, sorted, each once."""
    padded = SEPARATOR + SEPARATOR.join(candidates(text)) + SEPARATOR
    return sorted(
        category
        for category in lexicon.categories
        if any(phrase in padded for phrase in lexicon.phrases(category))
    )
