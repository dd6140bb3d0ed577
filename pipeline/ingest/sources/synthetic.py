"""A deterministic stream of demo posts: the same seed always yields the same posts.

Accounts (handles ``demo_<word>_<n>``) each have their own vocabulary and favourite drinks.
Posts follow a daily rhythm (busy evenings, quiet nights); now and then a burst makes one drink the
talk of the hour. Without a ``start`` the generator is live: each post is dated at the wall clock
when it is made (pace it with ``--rate``), so the app never shows demo posts from the future. With a
``start`` it simulates its own timeline from there, with exponential gaps between posts, which the
tests use to check the rhythm. Drinks are named as plain words in the
text ("coffee", "red bull", "orange juice", ...) so a word-based lexicon finds them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pipeline.ingest.model import Post, Rejected

SOURCE_LABEL = "synthetic"
DEFAULT_ACCOUNTS = 50

DRINKS: dict[str, tuple[str, ...]] = {
    "coffee": ("coffee", "espresso", "latte", "cappuccino"),
    "tea": ("tea", "green tea", "chai"),
    "beer": ("beer", "lager", "ipa"),
    "wine": ("wine", "red wine", "prosecco"),
    "water": ("water", "sparkling water"),
    "energy drinks": ("red bull", "monster energy", "energy drink"),
    "juice": ("orange juice", "apple juice", "smoothie"),
    "soft drinks": ("cola", "lemonade", "soda"),
}
_HANDLE_WORDS = (
    "otter", "maple", "comet", "harbor", "pixel", "saffron", "tundra", "velvet", "quartz", "meadow",
    "ember", "falcon", "willow", "cobalt", "juniper", "lumen", "orbit", "pepper", "raven", "sierra",
)  # fmt: skip
_COMMON_WORDS = (
    "today", "really", "just", "morning", "tonight", "friends", "work", "weekend", "love", "need",
    "time", "great", "new", "again", "finally", "home", "city", "day", "good", "best",
)  # fmt: skip
_TOPIC_WORDS = (
    "football", "music", "coding", "garden", "running", "movies", "books", "travel", "cooking",
    "cycling", "photography", "gaming", "yoga", "jazz", "markets", "science", "art", "hiking",
    "chess", "fashion", "podcasts", "startups", "climate", "history", "poetry", "baking",
    "surfing", "design", "theatre", "astronomy", "robots", "cats", "dogs", "tennis", "skiing",
)  # fmt: skip
_VERBS = ("drinking", "craving", "enjoying", "sharing", "ordering", "brewing", "spilled", "found")

# Posts per hour over the day (UTC), peaking in the evening: 0.3x at 4 am to 1.7x at 8 pm.
_BASE_POSTS_PER_HOUR = 240.0
_PEAK_HOUR = 20
_BURST_CHANCE_PER_HOUR = 0.08
_BURST_MINUTES = (20, 90)
_BURST_RATE_FACTOR = 4.0


@dataclass(frozen=True, slots=True)
class _Account:
    handle: str
    name: str
    vocabulary: tuple[str, ...]
    favourite_drinks: tuple[str, ...]
    drink_chance: float
    followers: int
    following: int
    region: str


_REGIONS = ("Berlin", "Lisbon", "Toronto", "Osaka", "Nairobi", "Austin", "Melbourne", "Oslo")


def _accounts(rng: random.Random, count: int) -> list[_Account]:
    accounts = []
    for number in range(count):
        word = _HANDLE_WORDS[number % len(_HANDLE_WORDS)]
        accounts.append(
            _Account(
                handle=f"demo_{word}_{number}",
                name=f"Demo {word.title()} {number}",
                vocabulary=tuple(rng.sample(_TOPIC_WORDS, 5)),
                favourite_drinks=tuple(rng.sample(sorted(DRINKS), 2)),
                drink_chance=rng.uniform(0.15, 0.6),
                followers=int(rng.lognormvariate(6, 1.5)),
                following=int(rng.lognormvariate(5, 1)),
                region=rng.choice(_REGIONS),
            )
        )
    return accounts


def posts_per_hour(moment: datetime) -> float:
    """The undisturbed posting rate at ``moment``: a daily wave, busiest at 20:00 UTC."""
    hour = moment.hour + moment.minute / 60
    return _BASE_POSTS_PER_HOUR * (1 + 0.7 * math.cos(2 * math.pi * (hour - _PEAK_HOUR) / 24))


class SyntheticSource:
    """Demo posts from ``seed``; endless unless ``limit`` is given. Dated at ``clock`` (the wall
    clock) when made, or on a simulated timeline from ``start`` when one is given."""

    name = "synthetic"

    def __init__(
        self,
        *,
        seed: int = 0,
        accounts: int = DEFAULT_ACCOUNTS,
        start: datetime | None = None,
        limit: int | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if accounts < 1:
            raise ValueError("the synthetic source needs at least one account")
        if limit is not None and limit < 0:
            raise ValueError("limit must not be negative")
        if start is not None and start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.seed = seed
        self.account_count = accounts
        self.start = start.astimezone(UTC) if start is not None else None
        self.limit = limit
        self.clock = clock

    def records(self) -> Iterator[Post | Rejected]:
        rng = random.Random(self.seed)
        accounts = _accounts(rng, self.account_count)
        # Post counts keep rising per account, like a real profile's tweet count.
        post_counts = [rng.randrange(100, 5000) for _ in accounts]
        live = self.start is None
        moment = self.clock() if self.start is None else self.start
        burst_drink: str | None = None
        burst_until = moment
        next_burst_check = moment
        number = 0
        while self.limit is None or number < self.limit:
            if moment >= next_burst_check:
                next_burst_check = moment + timedelta(hours=1)
                if burst_drink is None and rng.random() < _BURST_CHANCE_PER_HOUR:
                    burst_drink = rng.choice(sorted(DRINKS))
                    burst_until = moment + timedelta(minutes=rng.randint(*_BURST_MINUTES))
            if burst_drink is not None and moment >= burst_until:
                burst_drink = None
            rate = posts_per_hour(moment) * (_BURST_RATE_FACTOR if burst_drink else 1.0)
            gap = timedelta(seconds=rng.expovariate(rate / 3600))
            # Live, the gap is drawn all the same so a seed yields the same texts either way.
            moment = max(moment, self.clock()) if live else moment + gap
            author_index = rng.randrange(len(accounts))
            account = accounts[author_index]
            post_counts[author_index] += 1
            yield Post(
                post_id=f"synthetic-{self.seed}-{number}",
                source=SOURCE_LABEL,
                author_id=account.handle,
                author_handle=account.handle,
                text=_text(rng, account, burst_drink),
                # Whole milliseconds: what Avro's timestamp-millis keeps, so posts round-trip.
                created_at=moment.replace(microsecond=moment.microsecond // 1000 * 1000),
                author_name=account.name,
                lang="en",
                region=account.region,
                followers=account.followers,
                following=account.following,
                author_post_count=post_counts[author_index],
                is_retweet=rng.random() < 0.1,
                retweet_count=int(rng.expovariate(0.5)),
                like_count=int(rng.expovariate(0.2)),
            )
            number += 1


def _text(rng: random.Random, account: _Account, burst_drink: str | None) -> str:
    words = rng.choices(account.vocabulary, k=rng.randint(1, 3))
    words += rng.choices(_COMMON_WORDS, k=rng.randint(2, 6))
    drink: str | None = None
    if burst_drink is not None and rng.random() < 0.7:
        drink = burst_drink
    elif rng.random() < account.drink_chance:
        drink = rng.choice(account.favourite_drinks)
    if drink is not None:
        words.insert(rng.randrange(len(words) + 1), f"{rng.choice(_VERBS)} {_phrase(rng, drink)}")
    rng.shuffle(words)
    return " ".join(words)


def _phrase(rng: random.Random, drink: str) -> str:
    return rng.choice(DRINKS[drink])
