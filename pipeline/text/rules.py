"""The text rules as data both implementations share: character classes and patterns.

Written once here so that the pure-Python reference (``tokenize``) and the Spark SQL twin
(``spark_tokens``) cannot drift apart. Patterns use only what Python's ``re`` and Java's regex
read the same way; the Unicode classes are spelled ``\\p{..}`` for Java and built from
``unicodedata`` for Python (see ``tokenize``).
"""

from __future__ import annotations

# Apostrophes that may sit inside a word ("don't", "l’eau"); stripped at a word's ends.
APOSTROPHES = "'\u2019"
# ASCII white space only, spelled out: Java's \s and Python's \s disagree on Unicode spaces.
URL_END = " \t\n\r\f\u000b"
URL_PREFIXES = ("https://", "http://", "www.")
# Java spellings of the word-character classes (letters, combining marks, digits/numbers, "_").
JAVA_WORD_CHARS = r"\p{L}\p{M}\p{N}_"
JAVA_LETTER = r"\p{L}"
# Mentions and hashtags (group 1 without the sigil): see tokenize's _MENTION and _HASHTAG.
JAVA_MENTION = rf"(?<![{JAVA_WORD_CHARS}])@([{JAVA_WORD_CHARS}]+(?:[.\-][{JAVA_WORD_CHARS}]+)*)"
JAVA_HASHTAG = rf"(?<![{JAVA_WORD_CHARS}])#([{JAVA_WORD_CHARS}]+)"
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


def java_url_pattern() -> str:
    end = "".join(_java_escape(char) for char in URL_END)
    return r"(?:https?://|www\.)[^" + end + "]*"


def _java_escape(char: str) -> str:
    return f"\\x{{{ord(char):x}}}"
