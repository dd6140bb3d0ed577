from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.views import (
    PartitionProgress,
    SharedWord,
    bucket_series,
    floor_time,
    high_water_mark,
    merge_counts,
    merge_window_counts,
    rank_counts,
    rank_shared_words,
    unpack_vocabulary,
)

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_floor_time_to_window_boundaries() -> None:
    assert floor_time(at(59.999), 60) == T0
    assert floor_time(at(60), 60) == at(60)
    assert floor_time(at(-1), 60) == at(-60)
    with pytest.raises(ValueError, match="naive"):
        floor_time(datetime(2026, 1, 1), 60)  # noqa: DTZ001 - the point of the test


def test_high_water_is_the_slowest_partition_floored() -> None:
    progress = [
        PartitionProgress(0, max_offset=9, max_append_time=at(200), end_offset=20),
        PartitionProgress(1, max_offset=4, max_append_time=at(130), end_offset=9),
    ]
    assert high_water_mark(progress, checked_at=at(500), window_seconds=60) == at(120)


def test_caught_up_and_empty_partitions_do_not_hold_the_mark_back() -> None:
    progress = [
        PartitionProgress(0, max_offset=19, max_append_time=at(200), end_offset=20),  # caught up
        PartitionProgress(1, max_offset=None, max_append_time=None, end_offset=0),  # empty
    ]
    assert high_water_mark(progress, checked_at=at(430), window_seconds=60) == at(420)


def test_no_mark_while_a_partition_has_unwritten_records_only() -> None:
    progress = [
        PartitionProgress(0, max_offset=19, max_append_time=at(200), end_offset=20),
        PartitionProgress(1, max_offset=None, max_append_time=None, end_offset=3),
    ]
    assert high_water_mark(progress, checked_at=at(430), window_seconds=60) is None
    assert high_water_mark([], checked_at=at(430), window_seconds=60) is None


def test_merge_takes_speed_rows_from_the_high_water_mark_on() -> None:
    batch = {"coffee": 5, "tea": 1}
    speed = [("coffee", at(0), 7), ("coffee", at(60), 2), ("beer", at(120), 3), ("tea", at(0), 9)]
    assert merge_counts(batch, speed, high_water=at(60)) == {"coffee": 7, "tea": 1, "beer": 3}


def test_merge_without_batch_uses_all_speed_rows() -> None:
    speed = [("coffee", at(0), 7), ("coffee", at(60), 2), ("tea", at(0), 0)]
    assert merge_counts({}, speed, high_water=None) == {"coffee": 9}


def test_merge_of_whole_windows_takes_windows_from_the_high_water_mark_on() -> None:
    batch = {"coffee": 5, "tea": 1}
    windows = [(at(0), {"coffee": 7, "tea": 9}), (at(60), {"coffee": 2}), (at(120), {"beer": 3})]
    assert merge_window_counts(batch, windows, high_water=at(60)) == {
        "coffee": 7,
        "tea": 1,
        "beer": 3,
    }
    assert merge_window_counts({}, windows, high_water=None) == {
        "coffee": 9,
        "tea": 9,
        "beer": 3,
    }


@pytest.mark.parametrize("high_water", [None, at(0), at(60), at(120), at(180)])
def test_merge_of_whole_windows_equals_the_merge_of_their_rows(high_water: datetime | None) -> None:
    batch = {"coffee": 5, "tea": 1, "kvass": 2}
    windows = [
        (at(0), {"coffee": 7, "tea": 9, "zero": 0}),
        (at(60), {"coffee": 2, "kvass": 1}),
        (at(60), {"beer": 4}),  # a second row of one window: another packed chunk
        (at(120), {"beer": 3, "tea": 2}),
    ]
    rows = [(word, start, uses) for start, counts in windows for word, uses in counts.items()]
    assert merge_window_counts(batch, windows, high_water) == merge_counts(batch, rows, high_water)


def words_and_counts(words: list[SharedWord]) -> list[tuple[str, int, int]]:
    return [(item.word, item.count_a, item.count_b) for item in words]


def test_shared_words_rank_by_combined_count_then_code_point_order() -> None:
    a = {"кофе": 3, "beer": 2, "tea": 4, "only_a": 50, "Zed": 1}
    b = {"кофе": 1, "beer": 2, "tea": 1, "only_b": 70, "Zed": 3}
    # tea has 5; the other three tie at 4 and go by code point: "Z" (U+005A) < "b" < "к".
    ranked = rank_shared_words(a, b, 10, by="combined")
    assert words_and_counts(ranked) == [
        ("tea", 4, 1),
        ("Zed", 1, 3),
        ("beer", 2, 2),
        ("кофе", 3, 1),
    ]
    assert ranked[0] == SharedWord("tea", 4, 1, total_a=60, total_b=77)
    assert words_and_counts(rank_shared_words(a, b, 2, by="combined")) == [
        ("tea", 4, 1),
        ("Zed", 1, 3),
    ]
    assert rank_shared_words(a, {}, 5) == []


