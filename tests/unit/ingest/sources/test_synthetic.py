from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.ingest.avro import decode_post, encode_post, post_from_record
from pipeline.ingest.model import Post
from pipeline.ingest.sources.synthetic import DRINKS, SyntheticSource

START = datetime(2024, 1, 1, tzinfo=UTC)


def posts(**options: object) -> list[Post]:
    """Posts on a simulated timeline from START (unless options say otherwise)."""
    options.setdefault("start", START)
    records = list(SyntheticSource(**options).records())  # type: ignore[arg-type]
    assert all(isinstance(r, Post) for r in records)
    return records  # type: ignore[return-value]


def test_same_seed_same_posts_other_seed_other_posts() -> None:
    assert posts(seed=7, limit=500) == posts(seed=7, limit=500)
    assert [p.text for p in posts(seed=8, limit=50)] != [p.text for p in posts(seed=7, limit=50)]


def test_posts_are_well_formed() -> None:
    sample = posts(seed=1, limit=2000, accounts=12)
    assert len(sample) == 2000
    assert len({p.post_id for p in sample}) == 2000
    assert {p.source for p in sample} == {"synthetic"}
    assert all(p.author_handle.startswith("demo_") for p in sample)
    assert len({p.author_handle for p in sample}) == 12
    times = [p.created_at for p in sample]
    assert times == sorted(times)
    assert times[0] > START
    assert all(t.tzinfo is UTC for t in times)
    assert all(post_from_record(decode_post(encode_post(p))) == p for p in sample[:200])


def test_infinite_without_limit() -> None:
    endless = SyntheticSource(seed=3).records()
    assert len(list(itertools.islice(endless, 10_000))) == 10_000


def test_drinks_are_mentioned_as_plain_words() -> None:
    texts = [p.text for p in posts(seed=2, limit=5000)]
    mentioned = {
        drink for drink, phrases in DRINKS.items() for t in texts if any(ph in t for ph in phrases)
    }
    assert mentioned == set(DRINKS)
    assert any("red bull" in t for t in texts)


def test_accounts_have_distinct_vocabularies() -> None:
    words_by_author: dict[str, Counter[str]] = {}
    for post in posts(seed=4, limit=5000, accounts=5):
        words_by_author.setdefault(post.author_handle, Counter()).update(post.text.split())
    top = [frozenset(w for w, _ in c.most_common(5)) for c in words_by_author.values()]
    assert len(set(top)) == 5


def test_daily_rhythm_and_bursts() -> None:
    sample = posts(seed=5, limit=40_000)
    days = (sample[-1].created_at - sample[0].created_at) / timedelta(days=1)
    assert days > 3
    by_hour = Counter(p.created_at.hour for p in sample)
    assert by_hour[20] > 3 * by_hour[8]  # evening peak, morning trough
    per_ten_minutes = Counter(
        p.created_at.replace(minute=p.created_at.minute // 10 * 10, second=0, microsecond=0)
        for p in sample
    )
    by_hour_mean = {h: by_hour[h] / (days * 6) for h in range(24)}
    bursts = [slot for slot, n in per_ten_minutes.items() if n > 2.5 * by_hour_mean[slot.hour]]
    assert bursts, "expected at least one burst over several days"


def test_rejects_bad_options() -> None:
    with pytest.raises(ValueError, match="account"):
        SyntheticSource(accounts=0)
    with pytest.raises(ValueError, match="timezone"):
        SyntheticSource(start=datetime(2024, 1, 1))  # noqa: DTZ001 - on purpose


def test_live_posts_are_dated_at_the_wall_clock_when_made() -> None:
    wall = [datetime(2031, 3, 3, 9, 0, 0, 123456, tzinfo=UTC)]

    def clock() -> datetime:
        wall[0] += timedelta(seconds=2)
        return wall[0]

    records = SyntheticSource(seed=7, limit=5, clock=clock).records()
    for _ in range(5):
        post = next(records)
        assert isinstance(post, Post)
        # Whole milliseconds (what Avro keeps) of the clock's time when the post was made.
        assert post.created_at == wall[0].replace(microsecond=123000)
    # The same seed writes the same texts live as on a simulated timeline.
    live = [p.text for p in SyntheticSource(seed=7, limit=50).records() if isinstance(p, Post)]
    assert live == [p.text for p in posts(seed=7, limit=50)]
