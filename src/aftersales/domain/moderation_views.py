"""R5.7: how the moderation checks read a message, so that they see what a person sees.

Pure: the Unicode data comes from ICU (PyICU) and :mod:`unicodedata`; nothing else.

The **base view** of a message is built in four steps:

1. *Display order.* Each line is put in the order it is shown, by the Unicode
   bidirectional algorithm (UAX #9, ICU's ``Bidi``): a number written backwards inside a
   right-to-left override (``U+202E 87654321831``) reads ``13812345678``, as shown.
2. *Nothing invisible.* Format characters (category Cf: zero-width space, non-joiner and
   joiner, word joiner, soft hyphen, byte-order mark, the bidi controls, …) and the other
   default-ignorable code points (variation selectors, Hangul fillers, the combining
   grapheme joiner) are dropped.
3. *Compatibility forms.* Each character is NFKC-normalised and case-folded (full-width,
   mathematical and circled letters and digits become plain ones), typographic quotes
   read as ASCII quotes.
4. *Digits.* Every decimal digit of any script (Arabic-Indic ``١``, Devanagari ``१``,
   Thai ``๑``, …) and every other digit character (``➀``) reads as its ASCII digit.

Each check reads one view derived from it:

* :func:`phone`: Chinese numerals read as digits (``一三八``, ``幺``, ``壹``), for phone
  patterns only (``二货`` is a word, not a number).
* :func:`link`: every letter whose Unicode TS #39 skeleton is one ASCII letter or digit
  (Cyrillic ``а о с е х``, Greek ``ο``, dotless ``ı``) reads as that character, so
  ``tаobао.com`` reads ``taobao.com``.
* :func:`terms` (abuse, threats, advertising): English chat shorthand spelled out
  (``u``, ``ur``, ``ya``), leetspeak inside a word read as letters (``sh1t``, ``a$$``,
  ``b!tch``), diacritics dropped, and each character replaced by its TS #39 skeleton
  (ICU's ``SpoofChecker``), once as written and once upper-cased: confusables are
  case-sensitive (``I`` and ``l`` share a skeleton, ``i`` has its own), so the two
  readings together make ``IDlOT``, ``1diot``, ``ΙDΙΟΤ`` and ``ѕtupid`` read as the term
  ``idiot`` or ``stupid`` read the same way. Vocabulary terms are read the same way
  (:func:`term_keys`).

The base, phone and link views have one character for each other (indices agree); every
view records for each of its characters the index of the original character it came
from, so a finding maps back to the span of the message that shows it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import icu

# --------------------------------------------------------------------------- the view
_CACHE = 1 << 16  # distinct characters remembered by each per-character reading


@dataclass(frozen=True, slots=True)
class View:
    """A reading of a message: its text and, for each character, the index of the
    original character it came from."""

    text: str
    origin: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original ``[start, end)`` that shows ``self.text[start:end]`` (which may be
        in another order: display order is not logical order)."""
        chosen = self.origin[start:end]
        return min(chosen), max(chosen) + 1

    def within(self, start: int, end: int) -> str:
        """This view's characters that come from original ``[start, end)``."""
        return "".join(c for c, o in zip(self.text, self.origin, strict=True) if start <= o < end)


def _mapped(view: View, read: Callable[[str], str]) -> View:
    """Each character of ``view`` read as ``read(character)`` (none, one or several)."""
    out: list[str] = []
    origin: list[int] = []
    for ch, o in zip(view.text, view.origin, strict=True):
        r = read(ch)
        out.append(r)
        origin.extend([o] * len(r))
    return View("".join(out), tuple(origin))


# --------------------------------------------------------------------------- base view
# Characters that can change the order in which a line is shown (UAX #9 classes).
_REORDERING = {"R", "AL", "AN", "RLE", "RLO", "LRE", "LRO", "RLI", "LRI", "FSI", "PDF", "PDI"}
_PARAGRAPH = re.compile("[\n\r\x1c-\x1e\x85\u2029]")  # bidi class B: lines reorder apart


def _line_order(line: str) -> list[int]:
    """Indices of ``line`` in the order ICU's bidi algorithm shows them (LTR paragraph)."""
    if not any(unicodedata.bidirectional(c) in _REORDERING for c in line):
        return list(range(len(line)))
    try:
        ustr = icu.UnicodeString(line)
    except UnicodeError:  # a lone surrogate: ICU cannot take it; keep the logical order
        return list(range(len(line)))
    unit_owner: list[int] = []  # the code point of each UTF-16 code unit
    for i, c in enumerate(line):
        unit_owner.extend([i] * (2 if ord(c) > 0xFFFF else 1))
    bidi = icu.Bidi()
    bidi.setPara(ustr, 0)
    order: list[int] = []
    seen: set[int] = set()
    for unit in bidi.getVisualMap():
        i = unit_owner[int(unit)]
        if i not in seen:  # the two halves of a surrogate pair are one character
            seen.add(i)
            order.append(i)
    return order


