"""Money movements through the services on SQLite and PostgreSQL (R5.2, R7, R11, R14,
R16): every one a balanced, idempotent ledger entry, and ``statements.check`` stays ok."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from aftersales.domain import ledger as L
from aftersales.domain.case_types import CaseType, State
from aftersales.domain.errors import Forbidden, IllegalTransition, NotFound, ValidationFailed
from aftersales.domain.money import Money
from aftersales.domain.policy import DeductionSource
from aftersales.services import cases as svc
from aftersales.services import money, statements
from aftersales.services.actors import Actor
from aftersales.store import ledger as store
from aftersales.store.schema import shop_freezes
from tests.evidence.proof import proof
from tests.factories import make_world
from tests.ledger.helpers import (
    AGENT,
    CNY,
    allow_deposit_debt,
    balance,
    buyer,
    deposit,
    entry,
    entry_by_key,
    invariant_problems,
    money_profile,
    money_rules,
    order_id,
    platform,
    postings,
    refunded,
    settlement,
    snapshot,
    total_paid,
)
from tests.services.support import CARRIER, handling, view

PAID = 10_000  # tests.factories: one unit at 10_000
FREIGHT = 800  # tests.factories default freight


def _ok(ctx) -> None:
    report = statements.check(ctx)
    assert report.ok, report.problems
    assert invariant_problems(ctx) == []


def _withdraw(ctx, shop_id: int, amount: int, key: str) -> None:
    """The shop withdraws part of its settlement balance (a payout to the gateway), so
    deductions (R11.2, R14.2) find less there than the order paid."""
    with ctx.db.write() as conn:
        store.post(
            conn,
            L.move(L.EntryKind.PAYOUT, settlement(shop_id), platform(L.Purpose.GATEWAY), amount),
            key,
            now=ctx.now(),
            shop_id=shop_id,
        )


def _returned(ctx, w, tracking: str, **kw) -> str:
    """A seven-day no-reason return (R7.1 conditions): approved, shipped back."""
    number = w.open(type=CaseType.RETURN_REFUND, reason="changed_mind", **kw)
    svc.approve_return(ctx, w.merchant, number)
    svc.ship_return(ctx, w.buyer, number, carrier="SF", tracking_number=tracking)
    return number


def _receive_and_refund(ctx, w, number: str):
    svc.return_delivered(ctx, CARRIER, number)
    svc.confirm_receipt(ctx, w.merchant, number)
    return svc.refund(ctx, w.merchant, number)


def _case_refund_entry(ctx, decision_id: int):
    return entry_by_key(ctx, f"refund-decision:{decision_id}")


# --------------------------------------------------------------------------- R2 / R11.3
def test_R2_an_order_payment_waits_in_the_shop_settlement(ctx):
    w = make_world(ctx)
    number = w.order()
    paid = total_paid(ctx, number)
    assert paid == PAID + FREIGHT
    e = entry_by_key(ctx, f"order:{number}:paid")
    assert e.kind == L.EntryKind.ORDER_PAYMENT.value and e.order_id == order_id(ctx, number)
    assert postings(ctx, e.id) == [
        ("platform", 0, "gateway", -paid),
        ("shop", w.shop_id, "settlement", paid),
    ]
    assert balance(ctx, settlement(w.shop_id)) == paid
    assert refunded(ctx, number) == 0
    _ok(ctx)


def test_R11_3_every_refund_decision_of_a_case_posts_settlement_to_buyer(ctx):
    w = make_world(ctx)
    # refund before shipment, whole order (freight back when the profile says so, R5.2)
    full = PAID + (FREIGHT if handling(ctx).freight_refundable else 0)
    unshipped = w.open(
        type=CaseType.REFUND_UNSHIPPED, reason="no_longer_needed", amount=full, shipped=False
    )
    svc.approve_refund(ctx, w.merchant, unshipped)
    # a counter-offer accepted (R5.2)
    partial = w.open(type=CaseType.REFUND_ONLY, reason="not_received", signed_ago=None)
    svc.counter_offer(ctx, w.merchant, partial, amount=6_000)
    svc.accept_offer(ctx, w.buyer, partial)
    # a return, received, refunded (R5.4)
    returned = _returned(ctx, w, "SF1000000000101")
    assert _receive_and_refund(ctx, w, returned).state is State.REFUNDED

    decisions = [r for n in (unshipped, partial, returned) for r in view(ctx, n).refunds]
    assert [r.amount for r in decisions] == [full, 6_000, PAID]
    for r in decisions:
        e = _case_refund_entry(ctx, r.id)
        assert e is not None, f"decision {r.id} moved no money"
        assert e.kind == L.EntryKind.REFUND.value
        assert e.rule == L.RULES[L.EntryKind.REFUND]
        assert postings(ctx, e.id) == [
            ("buyer", w.buyer_id, "refunds", r.amount),
            ("shop", w.shop_id, "settlement", -r.amount),
        ]
    assert balance(ctx, buyer(w.buyer_id)) == full + 6_000 + PAID
    assert balance(ctx, settlement(w.shop_id)) == 3 * (PAID + FREIGHT) - (full + 6_000 + PAID)
    _ok(ctx)


# --------------------------------------------------------------------------- R7
def test_R7_2_express_refund_is_recovered_from_settlement_and_not_paid_twice(ctx):
    w = make_world(ctx)
    number = _returned(ctx, w, "SF1000000000201")
    first = money.advance(ctx, AGENT, number)
    assert money.advance(ctx, AGENT, number) == first  # retried: one advance
    assert balance(ctx, buyer(w.buyer_id)) == PAID
    assert balance(ctx, platform(L.Purpose.ADVANCE)) == -PAID
    settled_before = balance(ctx, settlement(w.shop_id))

    case = _receive_and_refund(ctx, w, number)  # R7.2: the return is received

    assert case.state is State.REFUNDED
    [decision] = view(ctx, number).refunds
    assert decision.amount == PAID
    assert _case_refund_entry(ctx, decision.id) is None  # no second payment to the buyer
    recovery = entry_by_key(ctx, f"refund-decision:{decision.id}:recovery")
    assert recovery.kind == L.EntryKind.ADVANCE_RECOVERY.value
    assert postings(ctx, recovery.id) == [
        ("platform", 0, "advance", PAID),
        ("shop", w.shop_id, "settlement", -PAID),
    ]
    assert balance(ctx, platform(L.Purpose.ADVANCE)) == 0
    assert balance(ctx, buyer(w.buyer_id)) == PAID  # once
    assert balance(ctx, settlement(w.shop_id)) == settled_before - PAID
    assert refunded(ctx, view(ctx, number).order_number) == PAID
    _ok(ctx)


def test_R7_2_an_advance_is_recovered_from_the_deposit(ctx):
    w = make_world(ctx)
    money.top_up_deposit(ctx, AGENT, w.shop_id, 3 * PAID, CNY, "deposit-1")
    number = _returned(ctx, w, "SF1000000000301")
    money.advance(ctx, AGENT, number)

    eid = money.recover_advance(ctx, AGENT, number)  # default source: the deposit

    assert eid is not None
    assert entry(ctx, eid).kind == L.EntryKind.ADVANCE_RECOVERY.value
    assert postings(ctx, eid) == [
        ("platform", 0, "advance", PAID),
        ("shop", w.shop_id, "deposit", -PAID),
    ]
    assert balance(ctx, deposit(w.shop_id)) == 2 * PAID
    assert balance(ctx, platform(L.Purpose.ADVANCE)) == 0
    assert balance(ctx, buyer(w.buyer_id)) == PAID
    before = snapshot(ctx)
    assert money.recover_advance(ctx, AGENT, number) is None  # nothing outstanding
    assert snapshot(ctx) == before
    _ok(ctx)


def test_R7_2_recovery_from_a_short_deposit_is_refused_and_changes_nothing(ctx):
    w = make_world(ctx)
    money.top_up_deposit(ctx, AGENT, w.shop_id, PAID - 1, CNY, "deposit-1")
    number = _returned(ctx, w, "SF1000000000302")
    money.advance(ctx, AGENT, number)
    before = snapshot(ctx)
    with pytest.raises(IllegalTransition) as exc:
        money.recover_advance(ctx, AGENT, number)
    assert exc.value.rule == "R14.1"
    assert exc.value.code == "ledger.insufficient_funds"
    assert snapshot(ctx) == before
    # From the settlement instead (it may go negative), it goes through.
    assert money.recover_advance(ctx, AGENT, number, source=L.Purpose.SETTLEMENT) is not None
    assert balance(ctx, platform(L.Purpose.ADVANCE)) == 0
    with pytest.raises(ValidationFailed):
        money.recover_advance(ctx, AGENT, number, source=L.Purpose.FINES)
    _ok(ctx)


def test_R7_1_advance_and_recovery_are_platform_only(ctx):
    w = make_world(ctx)
    number = _returned(ctx, w, "SF1000000000303")
    for actor in (w.merchant, w.buyer, CARRIER):
        with pytest.raises(Forbidden):
            money.advance(ctx, actor, number)
        with pytest.raises(Forbidden):
            money.recover_advance(ctx, actor, number)
        with pytest.raises(Forbidden):
            money.pay_first(ctx, actor, number, 100)
        with pytest.raises(Forbidden):
            money.top_up_deposit(ctx, actor, w.shop_id, 100, CNY, "k")
    assert balance(ctx, buyer(w.buyer_id)) == 0
    _ok(ctx)


def test_R7_2_a_refund_decision_after_the_advance_was_recovered_from_the_deposit(ctx):
    """Demo scenario: advance, the merchant refuses the refund, the platform recovers the
    advance from the deposit (R7.2); the buyer resubmits and the merchant then refunds.
    The buyer already holds the advance: the decision must not pay a second time."""
    from aftersales.domain.policy import EvidenceKind

    w = make_world(ctx)
    money.top_up_deposit(ctx, AGENT, w.shop_id, 3 * PAID, CNY, "deposit-1")
    number = _returned(ctx, w, "SF1000000000401")
    money.advance(ctx, AGENT, number)
    svc.return_delivered(ctx, CARRIER, number)
    svc.refuse_refund(
        ctx,
        w.merchant,
        number,
        refusal_code="returned_goods_damaged",
        evidence_ids=proof(
            ctx, w.merchant, number, EvidenceKind.UNBOXING_VIDEO, EvidenceKind.CARRIER_PROOF
        ),
        note="damaged",
    )
    money.recover_advance(ctx, AGENT, number)
    svc.resubmit(ctx, w.buyer, number)

    case = svc.approve_refund(ctx, w.merchant, number)  # actual: IllegalTransition R5.2

    assert case.state is State.REFUNDED
    assert balance(ctx, buyer(w.buyer_id)) == PAID  # paid once, by the advance
    _ok(ctx)


def test_R7_2_a_recovery_after_its_reversal_recovers_again(ctx):
    w = make_world(ctx)
    money.top_up_deposit(ctx, AGENT, w.shop_id, 3 * PAID, CNY, "deposit-1")
    number = _returned(ctx, w, "SF1000000000402")
    money.advance(ctx, AGENT, number)
    first = money.recover_advance(ctx, AGENT, number)
    assert first is not None
    money.reverse(ctx, AGENT, first, "recovered from the wrong shop account")
    assert balance(ctx, platform(L.Purpose.ADVANCE)) == -PAID  # outstanding again

    again = money.recover_advance(ctx, AGENT, number)

    assert again is not None and again != first  # actual: the first (reversed) entry id
    assert balance(ctx, platform(L.Purpose.ADVANCE)) == 0  # actual: still -PAID
    assert balance(ctx, deposit(w.shop_id)) == 2 * PAID  # actual: 3 * PAID


# --------------------------------------------------------------------------- R11.2
def test_R11_2_pay_first_takes_the_deposit_first_then_the_settlement(ctx):
    assert money_rules(ctx).pay_first_sources == (
        DeductionSource.DEPOSIT,
        DeductionSource.SETTLEMENT,
    )
    w = make_world(ctx)
    number = w.open(type=CaseType.REFUND_ONLY, reason="not_received", signed_ago=None)
    money.top_up_deposit(ctx, AGENT, w.shop_id, 4_000, CNY, "deposit-1")
    assert balance(ctx, settlement(w.shop_id)) == PAID + FREIGHT

    ids = money.pay_first(ctx, AGENT, number, PAID)

    paid, from_deposit, from_settlement = ids
    assert entry(ctx, paid).kind == L.EntryKind.PAY_FIRST.value
    assert postings(ctx, paid) == [
        ("buyer", w.buyer_id, "refunds", PAID),
        ("platform", 0, "pay_first", -PAID),
    ]
    assert postings(ctx, from_deposit) == [
        ("platform", 0, "pay_first", 4_000),
        ("shop", w.shop_id, "deposit", -4_000),
    ]
    assert postings(ctx, from_settlement) == [
        ("platform", 0, "pay_first", PAID - 4_000),
        ("shop", w.shop_id, "settlement", -(PAID - 4_000)),
    ]
    for eid in (from_deposit, from_settlement):
        assert entry(ctx, eid).kind == L.EntryKind.PAY_FIRST_DEDUCTION.value
        assert entry(ctx, eid).rule == "R11.2"
    assert balance(ctx, deposit(w.shop_id)) == 0
    assert balance(ctx, settlement(w.shop_id)) == PAID + FREIGHT - (PAID - 4_000)
    assert balance(ctx, platform(L.Purpose.PAY_FIRST)) == 0
    assert balance(ctx, buyer(w.buyer_id)) == PAID
    assert refunded(ctx, view(ctx, number).order_number) == PAID

    before = snapshot(ctx)
    assert money.pay_first(ctx, AGENT, number, PAID) == [paid]  # retried: once
    assert snapshot(ctx) == before
    _ok(ctx)


def test_R11_2_pay_first_from_a_rich_deposit_leaves_the_settlement_alone(ctx):
    w = make_world(ctx)
    number = w.open(type=CaseType.REFUND_ONLY, reason="not_received", signed_ago=None)
    money.top_up_deposit(ctx, AGENT, w.shop_id, 20_000, CNY, "deposit-1")
    ids = money.pay_first(ctx, AGENT, number, 6_000)
    assert len(ids) == 2
    assert postings(ctx, ids[1])[1] == ("shop", w.shop_id, "deposit", -6_000)
    assert balance(ctx, settlement(w.shop_id)) == PAID + FREIGHT
    assert balance(ctx, deposit(w.shop_id)) == 14_000
    _ok(ctx)


def test_R11_2_the_order_of_sources_is_profile_data(ctx):
    money_profile(ctx, pay_first_sources=(DeductionSource.SETTLEMENT, DeductionSource.DEPOSIT))
    w = make_world(ctx)
    number = w.open(type=CaseType.REFUND_ONLY, reason="not_received", signed_ago=None)
    _withdraw(ctx, w.shop_id, PAID + FREIGHT - 3_000, "payout-1")  # settlement 3_000
    money.top_up_deposit(ctx, AGENT, w.shop_id, 20_000, CNY, "deposit-1")
    _, first, second = money.pay_first(ctx, AGENT, number, 7_000)
    assert postings(ctx, first)[1] == ("shop", w.shop_id, "settlement", -3_000)
    assert postings(ctx, second)[1] == ("shop", w.shop_id, "deposit", -4_000)
    _ok(ctx)


def test_R11_2_a_profile_may_take_pay_first_from_the_deposit_only(ctx):
    money_profile(ctx, pay_first_sources=(DeductionSource.DEPOSIT,))
    w = make_world(ctx)
    number = w.open(type=CaseType.REFUND_ONLY, reason="not_received", signed_ago=None)
    money.top_up_deposit(ctx, AGENT, w.shop_id, 2_000, CNY, "deposit-1")
    before = snapshot(ctx)
    with pytest.raises(IllegalTransition) as exc:  # the settlement is not touched: R14.1
        money.pay_first(ctx, AGENT, number, 3_000)
    assert exc.value.rule == "R14.1"
    assert snapshot(ctx) == before
    assert len(money.pay_first(ctx, AGENT, number, 2_000)) == 2
    assert balance(ctx, settlement(w.shop_id)) == PAID + FREIGHT
    _ok(ctx)


def test_R14_1_a_deduction_that_would_take_the_deposit_negative_is_refused(ctx):
    assert money_rules(ctx).deposit_debt_allowed is False
    w = make_world(ctx)
    number = w.open(type=CaseType.REFUND_ONLY, reason="not_received", signed_ago=None)
    _withdraw(ctx, w.shop_id, PAID + FREIGHT, "payout-1")  # settlement 0
    money.top_up_deposit(ctx, AGENT, w.shop_id, PAID - 1, CNY, "deposit-1")
    before = snapshot(ctx)

    with pytest.raises(IllegalTransition) as exc:
        money.pay_first(ctx, AGENT, number, PAID)

    assert exc.value.rule == "R14.1"
    assert snapshot(ctx) == before  # the pay-first entry rolled back with the deduction
    assert entry_by_key(ctx, f"case:{number}:pay-first") is None
    # Exactly what the deposit holds still goes through.
    assert len(money.pay_first(ctx, AGENT, number, PAID - 1)) == 2
    assert balance(ctx, deposit(w.shop_id)) == 0
    _ok(ctx)


def test_R14_1_a_profile_that_allows_deposit_debt_lets_the_deposit_go_negative(ctx):
    p = allow_deposit_debt(ctx)
    assert p.money.deposit_debt_allowed is True
    w = make_world(ctx)
    number = w.open(type=CaseType.REFUND_ONLY, reason="not_received", signed_ago=None)
    _withdraw(ctx, w.shop_id, PAID + FREIGHT, "payout-1")
    money.top_up_deposit(ctx, AGENT, w.shop_id, 1_000, CNY, "deposit-1")

    money.pay_first(ctx, AGENT, number, PAID)
    assert balance(ctx, deposit(w.shop_id)) == 1_000 - PAID

    fined = money.fine(ctx, AGENT, w.order(), p.money.fine_multiple_min, "counterfeit", "fine-1")
    assert balance(ctx, deposit(w.shop_id)) == 1_000 - PAID - fined.amount.amount
    _ok(ctx)  # the check accepts a negative deposit under this profile


# --------------------------------------------------------------------------- R14
def test_R14_1_a_fine_moves_deposit_to_platform_fines_and_freezes_withdrawals(ctx, clock):
    m = money_rules(ctx)
    w = make_world(ctx)
    number = w.order()
    paid = total_paid(ctx, number)
    money.top_up_deposit(ctx, AGENT, w.shop_id, 10 * paid, CNY, "deposit-1")

    res = money.fine(ctx, AGENT, number, m.fine_multiple_max, "false advertising", "fine-1")

    assert res.amount == Money(paid * m.fine_multiple_max, CNY)
    assert res.frozen_until == clock.now + timedelta(days=m.withdrawal_freeze_days)
    e = entry(ctx, res.entry_id)
    assert (e.kind, e.rule, e.memo) == (L.EntryKind.FINE.value, "R14.1", "false advertising")
    assert postings(ctx, res.entry_id) == [
        ("platform", 0, "fines", res.amount.amount),
        ("shop", w.shop_id, "deposit", -res.amount.amount),
    ]
    assert balance(ctx, deposit(w.shop_id)) == 10 * paid - res.amount.amount
    with ctx.db.read() as conn:
        freezes = list(conn.execute(select(shop_freezes)))
    assert [(f.shop_id, f.rule, f.entry_id, f.ends_at - f.starts_at) for f in freezes] == [
        (w.shop_id, "R14.1", res.entry_id, timedelta(days=m.withdrawal_freeze_days))
    ]
    # retried: one fine, one freeze
    again = money.fine(ctx, AGENT, number, m.fine_multiple_max, "false advertising", "fine-1")
    assert again.entry_id == res.entry_id
    with ctx.db.read() as conn:
        assert len(list(conn.execute(select(shop_freezes)))) == 1
    assert balance(ctx, deposit(w.shop_id)) == 10 * paid - res.amount.amount
    _ok(ctx)


def test_R14_1_fines_outside_the_multiple_range_or_beyond_the_deposit_are_refused(ctx):
    m = money_rules(ctx)
    w = make_world(ctx)
    number = w.order()
    paid = total_paid(ctx, number)
    money.top_up_deposit(ctx, AGENT, w.shop_id, paid * m.fine_multiple_min, CNY, "deposit-1")
    before = snapshot(ctx)
    for multiple in (m.fine_multiple_min - 1, m.fine_multiple_max + 1):
        with pytest.raises(ValidationFailed) as exc:
            money.fine(ctx, AGENT, number, multiple, "counterfeit", f"fine-{multiple}")
        assert exc.value.rule == "R14.1"
    if m.fine_multiple_max > m.fine_multiple_min:
        with pytest.raises(IllegalTransition) as exc:
            money.fine(ctx, AGENT, number, m.fine_multiple_max, "counterfeit", "fine-big")
        assert exc.value.rule == "R14.1"
    with pytest.raises(Forbidden):
        money.fine(ctx, w.merchant, number, m.fine_multiple_min, "x", "fine-m")
    assert snapshot(ctx) == before
    with ctx.db.read() as conn:
        assert list(conn.execute(select(shop_freezes))) == []
    _ok(ctx)


def test_R14_2_statutory_compensation_three_times_at_least_the_minimum(ctx):
    m = money_rules(ctx)
    w = make_world(ctx)
    threshold = m.statutory_compensation_min // m.statutory_compensation_multiple
    money.top_up_deposit(ctx, AGENT, w.shop_id, 10 * m.statutory_compensation_min, CNY, "dep")
    expected_total = 0
    for price in (threshold - 1_000, threshold + 1_000):
        number = w.open(
            type=CaseType.REFUND_ONLY,
            reason="not_received",
            signed_ago=None,
            unit_price=price,
            amount=price,
        )
        ids = money.statutory_compensation(ctx, AGENT, number)
        expected = max(price * m.statutory_compensation_multiple, m.statutory_compensation_min)
        moved = sum(a for eid in ids for (party, _, _, a) in postings(ctx, eid) if party == "buyer")
        assert moved == expected
        for eid in ids:
            assert entry(ctx, eid).kind == L.EntryKind.STATUTORY_COMPENSATION.value
            assert entry(ctx, eid).rule == "R14.2"
        # compensation is not a refund: the R5.2 cap does not count it
        assert refunded(ctx, view(ctx, number).order_number) == 0
        expected_total += expected
    assert balance(ctx, buyer(w.buyer_id)) == expected_total
    # settlement first (both orders' payments), the rest from the deposit
    assert balance(ctx, settlement(w.shop_id)) == 0
    paid_in = 2 * FREIGHT + (threshold - 1_000) + (threshold + 1_000)
    assert balance(ctx, deposit(w.shop_id)) == 10 * m.statutory_compensation_min - (
        expected_total - paid_in
    )
    _ok(ctx)


def _compensation_case(ctx, w) -> str:
    return w.open(type=CaseType.REFUND_ONLY, reason="not_received", signed_ago=None)


def test_R14_2_a_retried_compensation_split_over_settlement_and_deposit_is_idempotent(ctx):
    m = money_rules(ctx)
    w = make_world(ctx)
    money.top_up_deposit(ctx, AGENT, w.shop_id, 10 * m.statutory_compensation_min, CNY, "dep")
    number = _compensation_case(ctx, w)  # settlement PAID + FREIGHT < the compensation
    first = money.statutory_compensation(ctx, AGENT, number)
    assert len(first) == 2
    before = snapshot(ctx)

    again = money.statutory_compensation(ctx, AGENT, number)  # actual: ledger.key_reused

    assert again == first
    assert snapshot(ctx) == before


def test_R14_2_a_retried_compensation_never_pays_the_buyer_twice(ctx):
    m = money_rules(ctx)
    w = make_world(ctx)
    money.top_up_deposit(ctx, AGENT, w.shop_id, 10 * m.statutory_compensation_min, CNY, "dep")
    number = _compensation_case(ctx, w)
    _withdraw(ctx, w.shop_id, PAID + FREIGHT, "payout-1")  # settlement 0: all from deposit
    first = money.statutory_compensation(ctx, AGENT, number)
    assert len(first) == 1
    paid_once = balance(ctx, buyer(w.buyer_id))
    # later orders fill the settlement again
    for _ in range(m.statutory_compensation_min // PAID + 1):
        w.order()

    again = money.statutory_compensation(ctx, AGENT, number)  # actual: a new entry

    assert again == first
    assert balance(ctx, buyer(w.buyer_id)) == paid_once  # actual: twice the compensation


# --------------------------------------------------------------------------- R16.3
def _insured_order(ctx, w, number: str) -> str:
    now = ctx.now()
    w.push(
        number=number,
        currency=CNY,
        unit_price=PAID,
        shipped_at=now - timedelta(days=3),
        signed_at=now - timedelta(days=1),
        shipping_insurance=True,
    )
    return number


def test_R16_3_return_freight_is_paid_by_shop_insurer_or_buyer(ctx):
    cap = money_rules(ctx).max_return_freight
    w = make_world(ctx)
    defect = w.open(type=CaseType.RETURN_REFUND, reason="defect")
    insured = w.open(
        type=CaseType.RETURN_REFUND, reason="changed_mind", order=_insured_order(ctx, w, "INS1")
    )
    plain = w.open(type=CaseType.RETURN_REFUND, reason="changed_mind")
    settled = balance(ctx, settlement(w.shop_id))

    assert money.return_freight(ctx, AGENT, defect, cap) == "shop"
    assert money.return_freight(ctx, AGENT, insured, cap) == "insurer"
    before = snapshot(ctx)
    assert money.return_freight(ctx, AGENT, plain, cap) == "buyer"
    assert snapshot(ctx) == before  # the buyer pays: nothing moves
    for bad in (0, cap + 1):
        with pytest.raises(ValidationFailed) as exc:
            money.return_freight(ctx, AGENT, defect, bad)
        assert exc.value.rule == "R16.3"
    assert balance(ctx, settlement(w.shop_id)) == settled - cap
    assert balance(ctx, L.AccountRef(L.Party.INSURER, 0, L.Purpose.SHIPPING_INSURANCE, CNY)) == -cap
    assert balance(ctx, buyer(w.buyer_id)) == 2 * cap
    assert money.return_freight(ctx, AGENT, defect, cap) == "shop"  # retried: once
    assert balance(ctx, buyer(w.buyer_id)) == 2 * cap
    _ok(ctx)


# --------------------------------------------------------------------------- idempotency
def test_the_same_key_twice_moves_money_once_and_returns_the_same_entry(ctx):
    w = make_world(ctx)
    number = w.order()
    a = money.refund_order(ctx, AGENT, number, 3_000, key="goodwill-1")
    before = snapshot(ctx)
    b = money.refund_order(ctx, AGENT, number, 3_000, key="goodwill-1")
    assert a == b
    assert snapshot(ctx) == before
    assert refunded(ctx, number) == 3_000
    t1 = money.top_up_deposit(ctx, AGENT, w.shop_id, 5_000, CNY, "deposit-1")
    t2 = money.top_up_deposit(ctx, AGENT, w.shop_id, 5_000, CNY, "deposit-1")
    assert t1 == t2 and balance(ctx, deposit(w.shop_id)) == 5_000
    _ok(ctx)


def test_the_same_key_with_another_movement_is_refused(ctx):
    w = make_world(ctx)
    number = w.order()
    money.refund_order(ctx, AGENT, number, 3_000, key="goodwill-1")
    money.top_up_deposit(ctx, AGENT, w.shop_id, 5_000, CNY, "deposit-1")
    before = snapshot(ctx)
    attempts = [
        lambda: money.refund_order(ctx, AGENT, number, 3_001, key="goodwill-1"),
        lambda: money.top_up_deposit(ctx, AGENT, w.shop_id, 5_001, CNY, "deposit-1"),
        lambda: money.top_up_deposit(ctx, AGENT, w.shop_id, 3_000, CNY, "goodwill-1"),
        lambda: money.refund_order(ctx, AGENT, w.order(), 3_000, key="deposit-1"),
    ]
    for attempt in attempts:
        with pytest.raises(ValidationFailed) as exc:
            attempt()
        assert exc.value.code == "ledger.key_reused"
    after = snapshot(ctx)
    # only the new order's own payment entry was added
    assert after[0] == before[0] + 1
    assert refunded(ctx, number) == 3_000
    assert balance(ctx, deposit(w.shop_id)) == 5_000
    _ok(ctx)


# --------------------------------------------------------------------------- reversals
def test_R11_a_reversal_posts_the_mirror_entry_and_balances_return(ctx):
    w = make_world(ctx)
    number = w.order()
    before = snapshot(ctx)[2]
    eid = money.refund_order(ctx, AGENT, number, 4_000, key="goodwill-1")
    assert refunded(ctx, number) == 4_000

    rid = money.reverse(ctx, AGENT, eid, "refunded the wrong order")

    rev = entry(ctx, rid)
    assert (rev.kind, rev.reverses_id, rev.order_id) == ("reversal", eid, order_id(ctx, number))
    assert [(p, i, u, -a) for (p, i, u, a) in postings(ctx, rid)] == postings(ctx, eid)
    after = snapshot(ctx)[2]
    assert {k: v for k, v in after.items() if k in before} == before
    assert all(v == 0 for k, v in after.items() if k not in before)  # the buyer's account
    assert refunded(ctx, number) == 0
    # reversing twice returns the same reversal
    assert money.reverse(ctx, AGENT, eid, "again") == rid
    # a reversal is not reversed; a new movement corrects it
    with pytest.raises(IllegalTransition):
        money.reverse(ctx, AGENT, rid, "undo the undo")
    with pytest.raises(NotFound):
        money.reverse(ctx, AGENT, 10**9, "nothing")
    with pytest.raises(ValidationFailed):
        money.reverse(ctx, AGENT, eid, "  ")
    with pytest.raises(Forbidden):
        money.reverse(ctx, w.merchant, eid, "merchant")
    # the whole amount may be refunded again after the reversal (R5.2 counts it net)
    money.refund_order(ctx, AGENT, number, total_paid(ctx, number), key="goodwill-2")
    _ok(ctx)


def test_R14_1_a_reversal_that_would_take_the_deposit_negative_is_refused(ctx):
    m = money_rules(ctx)
    w = make_world(ctx)
    number = w.order()
    top = money.top_up_deposit(ctx, AGENT, w.shop_id, total_paid(ctx, number), CNY, "dep")
    money.fine(ctx, AGENT, number, m.fine_multiple_min, "counterfeit", "fine-1")
    before = snapshot(ctx)
    with pytest.raises(IllegalTransition) as exc:
        money.reverse(ctx, AGENT, top, "top-up booked twice")
    assert exc.value.rule == "R14.1"
    assert snapshot(ctx) == before
    _ok(ctx)


# --------------------------------------------------------------------------- R5.2 cap
def test_R5_2_refund_order_never_exceeds_what_was_paid(ctx):
    w = make_world(ctx)
    number = w.order()
    paid = total_paid(ctx, number)
    money.refund_order(ctx, w.merchant, number, paid - 1_000, key="r1")
    before = snapshot(ctx)
    with pytest.raises(ValidationFailed) as exc:
        money.refund_order(ctx, AGENT, number, 1_001, key="r2")
    assert exc.value.rule == "R5.2" and exc.value.code == "amount.exceeds_paid"
    assert snapshot(ctx) == before
    money.refund_order(ctx, AGENT, number, 1_000, key="r3")
    assert refunded(ctx, number) == paid
    with pytest.raises(ValidationFailed):
        money.refund_order(ctx, AGENT, number, 1, key="r4")
    assert money.refund_order(ctx, AGENT, number, 1_000, key="r3")  # a retry still answers
    assert refunded(ctx, number) == paid
    _ok(ctx)


def test_R5_2_refund_order_counts_advances_and_pay_first(ctx):
    w = make_world(ctx)
    number = _returned(ctx, w, "SF1000000000501")
    order_number = view(ctx, number).order_number
    paid = total_paid(ctx, order_number)
    money.top_up_deposit(ctx, AGENT, w.shop_id, paid, CNY, "dep")
    money.advance(ctx, AGENT, number, 4_000)
    money.pay_first(ctx, AGENT, number, 3_000)
    assert refunded(ctx, order_number) == 7_000
    left = paid - 7_000
    before = snapshot(ctx)
    with pytest.raises(ValidationFailed) as exc:
        money.refund_order(ctx, AGENT, order_number, left + 1, key="r1")
    assert exc.value.rule == "R5.2"
    assert snapshot(ctx) == before
    money.refund_order(ctx, AGENT, order_number, left, key="r2")
    assert refunded(ctx, order_number) == paid
    # and the other way round: nothing is left for an advance or pay-first either
    other = _returned(ctx, w, "SF1000000000502")
    other_order = view(ctx, other).order_number
    money.refund_order(ctx, AGENT, other_order, total_paid(ctx, other_order) - 10, key="r3")
    with pytest.raises(ValidationFailed) as exc:
        money.advance(ctx, AGENT, other, 11)
    assert exc.value.rule == "R5.2"
    with pytest.raises(ValidationFailed) as exc:
        money.pay_first(ctx, AGENT, other, 11)
    assert exc.value.rule == "R5.2"
    _ok(ctx)


def test_R1_refund_order_by_another_shop_or_a_buyer_is_refused(ctx):
    w = make_world(ctx)
    number = w.order()
    before = snapshot(ctx)
    with pytest.raises(NotFound):
        money.refund_order(ctx, Actor.merchant(w.other_shop_id), number, 100, key="x1")
    with pytest.raises(Forbidden):
        money.refund_order(ctx, w.buyer, number, 100, key="x2")
    with pytest.raises(NotFound):
        money.refund_order(ctx, AGENT, "NO-SUCH-ORDER", 100, key="x3")
    assert snapshot(ctx) == before


# --------------------------------------------------------------------------- statements
def test_shop_statement_opening_movements_and_closing(ctx, clock):
    w = make_world(ctx)
    first = w.order()
    clock.advance(days=2)
    start = clock.now - timedelta(hours=1)
    second = w.order()
    money.refund_order(ctx, AGENT, first, 2_000, key="r1")
    money.top_up_deposit(ctx, AGENT, w.shop_id, 5_000, CNY, "dep")
    clock.advance(days=1)
    st = statements.shop_statement(ctx, AGENT, _code(ctx, w), start, clock.now)
    by = {a.purpose: a for a in st.accounts}
    s = by["settlement"]
    assert s.opening == total_paid(ctx, first)
    assert [m.amount for m in s.movements] == [total_paid(ctx, second), -2_000]
    assert s.closing == s.opening + sum(m.amount for m in s.movements)
    assert s.closing == balance(ctx, settlement(w.shop_id))
    assert [m.order_number for m in s.movements] == [second, first]
    assert (by["deposit"].opening, by["deposit"].closing) == (0, 5_000)
    with pytest.raises(NotFound):
        statements.shop_statement(
            ctx, Actor.merchant(w.other_shop_id), _code(ctx, w), start, clock.now
        )


def _code(ctx, w) -> str:
    from aftersales.store import catalog as catalog_store

    with ctx.db.read() as conn:
        shop = catalog_store.get_shop(conn, w.shop_id)
        assert shop is not None
        return shop.code


def test_R11_3_money_of_a_finished_case_is_not_reversed(ctx):
    """A refunded case's refund backs its decision: it is not undone by a reversal."""
    from aftersales.store.schema import ledger_entries

    w = make_world(ctx)
    number = w.open(type=CaseType.REFUND_ONLY, reason="not_received", signed_ago=None)
    svc.approve_refund(ctx, w.merchant, number)
    with ctx.db.read() as conn:
        refund_id = conn.execute(
            select(ledger_entries.c.id).where(ledger_entries.c.kind == "refund")
        ).scalar_one()
    before = snapshot(ctx)
    with pytest.raises(IllegalTransition) as err:
        money.reverse(ctx, AGENT, refund_id, "booked by mistake")
    assert (err.value.code, err.value.rule) == ("reversal.case_settled", "R11.3")
    assert snapshot(ctx) == before
    _ok(ctx)
