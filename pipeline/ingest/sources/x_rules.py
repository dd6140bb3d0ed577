"""The filtered stream's rules: the topic lexicon's terms packed into as few OR-rules as they fit
in, and the account's rules of our tag made exactly those (:func:`sync_rules`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import tweepy

from pipeline.errors import TrendoffError
from pipeline.text import Lexicon

RULE_TAG = "trendoff"
# The rule length limit of the standard access levels (academic access allows 1,024).
MAX_RULE_LENGTH = 512
_OR = " OR "


def rule_keywords(lexicon: Lexicon) -> list[str]:
    """Every term of the lexicon once, in lexicon order, as a rule keyword: a multi-word term in
    quotes (an exact phrase), as the lexicon matches it against consecutive tokens."""
    terms = dict.fromkeys(
        " ".join(tokens) for terms in lexicon.categories.values() for tokens in terms
    )
    return [f'"{term}"' if " " in term else term for term in terms]


def pack_rules(keywords: Sequence[str], limit: int = MAX_RULE_LENGTH) -> list[str]:
    """The keywords joined with OR into rules of at most ``limit`` characters, each rule filled
    before the next starts. Terms are far shorter than a rule, so this wastes less than one term
    per rule: X limits the number of rules, so fewer, fuller rules leave room for others."""
    rules: list[str] = []
    current = ""
    for keyword in keywords:
        if len(keyword) > limit:
            raise TrendoffError(
                f"lexicon term {keyword} is {len(keyword)} characters; a stream rule holds {limit}"
            )
        joined = f"{current}{_OR}{keyword}" if current else keyword
        if len(joined) <= limit:
            current = joined
        else:
            rules.append(current)
            current = keyword
    if current:
        rules.append(current)
    return rules


@dataclass(frozen=True)
class RuleSync:
    """What :func:`sync_rules` did, by rule value."""

    kept: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def sync_rules(client: Any, wanted: Sequence[str], tag: str = RULE_TAG) -> RuleSync:
    """Make the rules tagged ``tag`` exactly ``wanted``, through a tweepy StreamingClient that
    returns dicts; rules of other tags are not touched. Nothing is posted when nothing changes."""
    current = client.get_rules().get("data") or []
    ours = [rule for rule in current if isinstance(rule, dict) and rule.get("tag") == tag]
    wanted_values = set(wanted)
    kept: dict[str, str] = {}
    stale: dict[str, str] = {}  # id -> value
    for rule in ours:
        value, rule_id = rule.get("value"), str(rule.get("id"))
        if value in wanted_values and value not in kept:
            kept[value] = rule_id
        else:  # no longer wanted, or a duplicate of one kept
            stale[rule_id] = str(value)
    # Deleting first frees room under the account's rule limit for the additions.
    if stale:
        _check_rule_answer(client.delete_rules(list(stale)), "delete")
    added = [value for value in dict.fromkeys(wanted) if value not in kept]
    if added:
        _check_rule_answer(
            client.add_rules([tweepy.StreamRule(value=value, tag=tag) for value in added]), "add"
        )
    return RuleSync(kept=list(kept), added=added, deleted=list(stale.values()))


def _check_rule_answer(response: Any, action: str) -> None:
    # X answers 200 with "errors" when it refuses some rules (invalid, duplicate, over the limit).
    errors = response.get("errors") if isinstance(response, dict) else None
    if errors:
        raise TrendoffError(
            f"X refused to {action} stream rules: {json.dumps(errors)[:500]}",
            hint="see the rule limits of your X API access level",
        )
