"""R5.7: automatic checks on what a shop writes to a buyer. Pure: no I/O, no clock.

A shop's message that contains abuse, a threat, advertising, a phone number or a link or
contact id off the platform is *held* for the sender to edit; buyers' messages are checked
and their flags recorded, but never held; platform agents' messages are not checked.

Every flag is explainable: its kind, the span ``[start, end)`` of the original text it
covers, that text, how the checks read it, and the vocabulary term or the named pattern
that matched. The vocabulary lives in the policy profile (``[messages]``), never here.

Matching works on views of the text that read it as a person sees it
(:mod:`aftersales.domain.moderation_views`): in display order, without invisible
characters, NFKC-normalised and case-folded (full-width ``ＴＡＯＢＡＯ．ＣＯＭ`` reads
``taobao.com``), every script's digits as ASCII digits, look-alike letters by their
Unicode TS #39 skeleton (``tаobао.com`` with Cyrillic ``а о``, ``IDlOT``); phone patterns
also read Chinese numerals as digits (``一三八…``). Spans are mapped back to the original
text, so ``text[flag.start:flag.end] == flag.text`` always holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

from aftersales.domain import moderation_views as views
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
    # ``text`` as the checks read it: shown order, invisible characters dropped, digits
    # and (for links) look-alike letters folded: ``U+202E 87654321831`` reads
    # ``13812345678``. Flags stored before it existed read as their text.
    read_as: str = ""

    def __post_init__(self) -> None:
        if not self.read_as:
            object.__setattr__(self, "read_as", self.text)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "match": self.match,
            "read_as": self.read_as,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Flag:
        return cls(
            FlagKind(data["kind"]),
            int(data["start"]),
            int(data["end"]),
            str(data["text"]),
            str(data["match"]),
            str(data.get("read_as") or data["text"]),
        )


def holds(author: ActorKind, flags: Iterable[Flag]) -> bool:
    """R5.7: only a shop's flagged message is held (buyers' never; the platform's are not
    checked at all)."""
    return author is ActorKind.MERCHANT and any(True for _ in flags)


# --------------------------------------------------------------------------- compiling
# Between the characters of a term: punctuation, an underscore, or a run of blanks. A gap
# of separators is atomic (taken whole, never split again): separators are never what
# follows a gap, and a gap that could be split many ways would backtrack without end
# on a long run of blanks.
_SEP = r"(?:[^\w\s]|_|\s+)"


def _gap(least: int) -> str:
    return f"(?>{_SEP}{{{least},3}})"


_MASKS = "*#"  # "f*ck", "sh#t": a letter hidden behind a mask


def _ascii_run(run: str) -> str:
    """A run of ASCII letters and digits of a term: written out (a long one with inner
    letters masked, ``f**k``), or with a separator between *every* two characters
    (``i d i o t``, ``f.u.c.k``) - not between some, so ``that's hit`` is not ``shit``."""
    chars = [re.escape(c) for c in run]
    if len(run) >= 4:
        inner = "".join(f"[{c}{re.escape(_MASKS)}]" for c in chars[1:-1])
        written = chars[0] + inner + chars[-1]
    else:
        written = "".join(chars)
    if len(run) < 3:
        return written
    return f"(?:{written}|{_gap(1).join(chars)})"


def _term_pattern(key: str) -> str:
    """A term, as :func:`moderation_views.term_keys` reads it, as a regular expression
    over a term view of a message.

    Runs of ASCII letters and digits match as :func:`_ascii_run` says, and as whole words
    (an English plural ``s``/``es`` allowed); up to three separators may sit between
    characters where either is not ASCII (``傻   逼``, ``找人 收拾 你``) and between the
    words of a term (``shut   up``)."""
    parts: list[str] = []
    for word in key.split():
        pieces = re.findall(r"[a-z0-9]+|.", word)
        piece = ""
        for i, cur in enumerate(pieces):
            if i:
                prev = pieces[i - 1]
                if prev[-1].isalnum() and cur[0].isalnum():
                    piece += _gap(0)
            piece += _ascii_run(cur) if _is_ascii_alnum(cur[0]) else re.escape(cur)
        parts.append(piece)
    body = _gap(0).join(parts)
    if _is_ascii_alnum(key[0]):
        body = r"(?<![a-z0-9])" + body
    if key[-1].isascii() and key[-1].isalpha():
        body += r"(?:e?s)?(?![a-z0-9])"
    elif _is_ascii_alnum(key[-1]):
        body += r"(?![a-z0-9])"
    return body


def _is_ascii_alnum(c: str) -> bool:
    return c.isascii() and c.isalnum()


class _Reading(StrEnum):
    """Which view of a message a matcher reads (see :mod:`moderation_views`)."""

    TERMS_LOWER = "terms_lower"
    TERMS_UPPER = "terms_upper"
    PHONE = "phone"
    LINK = "link"


@dataclass(frozen=True, slots=True)
class _Matcher:
    kind: FlagKind
    name: str
    regex: re.Pattern[str]
    reading: _Reading


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
            lower, upper = views.term_keys(term)
            for key, reading in ((lower, _Reading.TERMS_LOWER), (upper, _Reading.TERMS_UPPER)):
                if key:
                    matchers.append(_Matcher(kind, term, re.compile(_term_pattern(key)), reading))
    for p in rules.phone_patterns:
        regex = re.compile(p.pattern)
        matchers.append(_Matcher(FlagKind.PHONE_NUMBER, p.name, regex, _Reading.PHONE))
    for p in rules.link_patterns:
        regex = re.compile(p.pattern)
        matchers.append(_Matcher(FlagKind.THIRD_PARTY_LINK, p.name, regex, _Reading.LINK))
    hosts = tuple(h.strip().lower().strip(".") for h in rules.allowed_link_hosts if h.strip())
    return _Compiled(tuple(matchers), hosts)


_SPELLED_DOT = re.compile(r"\s*(?:点|\(dot\)|\[dot\]|dot|。|\.)\s*")


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    """The marketplace's own hosts and their subdomains are not third-party links."""
    h = _SPELLED_DOT.sub(".", host.lower()).strip(".")
    return any(h == a or h.endswith("." + a) for a in allowed)


# --------------------------------------------------------------------------- checking
def _matches(text: str, compiled: _Compiled) -> Iterator[Flag]:
    shown = views.base(text)
    lower, upper = views.terms(shown)
    read = {
        _Reading.TERMS_LOWER: lower,
        _Reading.TERMS_UPPER: upper,
        _Reading.PHONE: views.phone(shown),
        _Reading.LINK: views.link(shown),
    }
    for m in compiled.matchers:
        view = read[m.reading]
        for found in m.regex.finditer(view.text):
            s, e = found.span()
            if s == e:
                continue
            if "host" in found.re.groupindex and found.group("host"):
                hs, he = found.span("host")
                # a look-alike of an allowed host (dоuyin.com, Cyrillic о) is not allowed
                if shown.text[hs:he] == found.group("host") and host_allowed(
                    found.group("host"), compiled.allowed_hosts
                ):
                    continue
            start, end = view.span(s, e)
            if m.reading in (_Reading.PHONE, _Reading.LINK):
                read_as = found.group()
            else:
                read_as = shown.within(start, end)
            yield Flag(m.kind, start, end, text[start:end], m.name, read_as)


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
    """A short, language-neutral list of what was flagged: ``phone_number “138…”``, and
    how it was read where that differs: ``abuse “傻\u200b逼” → “傻逼”``."""
    return "; ".join(
        f"{f.kind.value} “{f.text}”" + (f" → “{f.read_as}”" if f.read_as != f.text else "")
        for f in flags
    )
