"""Double-entry ledger: accounts, postings and the movements of after-sales money.

Sign convention: an account's balance is the sum of its postings. For a party's account
(shop settlement, shop deposit, buyer refunds) a positive balance is money the platform
holds for, or owes to, that party. Platform accounts are negative while the platform has
money out (an advance not yet recovered); the gateway account is negative by what came in
from outside. Every entry's postings sum to zero per currency, so money is never created or
lost: it only moves between accounts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from aftersales.domain.errors import ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.domain.money import Money
from aftersales.domain.policy import Profile


class Party(StrEnum):
    BUYER = "buyer"
    SHOP = "shop"
    PLATFORM = "platform"
    INSURER = "insurer"
    CARRIER = "carrier"


class Purpose(StrEnum):
    REFUNDS = "refunds"  # buyer: refunds and compensation owed to the buyer (paid out, R11.3)
    SETTLEMENT = "settlement"  # shop: settlement balance 待结算/可提现
    DEPOSIT = "deposit"  # shop: 保证金
    ADVANCE = "advance"  # platform: money advanced for merchants 垫资 (R7)
    PAY_FIRST = "pay_first"  # platform: pay-first compensation 先行赔付 (R11.2)
    FINES = "fines"  # platform: fines income (R14.1)
    GATEWAY = "gateway"  # platform: clearing with the payment gateway (money in and out)
    SHIPPING_INSURANCE = "shipping_insurance"  # insurer: 运费险 payouts (R16.3)
    LOSSES = "losses"  # carrier: compensation for goods lost in transit


class EntryKind(StrEnum):
    ORDER_PAYMENT = "order_payment"
    DEPOSIT_TOP_UP = "deposit_top_up"
    REFUND = "refund"  # R5, R11.3: from the shop's settlement to the buyer
    ADVANCE = "advance"  # R7.1: the platform refunds first
    ADVANCE_RECOVERY = "advance_recovery"  # R7.2: from settlement, or the deposit
    PAY_FIRST = "pay_first"  # R11.2: the platform pays the buyer first
    PAY_FIRST_DEDUCTION = "pay_first_deduction"  # R11.2: from settlement or deposit
    FINE = "fine"  # R14.1: 1–3x the order amount, from the deposit
    STATUTORY_COMPENSATION = "statutory_compensation"  # R14.2: three times, minimum
    RETURN_FREIGHT = "return_freight"  # R16.3: merchant-side reasons: the merchant pays
    INSURANCE_PAYOUT = "insurance_payout"  # R16.3: shipping insurance pays the buyer
    CARRIER_COMPENSATION = "carrier_compensation"  # R10.4: loss in transit
    PAYOUT = "payout"  # R11.3: refunds leave to the original payment method
    REVERSAL = "reversal"
    APPEAL_REFUND = "appeal_refund"  # R12.1: a won appeal returns a pay-first deduction


RULES: dict[EntryKind, str] = {
    EntryKind.ORDER_PAYMENT: "R2",
    EntryKind.DEPOSIT_TOP_UP: "R14.1",
    EntryKind.REFUND: "R11.3",
    EntryKind.ADVANCE: "R7.1",
    EntryKind.ADVANCE_RECOVERY: "R7.2",
    EntryKind.PAY_FIRST: "R11.2",
    EntryKind.PAY_FIRST_DEDUCTION: "R11.2",
    EntryKind.FINE: "R14.1",
    EntryKind.STATUTORY_COMPENSATION: "R14.2",
    EntryKind.RETURN_FREIGHT: "R16.3",
    EntryKind.INSURANCE_PAYOUT: "R16.3",
    EntryKind.CARRIER_COMPENSATION: "R10.4",
    EntryKind.PAYOUT: "R11.3",
    EntryKind.APPEAL_REFUND: "R12.1",
    EntryKind.REVERSAL: "R11",
}


@dataclass(frozen=True, slots=True, order=True)
class AccountRef:
    party: Party
    party_id: int  # 0 for the platform's own accounts and for a single insurer/carrier
    purpose: Purpose
    currency: str

    @property
    def code(self) -> str:
        return f"{self.party.value}:{self.party_id}:{self.purpose.value}:{self.currency}"


def shop_account(shop_id: int, purpose: Purpose, currency: str) -> AccountRef:
    return AccountRef(Party.SHOP, shop_id, purpose, currency)


def buyer_account(buyer_id: int, currency: str) -> AccountRef:
    return AccountRef(Party.BUYER, buyer_id, Purpose.REFUNDS, currency)


def platform_account(purpose: Purpose, currency: str) -> AccountRef:
    return AccountRef(Party.PLATFORM, 0, purpose, currency)


def may_go_negative(account: AccountRef, profile: Profile) -> bool:
    """Deposits stay >= 0 unless the profile allows a debt (R14.1); buyers are never owed
    less than nothing; clearing, platform and shop settlement accounts may go negative."""
    if account.purpose is Purpose.DEPOSIT:
        return profile.money.deposit_debt_allowed
    return account.purpose is not Purpose.REFUNDS


@dataclass(frozen=True, slots=True)
class Posting:
    account: AccountRef
    amount: int  # minor units of account.currency; signed

    @property
    def money(self) -> Money:
        return Money(self.amount, self.account.currency)


@dataclass(frozen=True, slots=True)
class EntryDraft:
    kind: EntryKind
    postings: tuple[Posting, ...]
    memo: str = ""
    rule: str = ""

    def __post_init__(self) -> None:
        check_balanced(self.postings)

    def fingerprint(self) -> tuple[object, ...]:
        """What an idempotent retry must repeat exactly."""
        return (self.kind.value, tuple(sorted((p.account.code, p.amount) for p in self.postings)))


def check_balanced(postings: Iterable[Posting]) -> None:
    """Every entry sums to zero per currency and moves something."""
    totals: dict[str, int] = defaultdict(int)
    count = 0
    for p in postings:
        if not isinstance(p.amount, int) or isinstance(p.amount, bool):
            raise ValidationFailed(
                "ledger.amount_not_integer", N_("Amounts are integers in minor units.")
            )
        totals[p.account.currency] += p.amount
        count += 1
    if count < 2:
        raise ValidationFailed("ledger.empty_entry", N_("A journal entry moves money."))
    unbalanced = {cur: total for cur, total in totals.items() if total != 0}
    if unbalanced:
        raise ValidationFailed(
            "ledger.unbalanced",
            N_("Journal entry does not balance: {totals}."),
            totals=", ".join(f"{c} {t}" for c, t in unbalanced.items()),
        )


def move(
    kind: EntryKind, source: AccountRef, target: AccountRef, amount: int, memo: str = ""
) -> EntryDraft:
    """``amount`` leaves ``source`` and arrives at ``target``: one balanced entry."""
    if amount <= 0:
        raise ValidationFailed(
            "ledger.amount_not_positive", N_("The amount must be positive."), field="amount"
        )
    if source.currency != target.currency:
        raise ValidationFailed(
            "money.currency_mismatch",
            N_("Cannot combine {a} with {b}."),
            a=source.currency,
            b=target.currency,
        )
    return EntryDraft(kind, (Posting(source, -amount), Posting(target, amount)), memo, RULES[kind])


def reversal_of(postings: Iterable[Posting], memo: str) -> EntryDraft:
    """A mistake is corrected by the mirror entry, never by editing the original."""
    return EntryDraft(
        EntryKind.REVERSAL,
        tuple(Posting(p.account, -p.amount) for p in postings),
        memo,
        RULES[EntryKind.REVERSAL],
    )


def fine_amount(order_total: Money, multiple: int, profile: Profile) -> Money:
    """R14.1: a fine of ``multiple`` x the order amount, within the profile's range."""
    lo, hi = profile.money.fine_multiple_min, profile.money.fine_multiple_max
    if not lo <= multiple <= hi:
        raise ValidationFailed(
            "fine.multiple_out_of_range",
            N_("The fine multiple must be between {lo} and {hi}."),
            rule="R14.1",
            field="multiple",
            lo=lo,
            hi=hi,
        )
    return order_total * multiple


def statutory_compensation(price: Money, profile: Profile) -> Money:
    """R14.2: three times the price (退一赔三), at least the statutory minimum."""
    amount = price.amount * profile.money.statutory_compensation_multiple
    return Money(max(amount, profile.money.statutory_compensation_min), price.currency)
