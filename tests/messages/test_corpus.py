"""R5.7 (issue 11 §7): a corpus of obfuscated shop messages that must be held, and of
ordinary after-sales messages in zh_CN and en that must not be.

The corpus lives in ``tests/messages/corpus/`` (one message a line, ``\\uXXXX`` escapes
for invisible characters; ``obfuscated.txt`` starts each line with the kind it must
raise). The test reports the held rates (shown with ``pytest -rP``) and holds them to the
bar: at least 95 % of the obfuscated messages held with their kind, no ordinary one held.
A shop message is held when it has a flag (``moderation.holds``), so "held" here is "has
a flag" for a shop author.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from aftersales.domain.case_types import ActorKind
from aftersales.domain.moderation import FlagKind, check, holds
from aftersales.domain.policy import Messages, Profile
from aftersales.profiles import load_profiles

CORPUS = Path(__file__).parent / "corpus"
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})")
MIN_OBFUSCATED, MIN_ORDINARY = 100, 200
HELD_BAR = 0.95


def read_corpus(name: str) -> list[str]:
    """The messages of one corpus file, escapes decoded."""
    out: list[str] = []
    for raw in (CORPUS / name).read_text("utf-8").splitlines():
        if raw.strip() and not raw.startswith("#"):
            out.append(_ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), raw))
    return out


@dataclass(frozen=True)
class Case:
    kind: FlagKind
    text: str


def obfuscated() -> list[Case]:
    cases = []
    for line in read_corpus("obfuscated.txt"):
        kind, _, text = line.partition(" ")
        cases.append(Case(FlagKind(kind), text))
    return cases


def rules_of(profile_id: str) -> Messages:
    profile: Profile = load_profiles()[profile_id]
    assert profile.messages is not None
    return profile.messages


@pytest.fixture(scope="module", params=["douyin", "tiktok"])
def rules(request: pytest.FixtureRequest) -> Messages:
    return rules_of(request.param)


def test_R5_7_the_corpus_is_large_and_varied_enough() -> None:
    cases = obfuscated()
    assert len(cases) >= MIN_OBFUSCATED
    assert {c.kind for c in cases} == set(FlagKind)
    zh, en = read_corpus("ordinary_zh.txt"), read_corpus("ordinary_en.txt")
    assert len(zh) + len(en) >= MIN_ORDINARY and min(len(zh), len(en)) >= 100
    everything = [c.text for c in cases] + zh + en
    assert len(set(everything)) == len(everything), "a message is listed twice"


def test_hardening_R5_7_obfuscated_shop_messages_are_held(rules: Messages) -> None:
    cases = obfuscated()
    missed = [c for c in cases if c.kind not in {f.kind for f in check(c.text, rules)}]
    held = sum(holds(ActorKind.MERCHANT, check(c.text, rules)) for c in cases)
    rate = (len(cases) - len(missed)) / len(cases)
    print(
        f"obfuscated: {held}/{len(cases)} held, {len(cases) - len(missed)} with their kind "
        f"({rate:.1%}); missed: {[c.text for c in missed]}"
    )
    assert rate >= HELD_BAR, [(c.kind.value, c.text) for c in missed]


# The zh_CN messages are Douyin shops' (they name Douyin's own hosts, third-party on TikTok
# Shop); the English ones are checked under both profiles.
@pytest.mark.parametrize(
    "profile_id, name",
    [("douyin", "ordinary_zh.txt"), ("douyin", "ordinary_en.txt"), ("tiktok", "ordinary_en.txt")],
)
def test_hardening_R5_7_ordinary_after_sales_messages_are_not_held(
    profile_id: str, name: str
) -> None:
    rules = rules_of(profile_id)
    messages = read_corpus(name)
    held = {t: check(t, rules) for t in messages if holds(ActorKind.MERCHANT, check(t, rules))}
    print(f"{name}: {len(held)}/{len(messages)} held")
    assert held == {}
