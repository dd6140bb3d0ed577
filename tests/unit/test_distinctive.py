from __future__ import annotations

import math

from pipeline.distinctive import distinctive_words, log_odds_z


def test_words_used_by_one_side_lean_to_that_side() -> None:
    a = {"coffee": 40, "the": 100, "espresso": 12}
    b = {"tea": 35, "the": 100, "chai": 10}
    of_a, of_b = distinctive_words(a, b, limit=2)
    assert [item.word for item in of_a] == ["coffee", "espresso"]
    assert [item.word for item in of_b] == ["tea", "chai"]
    assert all(item.z > 0 for item in of_a)
    assert all(item.z < 0 for item in of_b)


def test_a_word_used_equally_scores_zero() -> None:
    scored = {item.word: item.z for item in log_odds_z({"x": 5, "y": 5}, {"x": 5, "y": 5})}
    assert scored == {"x": 0.0, "y": 0.0}


def test_prior_damps_one_off_words() -> None:
    a = {"rare": 1, "common": 50}
    b = {"common": 10, "other": 41}
    scored = {item.word: item.z for item in log_odds_z(a, b)}
    assert scored["common"] > scored["rare"] > 0


def test_swapping_sides_negates_every_score() -> None:
    a, b = {"p": 3, "q": 9, "r": 1}, {"p": 7, "q": 2, "s": 4}
    forward = {item.word: item.z for item in log_odds_z(a, b)}
    backward = {item.word: item.z for item in log_odds_z(b, a)}
    assert forward.keys() == backward.keys()
    for word, z in forward.items():
        assert math.isclose(z, -backward[word], abs_tol=1e-12)


def test_an_empty_side_has_no_distinctive_words() -> None:
    assert log_odds_z({}, {"x": 1}) == []
    assert distinctive_words({"x": 1}, {}) == ([], [])
