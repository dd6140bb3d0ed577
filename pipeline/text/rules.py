"""The text rules' constants, as the pure-Python reference (``tokenize``) reads them.

The JVM twin (jvm/udf/.../TokenizeText.java) spells the same constants in Java; the integration
tests (tests/integration/test_text_spark.py) hold the two equal on generated text and dev posts.
"""

from __future__ import annotations

# Apostrophes that may sit inside a word ("don't", "l’eau"); stripped at a word's ends.
APOSTROPHES = "'\u2019"
# ASCII white space only, spelled out: Java's \s and Python's \s disagree on Unicode spaces.
URL_END = " \t\n\r\f\u000b"
URL_PREFIXES = ("https://", "http://", "www.")
MIN_WORD_LENGTH = 2
# The longest word, mention or hashtag kept, in code points counted after normalisation (rule 1
# can expand a character several-fold: U+3300 becomes four, U+FDFA eighteen). Longer runs are
# dropped, not truncated: a cut-off word is a word nobody wrote. Words become Cassandra
# clustering keys, which may not exceed 65,535 bytes; 100 code points are at most 400 bytes, and
# longer than any real word or hashtag.
MAX_TOKEN_LENGTH = 100
FINAL_SIGMA, SIGMA = "\u03c2", "\u03c3"
STOP_WORD_LANGUAGES = (
    "english",
    "russian",
    "german",
    "ukrainian",
    "spanish",
    "french",
    "italian",
)