def test_shared_words_rank_by_what_both_use_not_what_one_uses_a_lot() -> None:
    # A busy account (10,000 words) and a quiet one (1,000 words), as BerlinBote and BizGod:
    # "berlin" is a's word (2,141 uses), used once by b; "diet" is b's word; "news" both use.
    a = {"berlin": 2141, "diet": 1, "news": 300, "today": 100, "rest_a": 7458}
    b = {"berlin": 1, "diet": 269, "news": 40, "today": 20, "rest_b": 670}
    ranked = rank_shared_words(a, b, None)
    assert [item.word for item in ranked] == ["news", "today", "berlin", "diet"]
    news = ranked[0]
    assert (news.rate_a, news.rate_b, news.both) == (30.0, 40.0, 30.0)
    # The combined ranking, kept as an option, puts one account's favourite first.
    assert rank_shared_words(a, b, 1, by="combined")[0].word == "berlin"
    assert len(rank_shared_words(a, b, 2)) == 2


def test_shared_words_tie_on_rate_goes_to_the_combined_count_then_the_word() -> None:
    a = {"x": 1, "y": 2, "z": 1, "pad": 6}  # 10 words
    b = {"x": 2, "y": 2, "z": 2, "pad": 14}  # 20 words
    # Per 1,000 words: pad min(600, 700); x, y and z all min(.., 100): y has more uses, then
    # x before z by code point.
    assert [item.word for item in rank_shared_words(a, b, None)] == ["pad", "y", "x", "z"]


def test_shared_words_ranking_must_be_known() -> None:
    with pytest.raises(ValueError, match="rank by"):
        rank_shared_words({"a": 1}, {"a": 1}, 5, by="loudest")


def test_rank_counts_ties_by_key() -> None:
    assert rank_counts({"b": 2, "a": 2, "c": 5}, 2) == [("c", 5), ("a", 2)]


def test_bucket_series_lists_every_bucket() -> None:
    minutes = [(at(0), 1), (at(60), 2), (at(3600), 4), (at(-60), 100), (at(7200), 100)]
    series = bucket_series(minutes, since=at(0), until=at(7200), step_seconds=3600)
    assert series == [(at(0), 3), (at(3600), 4)]
    with pytest.raises(ValueError, match="positive"):
        bucket_series(minutes, at(0), at(60), 0)


def test_unpack_vocabulary_joins_aligned_chunks() -> None:
    chunks = [("coffee\ntea", "3\n1"), ("don't\nкофе", "2\n7")]
    assert unpack_vocabulary(chunks) == {"coffee": 3, "tea": 1, "don't": 2, "кофе": 7}
    assert unpack_vocabulary([]) == {}


def test_unpack_vocabulary_refuses_misaligned_rows() -> None:
    with pytest.raises(ValueError, match="2 words but 1 counts"):
        unpack_vocabulary([("coffee\ntea", "3")])


def test_an_account_shows_the_handle_of_its_newest_post() -> None:
    from pipeline.views import AccountTally

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    tally = AccountTally()
    tally.add(3, t0 + timedelta(hours=1), t0 + timedelta(hours=5), "new")  # the speed row
    tally.add(7, t0, t0 + timedelta(hours=2), "old")  # the batch row, read second
    tally.add(1, None, None, None)  # a row written before rows carried handles
    assert (tally.posts, tally.first_post, tally.last_post) == (11, t0, t0 + timedelta(hours=5))
    assert tally.handle == "new"
    tied = AccountTally()
    tied.add(1, t0, t0, "b")
    tied.add(1, t0, t0, "a")
    assert tied.handle == "b"


def test_names_resolve_to_author_ids() -> None:
    from pipeline.views import resolve_account

    handles = {"did:plc:1": "alice.bsky.social", "did:plc:2": "bob.bsky.social", "carol": None}
    assert resolve_account("did:plc:2", handles) == "did:plc:2"
    assert resolve_account("alice.bsky.social", handles) == "did:plc:1"
    assert resolve_account("carol", handles) == "carol"
    assert resolve_account("nobody", handles) == "nobody"


def test_progress_past_the_end_of_a_recreated_topic_does_not_move_the_mark() -> None:
    # The topic was deleted and recreated: offsets restart at 0, the stored progress still holds
    # the old incarnation's offsets and append times. It says nothing about the new topic.
    emptied = [PartitionProgress(0, max_offset=99, max_append_time=at(200), end_offset=0)]
    refilled = [
        PartitionProgress(0, max_offset=99, max_append_time=at(200), end_offset=40),
        PartitionProgress(1, max_offset=9, max_append_time=at(300), end_offset=10),
    ]
    assert high_water_mark(emptied, checked_at=at(430), window_seconds=60) is None
    assert high_water_mark(refilled, checked_at=at(430), window_seconds=60) is None


def test_a_partition_without_progress_holds_the_mark_back_whatever_the_others_reached() -> None:
    others_caught_up = [
        PartitionProgress(0, max_offset=19, max_append_time=at(200), end_offset=20),
        PartitionProgress(1, max_offset=None, max_append_time=None, end_offset=1),
        PartitionProgress(2, max_offset=4, max_append_time=at(100), end_offset=5),
    ]
    assert high_water_mark(others_caught_up, checked_at=at(430), window_seconds=60) is None
    # Once it is written, it bounds the mark like any other partition.
    written = [
        *others_caught_up[::2],
        PartitionProgress(1, max_offset=0, max_append_time=at(70), end_offset=2),
    ]
    assert high_water_mark(written, checked_at=at(430), window_seconds=60) == at(60)
