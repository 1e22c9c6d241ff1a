"""Money: integer minor units plus an ISO 4217 currency. Never floats."""

from __future__ import annotations

import re
from dataclasses import dataclass

from aftersales.domain.errors import ValidationFailed
from aftersales.domain.i18n import N_

_CURRENCY = re.compile(r"^[A-Z]{3}$")
# Minor-unit exponents for the currencies the shipped profiles use; others default to 2.
_EXPONENT = {"JPY": 0, "KRW": 0, "VND": 0, "IDR": 2}


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
        if not _CURRENCY.match(self.currency):
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

    def format(self) -> str:
        exp = _EXPONENT.get(self.currency, 2)
        if exp == 0:
            return f"{self.amount} {self.currency}"
        sign = "-" if self.amount < 0 else ""
        whole, frac = divmod(abs(self.amount), 10**exp)
        return f"{sign}{whole}.{frac:0{exp}d} {self.currency}"

    def __str__(self) -> str:
        return self.format()
