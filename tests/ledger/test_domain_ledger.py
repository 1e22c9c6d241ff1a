"""The double-entry rules of the ledger's domain (no database): an entry balances per
currency and moves something; a reversal is the mirror; R14.1 fines and R14.2 statutory
compensation come from the profile."""

from __future__ import annotations

import pytest

from aftersales.domain import ledger as L
from aftersales.domain.errors import ValidationFailed
from aftersales.domain.money import Money
from aftersales.domain.policy import Profile
from aftersales.profiles import load_profiles

SHOP, BUYER = 7, 42


@pytest.fixture(scope="module")
def douyin() -> Profile:
    return load_profiles()["douyin"]


def _acc(purpose: L.Purpose, currency: str = "CNY") -> L.AccountRef:
    return L.shop_account(SHOP, purpose, currency)


def test_an_entry_that_does_not_balance_is_refused():
    with pytest.raises(ValidationFailed) as exc:
        L.EntryDraft(
            L.EntryKind.REFUND,
            (
                L.Posting(_acc(L.Purpose.SETTLEMENT), -1_000),
                L.Posting(L.buyer_account(BUYER, "CNY"), 999),
            ),
        )
    assert exc.value.code == "ledger.unbalanced"
    assert "CNY -1" in exc.value.params["totals"]


def test_a_single_posting_is_refused_even_of_zero():
    for amount in (0, 500):
        with pytest.raises(ValidationFailed) as exc:
            L.EntryDraft(L.EntryKind.REFUND, (L.Posting(_acc(L.Purpose.SETTLEMENT), amount),))
        assert exc.value.code in ("ledger.empty_entry", "ledger.unbalanced")
    with pytest.raises(ValidationFailed) as exc:
        L.EntryDraft(L.EntryKind.REFUND, (L.Posting(_acc(L.Purpose.SETTLEMENT), 0),))
    assert exc.value.code == "ledger.empty_entry"
    with pytest.raises(ValidationFailed) as exc:
        L.EntryDraft(L.EntryKind.REFUND, ())
    assert exc.value.code == "ledger.empty_entry"


def test_mixed_currencies_must_each_balance():
    cny_out = L.Posting(_acc(L.Purpose.SETTLEMENT, "CNY"), -1_000)
    cny_in = L.Posting(L.buyer_account(BUYER, "CNY"), 1_000)
    usd_out = L.Posting(_acc(L.Purpose.SETTLEMENT, "USD"), -300)
    usd_in = L.Posting(L.buyer_account(BUYER, "USD"), 300)
    draft = L.EntryDraft(L.EntryKind.REFUND, (cny_out, cny_in, usd_out, usd_in))
    assert len(draft.postings) == 4

    # The grand total is zero, but neither currency balances on its own.
    cross = (cny_out, L.Posting(L.buyer_account(BUYER, "USD"), 1_000))
    with pytest.raises(ValidationFailed) as exc:
        L.EntryDraft(L.EntryKind.REFUND, cross)
    assert exc.value.code == "ledger.unbalanced"
    assert set(exc.value.params["totals"].split(", ")) == {"CNY -1000", "USD 1000"}

    with pytest.raises(ValidationFailed) as exc:
        L.EntryDraft(L.EntryKind.REFUND, (cny_out, cny_in, usd_out))
    assert exc.value.params["totals"] == "USD -300"


def test_amounts_are_integer_minor_units():
    with pytest.raises(ValidationFailed) as exc:
        L.EntryDraft(
            L.EntryKind.REFUND,
            (
                L.Posting(_acc(L.Purpose.SETTLEMENT), -1.5),  # type: ignore[arg-type]
                L.Posting(L.buyer_account(BUYER, "CNY"), 1.5),  # type: ignore[arg-type]
            ),
        )
    assert exc.value.code == "ledger.amount_not_integer"


