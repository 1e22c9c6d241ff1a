"""Translation for interfaces: Babel catalogs in ``aftersales/locale`` (zh_CN and en).

The English message ids are the ``en`` text. The zh_CN catalog is read from its ``.po``
file with Babel at first use, so no compile step can be forgotten.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from babel.messages.pofile import read_po

from aftersales.domain.errors import DomainError

if TYPE_CHECKING:
    from aftersales.domain.risk import Signal

LOCALES = ("zh_CN", "en")
DOMAIN = "messages"


def normalise_locale(value: str | None, default: str = "zh_CN") -> str:
    """Map 'zh', 'zh-CN', 'zh_CN.UTF-8', 'en-US'... onto a supported locale."""
    if not value:
        return default
    v = value.split(".")[0].replace("-", "_").lower()
    if v.startswith("zh"):
        return "zh_CN"
    if v.startswith("en"):
        return "en"
    return default


@cache
def catalog(locale: str) -> dict[str, str]:
    if locale == "en":
        return {}
    path = resources.files("aftersales") / "locale" / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as fh:
        cat = read_po(fh, locale=locale)
    return {str(m.id): str(m.string) for m in cat if m.id and m.string and not m.fuzzy}


def gettext(message: str, locale: str) -> str:
    return catalog(normalise_locale(locale)).get(message, message)


def translate(message: str, locale: str, **params: Any) -> str:
    text = gettext(message, locale)
    return text.format(**params) if params else text


def error_message(err: DomainError, locale: str) -> str:
    """The error in the caller's language; codes among its parameters (a state, an action,
    a request type, a party) are shown by their translated labels."""
    from aftersales.labels import PARAM_LABELS

    params = {
        key: gettext(PARAM_LABELS[key][value], locale)
        if key in PARAM_LABELS and isinstance(value, str) and value in PARAM_LABELS[key]
        else value
        for key, value in err.params.items()
    }
    return translate(err.message, locale, **params)


def risk_explanation(signal: Signal, locale: str) -> str:
    """Why an R15.2 risk signal fired, in the caller's language (a level by its label)."""
    from aftersales.domain.policy import RiskLevel
    from aftersales.domain.risk import LEVEL_LABELS

    params = {
        key: gettext(LEVEL_LABELS[RiskLevel(str(value))], locale) if key == "level" else value
        for key, value in signal.params.items()
    }
    return translate(signal.message, locale, **params)
