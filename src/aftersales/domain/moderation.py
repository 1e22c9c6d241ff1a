"""R5.7: automatic checks on what a shop writes to a buyer. Pure: no I/O, no clock.

A shop's message that contains abuse, a threat, advertising, a phone number or a link or
contact id off the platform is *held* for the sender to edit; buyers' messages are checked
and their flags recorded, but never held; platform agents' messages are not checked.

Every flag is explainable: its kind, the span ``[start, end)`` of the original text it
covers, that text, and the vocabulary term or the named pattern that matched. The
vocabulary lives in the policy profile (``[messages]``), never here.

Matching works on a normalised view of the text (each character NFKC-normalised and
case-folded, so full-width ``ＴＡＯＢＡＯ．ＣＯＭ`` reads ``taobao.com``); phone patterns
additionally read Chinese numerals as digits (``一三八…``). Spans are mapped back to the
original text, so ``text[flag.start:flag.end] == flag.text`` always holds.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from itertools import pairwise
from typing import Any

from aftersales.domain.case_types import ActorKind
from aftersales.domain.i18n import N_
from aftersales.domain.policy import Messages

RULE = "R5.7"


class FlagKind(StrEnum):
    ABUSE = "abuse"
    THREAT = "threat"
    ADVERTISING = "advertising"
    PHONE_NUMBER = "phone_number"
    THIRD_PARTY_LINK = "third_party_link"  # URLs, bare domains, e-mail, WeChat/QQ ids


KIND_LABELS: dict[FlagKind, str] = {
    FlagKind.ABUSE: N_("abusive language"),
    FlagKind.THREAT: N_("a threat"),
    FlagKind.ADVERTISING: N_("advertising"),
    FlagKind.PHONE_NUMBER: N_("a phone number"),
    FlagKind.THIRD_PARTY_LINK: N_("a third-party link or contact id"),
}


@dataclass(frozen=True, slots=True)
class Flag:
    kind: FlagKind
    start: int  # offsets into the original text, end exclusive
    end: int
    text: str  # the original text[start:end]
    match: str  # the vocabulary term, or the name of the pattern, that matched

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "match": self.match,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Flag:
        return cls(
            FlagKind(data["kind"]),
            int(data["start"]),
            int(data["end"]),
            str(data["text"]),
            str(data["match"]),
        )


def holds(author: ActorKind, flags: Iterable[Flag]) -> bool:
    """R5.7: only a shop's flagged message is held (buyers' never; the platform's are not
    checked at all)."""
    return author is ActorKind.MERCHANT and any(True for _ in flags)


# --------------------------------------------------------------------------- normalising
# Typographic quotes read as ASCII ones, so "you’ll" matches the term "you'll".
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})

# Chinese numerals (and the spoken 幺 for 1) read as digits, for phone patterns only: the
# term view keeps them (二货 is a term, not a number).
_CJK_DIGITS = str.maketrans(
    {
        "〇": "0",
        "零": "0",
        "一": "1",
        "壹": "1",
        "幺": "1",
        "二": "2",
        "贰": "2",
        "两": "2",
        "三": "3",
        "叁": "3",
        "四": "4",
        "肆": "4",
        "五": "5",
        "伍": "5",
        "六": "6",
        "陆": "6",
        "七": "7",
        "柒": "7",
        "八": "8",
        "捌": "8",
        "九": "9",
        "玖": "9",
    }
)


def normalise(text: str) -> tuple[str, list[int]]:
    """The normalised view and, for each of its characters, the index of the original
    character it came from."""
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        norm = unicodedata.normalize("NFKC", ch).casefold().translate(_QUOTES)
        for c in norm:
            out.append(c)
            origin.append(i)
    return "".join(out), origin


# --------------------------------------------------------------------------- compiling
def _is_ascii_alnum(c: str) -> bool:
    return c.isascii() and c.isalnum()


def _term_pattern(term: str) -> str:
    """A vocabulary term as a regular expression over the normalised view.

    ASCII terms match whole words; inside a single ASCII word of four letters or more one
    separator may sit between letters (``f.u.c.k``); between characters where either is
    not ASCII (Chinese), up to two separators may sit (``傻*逼``, ``加 微信``)."""
    norm = normalise(term.strip())[0]
    words = norm.split()
    parts: list[str] = []
    for word in words:
        glue_ascii = r"[\W_]?" if len(word) >= 4 and word.isascii() and word.isalpha() else ""
        piece = re.escape(word[0])
        for prev, cur in pairwise(word):
            if prev.isascii() and cur.isascii():
                glue = glue_ascii
            elif prev.isalnum() and cur.isalnum():
                glue = r"[\W_]{0,2}"
            else:
                glue = ""
            piece += glue + re.escape(cur)
        parts.append(piece)
    body = r"\s+".join(parts)
    if _is_ascii_alnum(norm[0]):
        body = r"(?<![a-z0-9])" + body
    if _is_ascii_alnum(norm[-1]):
        body += r"(?![a-z0-9])"
    return body


@dataclass(frozen=True, slots=True)
class _Matcher:
    kind: FlagKind
    name: str
    regex: re.Pattern[str]
    digits: bool  # match against the view with Chinese numerals read as digits


@dataclass(frozen=True, slots=True)
class _Compiled:
    matchers: tuple[_Matcher, ...]
    allowed_hosts: tuple[str, ...]


@lru_cache(maxsize=32)
def _compile(rules: Messages) -> _Compiled:
    matchers: list[_Matcher] = []
    for kind, terms in (
        (FlagKind.ABUSE, rules.abuse),
        (FlagKind.THREAT, rules.threat),
        (FlagKind.ADVERTISING, rules.advertising),
    ):
        for term in terms:
            matchers.append(_Matcher(kind, term, re.compile(_term_pattern(term)), False))
    for p in rules.phone_patterns:
        matchers.append(_Matcher(FlagKind.PHONE_NUMBER, p.name, re.compile(p.pattern), True))
    for p in rules.link_patterns:
        matchers.append(_Matcher(FlagKind.THIRD_PARTY_LINK, p.name, re.compile(p.pattern), False))
    hosts = tuple(h.strip().lower().strip(".") for h in rules.allowed_link_hosts if h.strip())
    return _Compiled(tuple(matchers), hosts)


_SPELLED_DOT = re.compile(r"\s*(?:点|\(dot\)|\[dot\]|dot)\s*|。")


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    """The marketplace's own hosts and their subdomains are not third-party links."""
    h = _SPELLED_DOT.sub(".", host.lower()).strip(".")
    return any(h == a or h.endswith("." + a) for a in allowed)