def test_move_is_one_balanced_entry_and_refuses_non_positive_or_cross_currency():
    src, dst = _acc(L.Purpose.SETTLEMENT), L.buyer_account(BUYER, "CNY")
    draft = L.move(L.EntryKind.REFUND, src, dst, 2_500, memo="m")
    assert [(p.account, p.amount) for p in draft.postings] == [(src, -2_500), (dst, 2_500)]
    assert draft.rule == L.RULES[L.EntryKind.REFUND]
    for bad in (0, -1):
        with pytest.raises(ValidationFailed) as exc:
            L.move(L.EntryKind.REFUND, src, dst, bad)
        assert exc.value.code == "ledger.amount_not_positive"
    with pytest.raises(ValidationFailed) as exc:
        L.move(L.EntryKind.REFUND, src, L.buyer_account(BUYER, "USD"), 1)
    assert exc.value.code == "money.currency_mismatch"


def test_R11_reversal_of_negates_every_posting():
    src, dst = _acc(L.Purpose.DEPOSIT), L.platform_account(L.Purpose.FINES, "CNY")
    original = L.move(L.EntryKind.FINE, src, dst, 12_345)
    mirror = L.reversal_of(original.postings, "wrong shop")
    assert mirror.kind is L.EntryKind.REVERSAL
    assert mirror.memo == "wrong shop"
    assert [(p.account, p.amount) for p in mirror.postings] == [(src, 12_345), (dst, -12_345)]
    # Original plus mirror nets every account to zero.
    net: dict[L.AccountRef, int] = {}
    for p in (*original.postings, *mirror.postings):
        net[p.account] = net.get(p.account, 0) + p.amount
    assert set(net.values()) == {0}
    # The mirror's fingerprint differs from the original's (a retry cannot be confused).
    assert mirror.fingerprint() != original.fingerprint()


def test_R14_1_fine_multiples_outside_the_profile_range_are_refused(douyin):
    m = douyin.money
    total = Money(10_800, "CNY")
    for multiple in (m.fine_multiple_min - 1, m.fine_multiple_max + 1, 0):
        with pytest.raises(ValidationFailed) as exc:
            L.fine_amount(total, multiple, douyin)
        assert exc.value.code == "fine.multiple_out_of_range"
        assert exc.value.rule == "R14.1"
        assert exc.value.params["lo"] == m.fine_multiple_min
        assert exc.value.params["hi"] == m.fine_multiple_max
    for multiple in range(m.fine_multiple_min, m.fine_multiple_max + 1):
        assert L.fine_amount(total, multiple, douyin) == Money(10_800 * multiple, "CNY")


def test_R14_2_statutory_compensation_is_three_times_the_price_at_least_the_minimum(douyin):
    m = douyin.money
    threshold = m.statutory_compensation_min // m.statutory_compensation_multiple
    below = Money(threshold - 100, "CNY")  # 3x is under the minimum
    above = Money(threshold + 100, "CNY")  # 3x is over it
    assert L.statutory_compensation(below, douyin) == Money(m.statutory_compensation_min, "CNY")
    assert L.statutory_compensation(above, douyin) == Money(
        above.amount * m.statutory_compensation_multiple, "CNY"
    )
    assert L.statutory_compensation(above, douyin).amount > m.statutory_compensation_min, (
        "the price above the threshold must exceed the minimum"
    )
    assert L.statutory_compensation(Money(0, "CNY"), douyin).amount == m.statutory_compensation_min


def test_R14_1_deposits_may_go_negative_only_when_the_profile_allows_debt(douyin):
    dep = _acc(L.Purpose.DEPOSIT)
    assert L.may_go_negative(dep, douyin) is douyin.money.deposit_debt_allowed
    debt = douyin.model_copy(
        update={"money": douyin.money.model_copy(update={"deposit_debt_allowed": True})}
    )
    assert L.may_go_negative(dep, debt) is True
    assert L.may_go_negative(L.buyer_account(BUYER, "CNY"), debt) is False
    assert L.may_go_negative(_acc(L.Purpose.SETTLEMENT), douyin) is True