def display_order(text: str) -> list[int]:
    """Indices of ``text`` in the order it is shown, line by line."""
    order: list[int] = []
    start = 0
    for brk in [*(m.start() for m in _PARAGRAPH.finditer(text)), len(text)]:
        order.extend(start + i for i in _line_order(text[start:brk]))
        if brk < len(text):
            order.append(brk)
        start = brk + 1
    return order


_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def _invisible(ch: str) -> bool:
    return unicodedata.category(ch) == "Cf" or bool(
        icu.Char.hasBinaryProperty(ch, icu.UProperty.DEFAULT_IGNORABLE_CODE_POINT)
    )


def _ascii_digit(ch: str) -> str:
    if ch.isascii():
        return ch
    value = unicodedata.decimal(ch, None)
    if value is None:
        value = unicodedata.digit(ch, None)
    return ch if value is None else str(value)


@lru_cache(maxsize=_CACHE)
def _read_base(ch: str) -> str:
    if _invisible(ch):
        return ""
    norm = unicodedata.normalize("NFKC", ch).casefold().translate(_QUOTES)
    return "".join(_ascii_digit(c) for c in norm if not _invisible(c))


def base(text: str) -> View:
    """The message as shown, without invisible characters, NFKC and case-folded, every
    digit ASCII."""
    order = display_order(text)
    return _mapped(View("".join(text[i] for i in order), tuple(order)), _read_base)


# --------------------------------------------------------------------------- phone view
# Chinese numerals (and the spoken 幺 for 1) read as digits, one character for one.
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


def phone(view: View) -> View:
    """The base view with Chinese numerals read as digits."""
    return View(view.text.translate(_CJK_DIGITS), view.origin)


# --------------------------------------------------------------------------- link view
_SPOOF = icu.SpoofChecker()


def skeleton(text: str) -> str:
    """The Unicode TS #39 skeleton of ``text`` (ICU), marks dropped."""
    return _without_marks(str(_SPOOF.getSkeleton(0, _without_marks(text))))


def _without_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


@lru_cache(maxsize=_CACHE)
def _read_link(ch: str) -> str:
    if ch.isascii():
        return ch
    look = skeleton(ch).casefold()
    return look if len(look) == 1 and look.isascii() and look.isalnum() else ch


def link(view: View) -> View:
    """The base view with look-alikes of ASCII letters and digits read as them."""
    return View("".join(_read_link(c) for c in view.text), view.origin)


# --------------------------------------------------------------------------- term views
# English chat shorthand, whole words: "i know where u live", "watch ur back".
_SHORTHAND = {"u": "you", "ur": "your", "ya": "you"}
_SHORT_WORD = re.compile(r"(?<![\w'.\-*#])(?:u|ur|ya)(?!\w|[.\-*#]\w)")  # not "s.t.u.p.i.d"
# Leetspeak inside a word that has a letter: "sh1t", "a$$hole", "b!tch", "m0r0n".
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
)
_LEET_WORD = re.compile(r"[a-z0-9@$!]+")  # taken only if it has a letter (see _de_leet)


def _substituted(view: View, pattern: re.Pattern[str], repl: Callable[[str], str]) -> View:
    """Each match of ``pattern`` in the view replaced by ``repl(match)``; every character
    of a replacement comes from the first original character of what it replaces."""
    out: list[str] = []
    origin: list[int] = []
    pos = 0
    for m in pattern.finditer(view.text):
        s, e = m.span()
        out.append(view.text[pos:s])
        origin.extend(view.origin[pos:s])
        new = repl(m.group())
        if len(new) == e - s:
            origin.extend(view.origin[s:e])
        else:
            origin.extend([view.origin[s]] * len(new))
        out.append(new)
        pos = e
    out.append(view.text[pos:])
    origin.extend(view.origin[pos:])
    return View("".join(out), tuple(origin))


def _de_leet(word: str) -> str:
    core = word.rstrip("!")  # "idiot!!" ends a sentence
    if not any("a" <= c <= "z" for c in core):
        return word  # a number, a price: no word to read
    return core.translate(_LEET) + word[len(core) :]


def _respelled(view: View) -> View:
    plain = _substituted(view, _SHORT_WORD, lambda w: _SHORTHAND[w])
    return _substituted(plain, _LEET_WORD, _de_leet)


@lru_cache(maxsize=_CACHE)
def _read_lower(ch: str) -> str:
    return skeleton(ch).casefold()


@lru_cache(maxsize=_CACHE)
def _read_upper(ch: str) -> str:
    return skeleton(ch.upper()).casefold()


def terms(view: View) -> tuple[View, View]:
    """The two skeleton readings of the respelled base view: as written, upper-cased."""
    plain = _respelled(view)
    return _mapped(plain, _read_lower), _mapped(plain, _read_upper)


def term_keys(term: str) -> tuple[str, str]:
    """A vocabulary term read as :func:`terms` reads a message."""
    lower, upper = terms(base(" ".join(term.split())))
    return lower.text, upper.text
