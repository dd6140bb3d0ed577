"""Views are keyed by the author id: an account that renames itself (a Bluesky handle change)
keeps one history, shown under its newest handle, in the speed layer, the batch layer and the
mixed state, exactly as the reference recount says."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.ingest.model import Post
from pipeline.jobs import batch
from pipeline.reference import recount_records
from pipeline.serving import Serving
from pipeline.settings import Settings
from pipeline.text import load_lexicon
from tests.integration.test_lambda_exact import drain, send

pytestmark = pytest.mark.integration

DID = "did:plc:renamed0000000000000000"
START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def post(number: int, author_id: str, handle: str, text: str) -> Post:
    return Post(
        post_id=f"at://{author_id}/app.bsky.feed.post/{number:06d}",
        source="bluesky",
        author_id=author_id,
        author_handle=handle,
        text=text,
        created_at=START + timedelta(minutes=number),
    )


def test_a_renamed_account_keeps_its_history_under_its_newest_handle(
    namespace_settings: Settings, tmp_path: Path, spark
) -> None:
    settings = namespace_settings.model_copy(
        update={"state_dir": tmp_path / "state", "ingest_window_seconds": 1}
    )
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "jvm").symlink_to(namespace_settings.state_dir / "jvm")
    before = [post(n, DID, "old.bsky.social", f"espresso morning {n} #coffee") for n in range(6)]
    other = [
        post(10 + n, "did:plc:other", "friend.bsky.social", "espresso and tea") for n in range(3)
    ]
    after = [post(20 + n, DID, "new.bsky.social", f"espresso again {n} #coffee") for n in range(4)]
    lexicon = load_lexicon()

    # Batch over the old name, speed over the new one: the mixed state must still be one account.
    send(settings, before + other)
    drain(settings, "speed", "master")
    time.sleep(2 * settings.ingest_window_seconds + 2)
    assert batch.run_once(settings, spark=spark).status == "succeeded"
    send(settings, after)
    drain(settings, "speed", "master")

    truth = recount_records(before + other + after, lexicon)
    with Serving(settings) as serving:
        accounts = {account.author_id: account for account in serving.accounts(limit=100)}
        assert set(accounts) == {DID, "did:plc:other"}
        renamed = accounts[DID]
        assert (renamed.handle, renamed.posts) == ("new.bsky.social", 10)
        assert renamed.first_post == START and renamed.last_post == START + timedelta(minutes=23)
        assert truth.accounts[DID].handle == "new.bsky.social"
        # People pick accounts by handle; the id works too, and both mean the same history.
        by_handle = serving.shared_words("new.bsky.social", "friend.bsky.social", None)
        assert by_handle == serving.shared_words(DID, "did:plc:other", None)
        assert by_handle == truth.shared_words("new.bsky.social", "friend.bsky.social", None)
        assert [word.word for word in by_handle] == ["espresso"]
        assert by_handle[0].count_a == 10
        assert serving.word_counts("new.bsky.social")["coffee"] == 10
        # Distinct authors count the account once under either name.
        top = serving.top_terms("hashtag", START, START + timedelta(hours=1))
        assert [(t.term, t.count, t.authors) for t in top] == [("#coffee", 10, 1)]
