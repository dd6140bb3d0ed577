"""Trendoff's text rules: the pure-Python reference and the lexicon (Spark twins in submodules)."""

from pipeline.text.lexicon import Lexicon, categories_of, load_lexicon
from pipeline.text.tokenize import STOP_WORDS, Tokens, candidates, normalize, tokenize, words

__all__ = [
    "STOP_WORDS",
    "Lexicon",
    "Tokens",
    "candidates",
    "categories_of",
    "load_lexicon",
    "normalize",
    "tokenize",
    "words",
]
