"""R11.2 (clarified): a deposit below the profile's required level freezes the shop's
withdrawals until it is topped up, as a dated shop status change with its cause, an event
and the shop's standing in the API. Every number comes from the profile."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from aftersales.domain.case_types import CaseType
from aftersales.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from aftersales.services import money
from aftersales.services.actors import Actor
from aftersales.store import catalog as catalog_store
from aftersales.store.schema import outbox_events
from tests.factories import make_world
from tests.ledger.helpers import AGENT, CNY, balance, deposit, money_profile, money_rules

PAYMENTS = Actor.system("payments")


def _code(ctx: Any, shop_id: int) -> str:
    with ctx.db.read() as conn:
        return catalog_store.shop_code(conn, shop_id)


def _shop_events(ctx: Any) -> list[dict[str, Any]]:
    with ctx.db.read() as conn:
        rows = conn.execute(
            select(outbox_events.c.payload)
            .where(outbox_events.c.type == "shop.status_changed")
            .order_by(outbox_events.c.id)
        )
        return [dict(r.payload)["data"] for r in rows]


def test_R11_2_pay_first_taking_the_deposit_below_the_required_level_freezes_withdrawals(
    ctx, clock
):
    required = money_rules(ctx).required_deposit
    assert required > 0
    w = make_world(ctx)
    code = _code(ctx, w.shop_id)
    money.top_up(ctx, PAYMENTS, code, required, "pay-1")
    st = money.standing(ctx, AGENT, code)
    assert (st.deposit, st.required_deposit, st.withdrawals_frozen) == (required, required, False)
    assert st.changes == ()

    number = w.open(type=CaseType.REFUND_ONLY, reason="not_received", signed_ago=None)
    ids = money.pay_first(ctx, AGENT, number, 1)  # one fen below the level is below it

    st = money.standing(ctx, AGENT, code)
    assert st.deposit == required - 1
    assert st.withdrawals_frozen and st.frozen_by_deposit and st.frozen_until is None
    (change,) = st.changes
    assert (change.status, change.active, change.cause, change.rule) == (
        "withdrawals_frozen",
        True,
        "deposit_below_required",
        "R11.2",
    )
    assert change.entry_id == ids[-1] and change.created_at == clock.now
    assert change.details == {"balance": required - 1, "required": required, "currency": CNY}
    (event,) = _shop_events(ctx)
    assert event["active"] is True and event["shop"] == code and event["rule"] == "R11.2"


def test_R11_2_topping_up_to_the_required_level_lifts_the_freeze(ctx, clock):
    money_profile(ctx, required_deposit=7_000)
    w = make_world(ctx)
    code = _code(ctx, w.shop_id)
    money.top_up(ctx, PAYMENTS, code, 7_000, "pay-1")
    number = w.open(type=CaseType.REFUND_ONLY, reason="not_received", signed_ago=None)
    money.pay_first(ctx, AGENT, number, 5_000)
    assert money.standing(ctx, AGENT, code).withdrawals_frozen

    frozen_at = clock.now
    clock.advance(days=1)
    money.top_up(ctx, PAYMENTS, code, 4_999, "pay-2")  # 6_999: still short
    st = money.standing(ctx, AGENT, code)
    assert st.withdrawals_frozen and len(st.changes) == 1  # no change, nothing recorded

    clock.advance(days=1)
    entry, st = money.top_up(ctx, PAYMENTS, code, 1, "pay-3")
    assert st.deposit == 7_000 and not st.withdrawals_frozen
    assert [(c.active, c.created_at) for c in st.changes] == [
        (True, frozen_at),
        (False, clock.now),
    ]
    assert st.changes[-1].entry_id == entry
    assert [e["active"] for e in _shop_events(ctx)] == [True, False]


def test_R11_2_a_top_up_is_recorded_once_per_payment_reference(ctx):
    w = make_world(ctx)
    code = _code(ctx, w.shop_id)
    first, _ = money.top_up(ctx, PAYMENTS, code, 3_000, "pay-1")
    again, st = money.top_up(ctx, PAYMENTS, code, 3_000, "pay-1")
    assert again == first and st.deposit == 3_000
    with pytest.raises(Conflict) as exc:
        money.top_up(ctx, PAYMENTS, code, 4_000, "pay-1")
    assert exc.value.params["field"] == "reference"
    with pytest.raises(ValidationFailed) as bad:
        money.top_up(ctx, PAYMENTS, code, 0, "pay-2")
    assert bad.value.params["field"] == "amount"
    assert balance(ctx, deposit(w.shop_id)) == 3_000


def test_R11_2_a_required_level_of_zero_never_freezes(ctx):
    money_profile(ctx, required_deposit=0)
    w = make_world(ctx)
    number = w.open(type=CaseType.REFUND_ONLY, reason="not_received", signed_ago=None)
    money.pay_first(ctx, AGENT, number, 1_000)  # from the settlement: the deposit is empty
    st = money.standing(ctx, AGENT, _code(ctx, w.shop_id))
    assert not st.withdrawals_frozen and st.changes == ()


def test_R11_2_a_fine_below_the_level_freezes_by_both_rules_R14_1(ctx, clock):
    rules = money_profile(ctx, required_deposit=50_000).money
    w = make_world(ctx)
    code = _code(ctx, w.shop_id)
    money.top_up(ctx, PAYMENTS, code, 60_000, "pay-1")
    fined = money.fine(ctx, AGENT, w.order(), rules.fine_multiple_min, "counterfeit", "fine-1")
    st = money.standing(ctx, AGENT, code)
    assert st.deposit == 60_000 - fined.amount.amount < 50_000
    assert st.frozen_by_deposit and st.frozen_until == fined.frozen_until
    # topped up again, the R11.2 freeze lifts; the R14.1 freeze runs its course
    money.top_up(ctx, PAYMENTS, code, fined.amount.amount, "pay-2")
    st = money.standing(ctx, AGENT, code)
    assert not st.frozen_by_deposit and st.withdrawals_frozen
    clock.now = fined.frozen_until
    assert not money.standing(ctx, AGENT, code).withdrawals_frozen


def test_R11_2_only_the_platform_side_tops_up_and_the_shop_reads_its_own_standing(ctx):
    w = make_world(ctx)
    code = _code(ctx, w.shop_id)
    merchant = Actor.merchant(w.shop_id)
    with pytest.raises(Forbidden):
        money.top_up(ctx, merchant, code, 1_000, "pay-1")
    with pytest.raises(Forbidden):
        money.top_up(ctx, AGENT, code, 1_000, "pay-1")  # an agent does not take payments
    assert money.standing(ctx, merchant, code).shop_code == code
    with pytest.raises(NotFound):
        money.standing(ctx, merchant, _code(ctx, w.other_shop_id))
    assert balance(ctx, deposit(w.shop_id)) == 0


def test_R11_2_status_changes_are_never_edited(ctx):
    money_profile(ctx, required_deposit=1_000)
    w = make_world(ctx)
    number = w.open(type=CaseType.REFUND_ONLY, reason="not_received", signed_ago=None)
    money.pay_first(ctx, AGENT, number, 100)
    with pytest.raises((DBAPIError, IntegrityError, OperationalError)), ctx.db.write() as conn:
        conn.execute(text("UPDATE shop_status_changes SET active = false"))
    with pytest.raises((DBAPIError, IntegrityError, OperationalError)), ctx.db.write() as conn:
        conn.execute(text("DELETE FROM shop_status_changes"))
    assert len(money.standing(ctx, AGENT, _code(ctx, w.shop_id)).changes) == 1
