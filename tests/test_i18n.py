"""The zh_CN catalog covers every message shown to people, placeholders intact."""

from __future__ import annotations

import string
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from aftersales.i18n import normalise_locale, translate

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
ZH_CN_PO = SRC / "aftersales" / "locale" / "zh_CN" / "LC_MESSAGES" / "messages.po"

# Same markers as the `pybabel extract -k N_ -k t -k gettext -k translate` command:
# the message id is the first positional argument of each.
KEYWORDS: dict[str, None] = {"N_": None, "t": None, "gettext": None, "translate": None}
METHOD_MAP = [("**.py", "python")]


@cache
def extracted_msgids() -> frozenset[str]:
    ids = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(SRC), method_map=METHOD_MAP, keywords=KEYWORDS
    ):
        assert isinstance(message, str), message  # no plural keywords are configured
        ids.add(message)
    return frozenset(ids)


@cache
def zh_cn_catalog() -> Catalog:
    with ZH_CN_PO.open("rb") as fh:
        return read_po(fh, locale="zh_CN")


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def test_every_message_shown_to_people_exists_in_zh_CN() -> None:
    msgids = extracted_msgids()
    assert msgids, f"no messages extracted from {SRC}"
    catalog = zh_cn_catalog()
    missing = []
    for msgid in sorted(msgids):
        message = catalog.get(msgid)
        if message is None or not message.string or message.fuzzy:
            missing.append(msgid)
    assert not missing, (
        f"{len(missing)} message(s) lack a non-fuzzy zh_CN translation in {ZH_CN_PO.name}; "
        "run the pybabel extract/update commands and translate:\n"
        + "\n".join(f"  {msgid!r}" for msgid in missing)
    )


def test_zh_CN_keeps_the_placeholders_of_each_msgid() -> None:
    mismatched = [
        f"  {message.id!r}: {sorted(placeholders(message.id))} != "
        f"{sorted(placeholders(message.string))} in {message.string!r}"
        for message in zh_cn_catalog()
        if message.id and message.string
        if placeholders(message.id) != placeholders(message.string)
    ]
    assert not mismatched, "placeholders differ:\n" + "\n".join(mismatched)


def test_translate_fills_placeholders_in_zh_CN_and_en() -> None:
    zh = translate("Case {number} not found.", "zh-CN", number="AS1")
    assert "AS1" in zh
    assert zh != "Case AS1 not found."
    assert translate("Case {number} not found.", "en", number="AS1") == "Case AS1 not found."


@pytest.mark.parametrize(
    ("value", "expected"),
    [("zh", "zh_CN"), ("zh-CN", "zh_CN"), ("zh_CN.UTF-8", "zh_CN"), ("en-US", "en")],
)
def test_normalise_locale(value: str, expected: str) -> None:
    assert normalise_locale(value) == expected


def test_normalise_locale_falls_back_to_the_default() -> None:
    assert normalise_locale(None) == "zh_CN"
    assert normalise_locale(None, default="en") == "en"


def test_error_messages_show_codes_by_their_translated_labels() -> None:
    from aftersales.domain.errors import IllegalTransition
    from aftersales.i18n import error_message

    err = IllegalTransition(
        "transition.illegal",
        "A {type} request in state {state} cannot take action {action}.",
        rule="R2",
        type="return_refund",
        state="refunded",
        action="reject",
    )
    zh = error_message(err, "zh_CN")
    assert "退货退款" in zh and "return_refund" not in zh and "refunded" not in zh
    assert error_message(err, "en") == (
        "A Return and refund request in state Refunded cannot take action Request rejected."
    )
