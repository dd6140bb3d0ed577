"""Distinctive words of two accounts: weighted log-odds with an informative Dirichlet prior
(Monroe, Colaresi & Quinn, "Fightin' Words", 2008). Pure functions, no I/O.

For each word w with counts y_a, y_b (totals n_a, n_b) and prior α_w taken from the pooled counts of
both accounts (α_w = α0 · (y_a + y_b) / (n_a + n_b)), the log-odds difference

    δ_w = log((y_a + α_w) / (n_a + α0 − y_a − α_w)) − log((y_b + α_w) / (n_b + α0 − y_b − α_w))

is divided by its approximate standard deviation sqrt(1/(y_a + α_w) + 1/(y_b + α_w)). A large
positive z marks a word of account a, a large negative one a word of account b; rare words are
pulled towards zero by the prior instead of topping the list on one lucky use.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Distinctive:
    word: str
    z: float
    count_a: int
    count_b: int


def _scores(
    a: Mapping[str, int], b: Mapping[str, int], prior_strength: float | None
) -> Iterator[tuple[float, str, int, int]]:
    """(z, word, y_a, y_b) for every word of either account; nothing when a side is empty."""
    n_a, n_b = sum(a.values()), sum(b.values())
    pooled = n_a + n_b
    if n_a == 0 or n_b == 0:
        return
    # A prior about a tenth as strong as the data: enough to damp one-off words, not to drown
    # the accounts' own counts.
    alpha0 = prior_strength if prior_strength is not None else max(10.0, 0.1 * pooled)
    log, sqrt = math.log, math.sqrt
    for word in a.keys() | b.keys():
        y_a, y_b = a.get(word, 0), b.get(word, 0)
        alpha = alpha0 * (y_a + y_b) / pooled
        delta = log((y_a + alpha) / (n_a + alpha0 - y_a - alpha)) - log(
            (y_b + alpha) / (n_b + alpha0 - y_b - alpha)
        )
        variance = 1.0 / (y_a + alpha) + 1.0 / (y_b + alpha)
        yield delta / sqrt(variance), word, y_a, y_b


def log_odds_z(
    a: Mapping[str, int], b: Mapping[str, int], prior_strength: float | None = None
) -> list[Distinctive]:
    """Every word of either account with its z-score (positive: a's word), highest z first."""
    scored = [Distinctive(word, z, y_a, y_b) for z, word, y_a, y_b in _scores(a, b, prior_strength)]
    scored.sort(key=lambda item: (-item.z, item.word))
    return scored


def distinctive_words(
    a: Mapping[str, int], b: Mapping[str, int], limit: int = 15
) -> tuple[list[Distinctive], list[Distinctive]]:
    """The words most typical of a (vs b) and of b (vs a), strongest first.

    Only the winners become objects: busy accounts have tens of thousands of words, and the app
    asks on every rerun."""
    scored = list(_scores(a, b, None))
    of_a = heapq.nsmallest(limit, (s for s in scored if s[0] > 0), key=lambda s: (-s[0], s[1]))
    of_b = heapq.nsmallest(limit, (s for s in scored if s[0] < 0), key=lambda s: (s[0], s[1]))
    return (
        [Distinctive(word, z, y_a, y_b) for z, word, y_a, y_b in of_a],
        [Distinctive(word, z, y_a, y_b) for z, word, y_a, y_b in of_b],
    )
