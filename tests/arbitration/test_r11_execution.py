"""R11: executing a ruling, through the services on SQLite and PostgreSQL. The losing
merchant executes within ``[intervention].execution_hours`` (R11.1); otherwise the deadline
worker has the platform pay the buyer first and deducts it from the shop's settlement,
then its deposit (R11.2). Balances are checked against the ledger."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aftersales.domain import ledger as L
from aftersales.domain.case_types import CaseType, DeadlineKind, State
from aftersales.domain.errors import IllegalTransition, ValidationFailed
from aftersales.domain.policy import Remedy
from aftersales.services import cases as svc
from aftersales.services import interventions as iv
from aftersales.services import money, statements
from aftersales.services.context import Context
from aftersales.store import ledger as ledger_store
from tests.arbitration.support import (
    AGENT,
    REASONS,
    balance,
    buyer_account,
    buyer_wins,
    case_entries,
    case_of,
    deposit,
    entry,
    escalated,
    pay_first_pot,
    rules,
    run_worker,
    settlement,
    state,
    timeline,
    to_evidence_due,
)
from tests.conftest import FakeClock
from tests.factories import World, make_world
from tests.ledger.helpers import invariant_problems

PAID = 10_000  # tests.factories: one unit at 10_000
FREIGHT = 800


def _ledger_ok(ctx: Context) -> None:
    report = statements.check(ctx)
    assert report.ok, report.problems
    assert invariant_problems(ctx) == []


def _withdraw(ctx: Context, shop_id: int, amount: int, key: str) -> None:
    """The shop takes part of its settlement balance out (a payout), so a deduction finds
    less there than the order paid."""
    with ctx.db.write() as conn:
        ledger_store.post(
            conn,
            L.move(
                L.EntryKind.PAYOUT,
                settlement(shop_id),
                L.platform_account(L.Purpose.GATEWAY, "CNY"),
                amount,
            ),
            key,
            now=ctx.now(),
            shop_id=shop_id,
        )


def _kinds(ctx: Context, number: str) -> list[str]:
    return [e.kind for e in case_entries(ctx, number)]


# --------------------------------------------------------------------------- R11.1
def test_R11_1_ruling_gives_the_merchant_execution_hours(ctx: Context, clock: FakeClock) -> None:
    w = make_world(ctx)
    number, ruled = buyer_wins(w, clock)
    case = case_of(ctx, number)
    assert case.deadline_kind is DeadlineKind.RULING_EXECUTION
    due = clock.now + timedelta(hours=rules(ctx).execution_hours)
    assert case.deadline_at == due
    assert ruled.rulings[0].execution_due == due
    assert case.agreed.amount == PAID  # the full refund asked for


def test_R11_1_merchant_refunds_the_ruled_amount_in_time(ctx: Context, clock: FakeClock) -> None:
    w = make_world(ctx)
    number, _ = buyer_wins(w, clock)
    shop_before = balance(ctx, settlement(w.shop_id))
    clock.advance(hours=rules(ctx).execution_hours, seconds=-1)

    svc.refund(ctx, w.merchant, number, amount=PAID)

    case = case_of(ctx, number)
    assert case.state is State.REFUNDED
    last = timeline(ctx, number)[-1]
    assert (last.action, last.rule, last.actor_kind) == ("refund", "R11.1", "merchant")
    assert _kinds(ctx, number) == [L.EntryKind.REFUND.value]
    assert balance(ctx, buyer_account(w.buyer_id)) == PAID
    assert balance(ctx, settlement(w.shop_id)) == shop_before - PAID
    assert balance(ctx, pay_first_pot()) == 0
    assert run_worker(ctx).fired == 0  # the execution deadline was cancelled
    _ledger_ok(ctx)


def test_R11_1_merchant_refund_without_amount_is_the_ruled_amount(
    ctx: Context, clock: FakeClock
) -> None:
    w = make_world(ctx)
    number, _ = buyer_wins(w, clock)
    svc.refund(ctx, w.merchant, number)
    assert state(ctx, number) is State.REFUNDED
    assert balance(ctx, buyer_account(w.buyer_id)) == PAID


def test_R11_1_a_different_amount_is_refused(ctx: Context, clock: FakeClock) -> None:
    w = make_world(ctx)
    number, _ = buyer_wins(w, clock)
    for amount in (PAID - 1, PAID + FREIGHT):
        with pytest.raises(ValidationFailed) as err:
            svc.refund(ctx, w.merchant, number, amount=amount)
        assert (err.value.code, err.value.rule) == ("ruling.amount_differs", "R11.1")
    assert state(ctx, number) is State.AWAITING_EXECUTION
    assert case_entries(ctx, number) == []


def test_R11_1_a_money_ruling_is_not_executed_with_goods(ctx: Context, clock: FakeClock) -> None:
    w = make_world(ctx)
    number, _ = buyer_wins(w, clock, type=CaseType.RESHIP, reason="missing_item")
    # a reship request the silent merchant lost; the engine rules a reship (no money)
    assert case_of(ctx, number).agreed is None or case_of(ctx, number).agreed.amount == 0
    with pytest.raises(IllegalTransition) as err:
        svc.refund(ctx, w.merchant, number)
    assert err.value.code == "ruling.goods_remedy"
    svc.ship_replacement(ctx, w.merchant, number, carrier="SF", tracking_number="SF1400000000001")
    assert state(ctx, number) is State.REPLACEMENT_SHIPPED


def test_R11_1_merchant_cannot_execute_after_the_deadline(ctx: Context, clock: FakeClock) -> None:
    w = make_world(ctx)
    number, _ = buyer_wins(w, clock)
    clock.advance(hours=rules(ctx).execution_hours)
    with pytest.raises(IllegalTransition) as err:
        svc.refund(ctx, w.merchant, number, amount=PAID)
    assert (err.value.code, err.value.rule) == ("deadline.passed", "R11.1")
    assert case_entries(ctx, number) == []


def test_R11_1_partial_refund_ruling_is_executed_for_its_amount(
    ctx: Context, clock: FakeClock
) -> None:
    w = make_world(ctx)
    number, view = escalated(w)
    to_evidence_due(clock, view)
    iv.rule(
        ctx,
        AGENT,
        number,
        iv.RulingInput(
            reasons=REASONS,
            accept=False,
            remedy=Remedy.PARTIAL_REFUND,
            amount=3_000,
            override_reason="Only the lid is cracked.",
        ),
    )
    with pytest.raises(ValidationFailed):
        svc.refund(ctx, w.merchant, number, amount=PAID)
    svc.refund(ctx, w.merchant, number, amount=3_000)
    assert balance(ctx, buyer_account(w.buyer_id)) == 3_000


# --------------------------------------------------------------------------- R11.2
def _timed_out(w: World, clock: FakeClock) -> str:
    number, _ = buyer_wins(w, clock)
    due = case_of(w.ctx, number).deadline_at
    clock.now = due - timedelta(seconds=1)
    assert run_worker(w.ctx).fired == 0
    assert state(w.ctx, number) is State.AWAITING_EXECUTION
    clock.now = due
    return number


def test_R11_2_execution_timeout_pays_first_from_settlement_when_the_deposit_is_empty(
    ctx: Context, clock: FakeClock
) -> None:
    w = make_world(ctx)
    assert balance(ctx, deposit(w.shop_id)) == 0
    number = _timed_out(w, clock)
    shop_before = balance(ctx, settlement(w.shop_id))
    assert shop_before >= PAID

    assert run_worker(ctx).fired == 1

    case = case_of(ctx, number)
    assert (case.state, case.close_reason) == (State.REFUNDED, "execution_timeout")
    last = entry(ctx, number, "execution_timeout")
    assert (last.rule, last.actor_kind) == ("R11.2", "system")
    entries = case_entries(ctx, number)
    assert [e.kind for e in entries] == [
        L.EntryKind.PAY_FIRST.value,
        L.EntryKind.PAY_FIRST_DEDUCTION.value,
    ]
    assert all(e.rule == "R11.2" for e in entries)
    assert balance(ctx, buyer_account(w.buyer_id)) == PAID  # the platform paid the buyer
    assert balance(ctx, settlement(w.shop_id)) == shop_before - PAID  # the shop repaid it
    assert balance(ctx, pay_first_pot()) == 0
    with ctx.db.read() as conn:
        assert money.deducted_on_case(conn, case) == PAID
    assert run_worker(ctx).fired == 0  # fires once
    _ledger_ok(ctx)


def test_R11_2_execution_timeout_takes_the_deposit_first_then_the_settlement(
    ctx: Context, clock: FakeClock
) -> None:
    w = make_world(ctx)
    number = _timed_out(w, clock)
    held = 4_000
    money.top_up_deposit(ctx, AGENT, w.shop_id, held, "CNY", "deposit-1")
    shop_before = balance(ctx, settlement(w.shop_id))

    assert run_worker(ctx).fired == 1

    assert state(ctx, number) is State.REFUNDED
    entries = case_entries(ctx, number)
    assert [e.kind for e in entries] == [
        L.EntryKind.PAY_FIRST.value,
        L.EntryKind.PAY_FIRST_DEDUCTION.value,
        L.EntryKind.PAY_FIRST_DEDUCTION.value,
    ]
    assert balance(ctx, buyer_account(w.buyer_id)) == PAID
    assert balance(ctx, deposit(w.shop_id)) == 0
    assert balance(ctx, settlement(w.shop_id)) == shop_before - (PAID - held)
    assert balance(ctx, pay_first_pot()) == 0
    _ledger_ok(ctx)


def test_R11_2_shortfall_stays_owed_and_the_buyer_is_paid_anyway(
    ctx: Context, clock: FakeClock
) -> None:
    assert ctx.profiles.current["douyin"].money.deposit_debt_allowed is False
    w = make_world(ctx)
    number = _timed_out(w, clock)
    _withdraw(ctx, w.shop_id, balance(ctx, settlement(w.shop_id)), "payout-all")
    money.top_up_deposit(ctx, AGENT, w.shop_id, 1_000, "CNY", "deposit-1")

    assert run_worker(ctx).fired == 1

    assert state(ctx, number) is State.REFUNDED
    assert balance(ctx, buyer_account(w.buyer_id)) == PAID
    assert balance(ctx, deposit(w.shop_id)) == 0
    assert balance(ctx, pay_first_pot()) == -(PAID - 1_000)  # still owed by the shop
    _ledger_ok(ctx)