# --------------------------------------------------------------------------- checking
def _matches(text: str, compiled: _Compiled) -> Iterator[Flag]:
    view, origin = normalise(text)
    digits = view.translate(_CJK_DIGITS)  # one character for one: offsets stay valid
    for m in compiled.matchers:
        for found in m.regex.finditer(digits if m.digits else view):
            s, e = found.span()
            if s == e:
                continue
            host = found.groupdict().get("host")
            if host and host_allowed(host, compiled.allowed_hosts):
                continue
            start, end = origin[s], origin[e - 1] + 1
            yield Flag(m.kind, start, end, text[start:end], m.name)


def _without_nested(flags: Iterable[Flag]) -> list[Flag]:
    """Of flags of one kind, a span inside another (a URL's domain inside the URL, +86 in
    the mobile pattern and the international one) is reported once, as the larger."""
    kept: list[Flag] = []
    for f in sorted(flags, key=lambda f: (f.kind.value, f.start, -f.end, f.match)):
        if any(k.kind is f.kind and k.start <= f.start and f.end <= k.end for k in kept):
            continue
        kept.append(f)
    return sorted(kept, key=lambda f: (f.start, f.end, f.kind.value, f.match))


def check(text: str, rules: Messages) -> list[Flag]:
    """R5.7: everything in ``text`` a shop may not send, in reading order."""
    if not text:
        return []
    return _without_nested(_matches(text, _compile(rules)))


def summary(flags: Iterable[Flag]) -> str:
    """A short, language-neutral list of what was flagged: ``phone_number “138…”``."""
    return "; ".join(f"{f.kind.value} “{f.text}”" for f in flags)
