"""Money: integer minor units plus an ISO 4217 currency; never floats."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aftersales.domain.errors import ValidationFailed
from aftersales.domain.money import Money


@pytest.mark.parametrize("amount", [299.99, 1.0, Decimal("2.50"), "100", True, None])
def test_money_refuses_non_integer_amounts(amount: object) -> None:
    with pytest.raises(ValidationFailed) as err:
        Money(amount, "CNY")  # type: ignore[arg-type]
    assert err.value.code == "money.amount_not_integer"


@pytest.mark.parametrize("currency", ["cny", "RMB1", "", "元", "CN"])
def test_money_refuses_bad_currency_codes(currency: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        Money(100, currency)
    assert err.value.code == "money.bad_currency"


def test_money_refuses_multiplying_by_a_float() -> None:
    with pytest.raises(ValidationFailed):
        Money(100, "CNY") * 1.5  # type: ignore[operator]


@pytest.mark.parametrize(
    "combine",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a <= b,
        lambda a, b: a > b,
        lambda a, b: a >= b,
    ],
    ids=["add", "sub", "lt", "le", "gt", "ge"],
)
def test_money_refuses_mixing_currencies(combine) -> None:
    with pytest.raises(ValidationFailed) as err:
        combine(Money(100, "CNY"), Money(100, "USD"))
    assert err.value.code == "money.currency_mismatch"


def test_money_arithmetic_in_one_currency() -> None:
    a, b = Money(29_999, "CNY"), Money(1, "CNY")
    assert a + b == Money(30_000, "CNY")
    assert a - b == Money(29_998, "CNY")
    assert b * 3 == Money(3, "CNY")
    assert b < a and a >= a and Money.zero("CNY") == Money(0, "CNY")
    assert Money(100, "CNY") != Money(100, "USD")


@pytest.mark.parametrize(
    ("money", "text"),
    [
        (Money(29_999, "CNY"), "299.99 CNY"),
        (Money(5, "CNY"), "0.05 CNY"),
        (Money(-1_050, "CNY"), "-10.50 CNY"),
        (Money(0, "USD"), "0.00 USD"),
        (Money(1_500, "JPY"), "1500 JPY"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_money_format(money: Money, text: str) -> None:
    assert money.format() == text
    assert str(money) == text


def test_hardening_money_refuses_a_code_that_is_not_iso_4217() -> None:
    with pytest.raises(ValidationFailed) as err:
        Money(100, "ZZZ")
    assert err.value.params["field"] == "currency"
    assert Money(100, "DEM").currency == "DEM"  # withdrawn, still an ISO 4217 code


def test_hardening_minor_units_come_from_cldr() -> None:
    assert Money(1234, "KWD").format() == "1.234 KWD"
    assert Money(1234, "JPY").format() == "1234 JPY"
    assert Money(1234, "CNY").format() == "12.34 CNY"


def test_hardening_ledger_statement_amounts_use_the_currency_digits() -> None:
    """The CLI's statement prints minor units as the currency writes them: 1234 minor
    units are 1234 yen, 1.234 dinars, 12.34 yuan (not a hundredth of each)."""
    from aftersales.cli.base import minor_text

    assert minor_text(1234, "JPY") == "1234" == Money(1234, "JPY").number()
    assert minor_text(1234, "KWD") == "1.234"
    assert minor_text(-1234, "CNY") == "-12.34"


def test_hardening_tender_is_what_circulates_on_the_day() -> None:
    from datetime import date

    from aftersales.domain.money import is_tender_on

    assert is_tender_on("CNY", date(2026, 12, 4)) and is_tender_on("USD", date(2026, 12, 4))
    assert not is_tender_on("XXX", date(2026, 12, 4))  # "no currency"
    assert not is_tender_on("DEM", date(2026, 12, 4)) and is_tender_on("DEM", date(1990, 1, 1))
