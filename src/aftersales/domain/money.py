"""Money: integer minor units plus an ISO 4217 currency. Never floats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from babel.core import get_global
from babel.numbers import get_currency_precision, get_territory_currencies, list_currencies

from aftersales.domain.errors import ValidationFailed
from aftersales.domain.i18n import N_

# ISO 4217 as the Unicode CLDR (through Babel) carries it: every code, current or withdrawn.
_ISO_4217 = frozenset(list_currencies())


def is_iso_currency(code: str) -> bool:
    """An ISO 4217 code (``ZZZ`` is not; ``DEM``, withdrawn in 2002, is)."""
    return code in _ISO_4217


@lru_cache(maxsize=64)
def _tender_on(day: date) -> frozenset[str]:
    territories = get_global("territory_currencies")
    return frozenset(c for t in territories for c in get_territory_currencies(t, day))


def is_tender_on(code: str, day: date) -> bool:
    """Legal tender in some territory on ``day`` (CLDR): not a withdrawn currency, not a
    fund, metal or test code such as ``XAU`` or ``XXX``. What a payment can be made in."""
    return code in _tender_on(day)


def minor_unit_exponent(code: str) -> int:
    """Digits after the decimal point (CLDR): CNY 2, JPY 0, KWD 3."""
    return int(get_currency_precision(code))


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise ValidationFailed(
                "money.amount_not_integer",
                N_("Amounts are integers in minor units."),
                field="amount",
            )
        if not isinstance(self.currency, str) or self.currency not in _ISO_4217:
            raise ValidationFailed(
                "money.bad_currency",
                N_("Currency {currency} is not an ISO 4217 code."),
                field="currency",
                currency=self.currency,
            )

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValidationFailed(
                "money.currency_mismatch",
                N_("Cannot combine {a} with {b}."),
                a=self.currency,
                b=other.currency,
            )

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: int) -> Money:
        return Money(self.amount * factor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def number(self) -> str:
        """The amount as the currency writes it, without its code (CLDR digits: JPY 0)."""
        exp = minor_unit_exponent(self.currency)
        if exp == 0:
            return str(self.amount)
        sign = "-" if self.amount < 0 else ""
        whole, frac = divmod(abs(self.amount), 10**exp)
        return f"{sign}{whole}.{frac:0{exp}d}"

    def format(self) -> str:
        return f"{self.number()} {self.currency}"

    def __str__(self) -> str:
        return self.format()
