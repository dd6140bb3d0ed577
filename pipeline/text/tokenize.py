"""The pure-Python reference of Trendoff's text rules (see docs/text-processing.md).

1. Unicode NFKC, then lower case, then the final sigma ς folded to σ;
2. URLs (``http://``, ``https://``, ``www.`` up to ASCII white space) removed;
3. ``@mentions`` (word characters with inner ``.`` or ``-``) collected and removed from the text;
   ``#hashtags`` with a letter collected, and ``#`` is a separator, so ``#coffee`` also yields the
   word ``coffee``; a sigil right after a word character starts neither (e-mail addresses, C#);
4. candidate tokens: maximal runs of letters, combining marks, numbers, ``_`` and apostrophes
   (' and ’), with apostrophes stripped from both ends (topic terms match on these);
5. words: candidates with at least one letter, at least 2 and at most 100 code points, not a
   stop-word; mentions and hashtags over 100 code points are dropped too (``MAX_TOKEN_LENGTH``).
"""

from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass
from functools import cache

from pipeline.text.rules import (
    APOSTROPHES,
    FINAL_SIGMA,
    MAX_TOKEN_LENGTH,
    MIN_WORD_LENGTH,
    SIGMA,
    STOP_WORD_LANGUAGES,
    URL_END,
)


def _class_of(categories: str) -> str:
    """A regex character class body of every code point whose general category starts with one
    of ``categories`` (Python's ``re`` has no \\p{..}; this spells the same sets out as ranges)."""
    ranges: list[tuple[int, int]] = []
    for code in range(sys.maxunicode + 1):
        if unicodedata.category(chr(code))[0] in categories:
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(
        re.escape(chr(lo)) if lo == hi else f"{re.escape(chr(lo))}-{re.escape(chr(hi))}"
        for lo, hi in ranges
    )


WORD_CLASS = _class_of("LMN") + "_"
_LETTER = re.compile(f"[{_class_of('L')}]")
_URL = re.compile(r"(?:https?://|www\.)[^" + re.escape(URL_END) + "]*")
# The sigil must not follow a word character, so e-mail addresses (bob@example.com) and "C#"
# are neither mentions nor hashtags; a mention may hold inner dots and hyphens (Bluesky handles
# like alice.bsky.social), never trailing ones (the full stop after "@bob." ends the sentence).
_MENTION = re.compile(f"(?<![{WORD_CLASS}])@([{WORD_CLASS}]+(?:[.\\-][{WORD_CLASS}]+)*)")
_HASHTAG = re.compile(f"(?<![{WORD_CLASS}])#([{WORD_CLASS}]+)")
_CANDIDATE = re.compile(f"[{WORD_CLASS}{APOSTROPHES}]+")


@dataclass(frozen=True)
class Tokens:
    words: tuple[str, ...]
    mentions: tuple[str, ...]
    hashtags: tuple[str, ...]


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower().replace(FINAL_SIGMA, SIGMA)


@cache
def stop_words() -> frozenset[str]:
    from stop_words import get_stop_words

    collected: set[str] = set()
    for language in STOP_WORD_LANGUAGES:
        collected.update(normalize(word) for word in get_stop_words(language))
    return frozenset(collected)


def _strip_text(text: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    text = _URL.sub(" ", normalize(text))
    mentions = _short_enough(_MENTION.findall(text))
    text = _MENTION.sub(" ", text)
    hashtags = tuple(tag for tag in _short_enough(_HASHTAG.findall(text)) if _LETTER.search(tag))
    return text, mentions, hashtags


def _short_enough(tokens: list[str]) -> tuple[str, ...]:
    return tuple(token for token in tokens if len(token) <= MAX_TOKEN_LENGTH)


def candidates_of_normalized(text: str) -> list[str]:
    stripped = (token.strip(APOSTROPHES) for token in _CANDIDATE.findall(text))
    return [token for token in stripped if token]


def candidates(text: str) -> list[str]:
    """Step 4: the token sequence topic terms are matched against (no stop-word removal)."""
    return candidates_of_normalized(_strip_text(text)[0])


def is_word(token: str) -> bool:
    return (
        MIN_WORD_LENGTH <= len(token) <= MAX_TOKEN_LENGTH
        and token not in stop_words()
        and _LETTER.search(token) is not None
    )


def tokenize(text: str) -> Tokens:
    stripped, mentions, hashtags = _strip_text(text)
    words = tuple(token for token in candidates_of_normalized(stripped) if is_word(token))
    return Tokens(words, mentions, hashtags)


def words(text: str) -> list[str]:
    return list(tokenize(text).words)


STOP_WORDS = stop_words()
