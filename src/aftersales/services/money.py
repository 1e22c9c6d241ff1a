"""Money movements (R5, R7, R11, R14, R16): every one a balanced, idempotent ledger entry.

Each function is one transaction (or runs inside the case action that caused it) and takes
an idempotency key derived from that cause, so a retried action cannot move money twice.
Refunds of all kinds on an order never exceed what the buyer paid for it (R5.2): the order
row is locked and the ledger's own total is checked before posting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from aftersales.domain import ledger as L
from aftersales.domain.accounts import AccountKind, Permission, Scope
from aftersales.domain.case import Case
from aftersales.domain.case_types import ActorKind
from aftersales.domain.catalog import Order, Shop
from aftersales.domain.errors import (
    Conflict,
    Forbidden,
    IllegalTransition,
    NotFound,
    ValidationFailed,
)
from aftersales.domain.i18n import N_
from aftersales.domain.machine import exceeds_paid
from aftersales.domain.money import Money
from aftersales.domain.policy import DeductionSource, Profile
from aftersales.domain.reasons import ReasonGroup, reason
from aftersales.services import events
from aftersales.services.actors import (
    Actor,
    is_marketplace_system,
    owns_shop,
    require_permission,
    require_scope,
    require_visible,
    shop_not_found,
)
from aftersales.services.context import Context
from aftersales.store import cases as case_store
from aftersales.store import catalog as catalog_store
from aftersales.store import ledger as store
from aftersales.store import shop_status

PLATFORM_SIDE = (ActorKind.PLATFORM, ActorKind.SYSTEM)


def _require_platform(actor: Actor) -> None:
    if actor.kind not in PLATFORM_SIDE:
        raise Forbidden(
            "money.platform_only", N_("Only the platform may move this money."), rule="R1.3"
        )


def _order(conn: Connection, number: str) -> Order:
    oid = catalog_store.order_id_by_number(conn, number)
    order = catalog_store.load_order(conn, oid) if oid is not None else None
    if order is None:
        raise NotFound("order.not_found", N_("Order {number} not found."), number=number)
    return order


def _post_on_case(
    conn: Connection,
    case: Case,
    order: Order,
    draft: L.EntryDraft,
    key: str,
    *,
    now: datetime,
    floors: frozenset[L.AccountRef] = frozenset(),
) -> store.Posted:
    """Post an entry that belongs to a case (and so to its shop and order)."""
    return store.post(
        conn,
        draft,
        key,
        now=now,
        shop_id=case.shop_id,
        order_id=order.id,
        case_id=case.id,
        floors=floors,
    )


def _case_profile(ctx: Context, conn: Connection, case: Case) -> Profile:
    """The profile version the case was opened under: its money follows it too."""
    return ctx.profiles.for_case(conn, case.profile_id, case.profile_version)


def _profile_of_shop(ctx: Context, conn: Connection, shop_id: int) -> Profile:
    shop = catalog_store.get_shop(conn, shop_id)
    assert shop is not None
    return ctx.profiles.current_for(conn, shop.profile_id, ctx.now())


def _deposit_floor(profile: Profile, ref: L.AccountRef) -> frozenset[L.AccountRef]:
    """R14.1: the deposit may not go below zero unless the profile allows a debt."""
    if ref.purpose is L.Purpose.DEPOSIT and not profile.money.deposit_debt_allowed:
        return frozenset({ref})
    return frozenset()


def _check_order_cap(conn: Connection, order: Order, amount: int, *, given: bool) -> None:
    """R5.2: everything refunded on the order stays within what was paid for it.
    ``given``: the caller named the amount (422 naming ``amount``); otherwise it is what a
    case decided, checked again under the order's lock (409 if the order moved meanwhile)."""
    done = store.refunded_on_order(conn, order.id)
    if done + amount > order.total_paid.amount:
        left = Money(order.total_paid.amount - done, order.currency)
        raise exceeds_paid(Money(amount, order.currency), left, given=given)


# --------------------------------------------------------------------------- order money
def record_order_payment(conn: Connection, order: Order, now: datetime) -> None:
    """The buyer's payment waits in the shop's settlement balance (order pushed as paid)."""
    total = order.total_paid.amount
    if total <= 0:
        return
    draft = L.move(
        L.EntryKind.ORDER_PAYMENT,
        L.platform_account(L.Purpose.GATEWAY, order.currency),
        L.shop_account(order.shop_id, L.Purpose.SETTLEMENT, order.currency),
        total,
        memo=f"order {order.number} paid",
    )
    store.post(
        conn, draft, f"order:{order.number}:paid", now=now, shop_id=order.shop_id, order_id=order.id
    )


def top_up_deposit(
    ctx: Context, actor: Actor, shop_id: int, amount: int, currency: str, key: str
) -> int:
    """The shop pays into its deposit 保证金."""
    _require_platform(actor)
    with ctx.db.write() as conn:
        profile = _profile_of_shop(ctx, conn, shop_id)
        return _post_top_up(conn, profile, shop_id, currency, amount, key, "", ctx.now())


def _post_top_up(
    conn: Connection,
    profile: Profile,
    shop_id: int,
    currency: str,
    amount: int,
    key: str,
    reference: str,
    now: datetime,
) -> int:
    """Gateway -> the shop's deposit, once per ``key``; a deposit back at the required
    level lifts the R11.2 freeze (a top-up never imposes one)."""
    draft = L.move(
        L.EntryKind.DEPOSIT_TOP_UP,
        L.platform_account(L.Purpose.GATEWAY, currency),
        L.shop_account(shop_id, L.Purpose.DEPOSIT, currency),
        amount,
        memo=f"deposit top-up {reference}".strip(),
    )
    posted = store.post(conn, draft, key, now=now, shop_id=shop_id)
    if posted.created:
        review_deposit(
            conn, profile, shop_id, currency, now, entry_id=posted.entry_id, deduction=False
        )
    return posted.entry_id


# --------------------------------------------------------------------------- refunds
def refund_in_case(
    ctx: Context,
    conn: Connection,
    case: Case,
    order: Order,
    decision_id: int,
    amount: Money,
    now: datetime,
    *,
    pay_first: bool = False,
) -> list[int]:
    """Money for a refund decision, inside the case's transaction (``order`` as the action
    loaded and locked it). An advance the platform already paid on this case is recovered
    from the shop instead of paying twice (R7.2). ``pay_first`` (R11.2, a ruling the
    merchant did not execute in time): the platform pays the buyer and deducts the amount
    from the shop's settlement, then its deposit."""
    assert case.id is not None
    profile = _case_profile(ctx, conn, case)
    # R7: what the platform already paid this buyer on this case (net of reversals) covers
    # that much of the refund; of it, what the shop has not yet repaid is recovered now.
    advanced = -store.case_account_total(conn, case.id, L.Purpose.ADVANCE, (L.EntryKind.ADVANCE,))
    covered = max(0, min(advanced, amount.amount))
    recover = 0
    if covered:
        outstanding = -store.case_account_total(
            conn, case.id, L.Purpose.ADVANCE, (L.EntryKind.ADVANCE, L.EntryKind.ADVANCE_RECOVERY)
        )
        recover = max(0, min(outstanding, covered))
    entries = []
    if recover > 0:
        entries.append(
            _recover(
                conn,
                case,
                order,
                recover,
                L.Purpose.SETTLEMENT,
                f"refund-decision:{decision_id}:recovery",
                now,
                profile,
            )
        )
    shipment = case.return_shipment
    if shipment is not None and shipment.freight > 0:
        # R16.3: the return freight the buyer paid follows the refund, paid by whoever the
        # reason makes liable (once per case: keyed by the case, not the decision).
        _post_return_freight(
            conn, case, order, profile, shipment.freight, f"case:{case.number}:return-freight", now
        )
    rest = amount.amount - covered
    if rest > 0 and pay_first:
        _check_order_cap(conn, order, rest, given=False)
        key = f"refund-decision:{decision_id}:pay-first"
        entries.extend(
            _pay_first_in(conn, case, order, profile, rest, key, now, owe_shortfall=True)
        )
    elif rest > 0:
        _check_order_cap(conn, order, rest, given=False)
        draft = L.move(
            L.EntryKind.REFUND,
            L.shop_account(case.shop_id, L.Purpose.SETTLEMENT, order.currency),
            L.buyer_account(case.buyer_id, order.currency),
            rest,
            memo=f"refund on {case.number}",
        )
        entries.append(
            _post_on_case(
                conn, case, order, draft, f"refund-decision:{decision_id}", now=now
            ).entry_id
        )
    return entries


def refund_order(
    ctx: Context, actor: Actor, order_number: str, amount: int, key: str, memo: str = ""
) -> int:
    """A partial or full refund on an order outside a case (goodwill, price protection):
    from the shop's settlement to the buyer, never beyond what was paid (R5.2)."""
    with ctx.db.write() as conn:
        order = _order(conn, order_number)
        if actor.kind is ActorKind.MERCHANT and actor.shop_id != order.shop_id:
            raise NotFound("order.not_found", N_("Order {number} not found."), number=order_number)
        if actor.kind not in (ActorKind.MERCHANT, *PLATFORM_SIDE):
            raise Forbidden(
                "money.refund_forbidden", N_("Only the shop or the platform refunds."), rule="R1.2"
            )
        catalog_store.lock_order(conn, order.id)
        known = store.entry_by_key(conn, key)
        if known is None:
            _check_order_cap(conn, order, amount, given=True)
        draft = L.move(
            L.EntryKind.REFUND,
            L.shop_account(order.shop_id, L.Purpose.SETTLEMENT, order.currency),
            L.buyer_account(order.buyer_id, order.currency),
            amount,
            memo=memo or f"refund on order {order.number}",
        )
        return store.post(
            conn, draft, key, now=ctx.now(), shop_id=order.shop_id, order_id=order.id
        ).entry_id


# --------------------------------------------------------------------------- R7 advance
def _case_and_order(conn: Connection, actor: Actor, number: str) -> tuple[Case, Order]:
    case = require_visible(actor, case_store.load_case(conn, number), number)
    assert case.id is not None
    order = catalog_store.lock_and_load_order(conn, case.order_id)
    assert order is not None
    return case, order


def advance(ctx: Context, actor: Actor, case_number: str, amount: int | None = None) -> int:
    """R7.1: the platform refunds the buyer at once, advancing the money for the merchant."""
    _require_platform(actor)
    with ctx.db.write() as conn:
        case, order = _case_and_order(conn, actor, case_number)
        value = amount if amount is not None else case.requested.amount
        return advance_in(conn, case, order, value, ctx.now(), given=amount is not None)


def advance_in(
    conn: Connection, case: Case, order: Order, amount: int, now: datetime, *, given: bool = False
) -> int:
    """R7.1 inside the caller's transaction (the order locked): platform -> buyer.
    ``given``: the caller named the amount (a refusal names the field)."""
    assert case.id is not None
    generation = store.count_case_entries(conn, case.id, L.EntryKind.ADVANCE, reversed_only=True)
    key = f"case:{case.number}:advance:{generation}"
    if store.entry_by_key(conn, key) is None:
        _check_order_cap(conn, order, amount, given=given)
    draft = L.move(
        L.EntryKind.ADVANCE,
        L.platform_account(L.Purpose.ADVANCE, order.currency),
        L.buyer_account(case.buyer_id, order.currency),
        amount,
        memo=f"express refund advanced on {case.number}",
    )
    return _post_on_case(conn, case, order, draft, key, now=now).entry_id


def _recover(
    conn: Connection,
    case: Case,
    order: Order,
    amount: int,
    source: L.Purpose,
    key: str,
    now: datetime,
    profile: Profile,
) -> int:
    src = L.shop_account(case.shop_id, source, order.currency)
    draft = L.move(
        L.EntryKind.ADVANCE_RECOVERY,
        src,
        L.platform_account(L.Purpose.ADVANCE, order.currency),
        amount,
        memo=f"advance on {case.number} recovered from {source.value}",
    )
    posted = _post_on_case(
        conn, case, order, draft, key, now=now, floors=_deposit_floor(profile, src)
    )
    if posted.created and source is L.Purpose.DEPOSIT:
        review_deposit(conn, profile, case.shop_id, order.currency, now, entry_id=posted.entry_id)
    return posted.entry_id


def recover_advance(
    ctx: Context, actor: Actor, case_number: str, source: L.Purpose = L.Purpose.DEPOSIT
) -> int | None:
    """R7.2: recover what is still advanced on a case from the shop (settlement or, when
    the merchant wins nothing back, the deposit). None when nothing is outstanding."""
    _require_platform(actor)
    if source not in (L.Purpose.SETTLEMENT, L.Purpose.DEPOSIT):
        raise ValidationFailed(
            "money.bad_source", N_("Recover from settlement or deposit."), field="source"
        )
    with ctx.db.write() as conn:
        case, order = _case_and_order(conn, actor, case_number)
        assert case.id is not None
        outstanding = -store.case_account_total(
            conn, case.id, L.Purpose.ADVANCE, (L.EntryKind.ADVANCE, L.EntryKind.ADVANCE_RECOVERY)
        )
        if outstanding <= 0:
            return None
        profile = _case_profile(ctx, conn, case)
        generation = store.count_case_entries(conn, case.id, L.EntryKind.ADVANCE_RECOVERY)
        return _recover(
            conn,
            case,
            order,
            outstanding,
            source,
            f"case:{case.number}:recovery:{source.value}:{generation}",
            ctx.now(),
            profile,
        )


# --------------------------------------------------------------------------- R11.2
_PURPOSE = {
    DeductionSource.DEPOSIT: L.Purpose.DEPOSIT,
    DeductionSource.SETTLEMENT: L.Purpose.SETTLEMENT,
}


def _deduct(
    conn: Connection,
    profile: Profile,
    shop_id: int,
    currency: str,
    amount: int,
    target: L.AccountRef,
    kind: L.EntryKind,
    key: str,
    now: datetime,
    sources: tuple[DeductionSource, ...],
    **refs: Any,
) -> list[int]:
    """Take ``amount`` from the shop, from ``sources`` in order, each giving what it holds.
    What none covers falls on the deposit (the last source if the deposit is not one),
    where R14.1's floor refuses it unless the profile allows a deposit debt. The split is
    decided once: a retry finds the entries of the first attempt and moves nothing."""
    keys = {src: f"{key}:{src.value}" for src in sources}
    done = [e.id for e in (store.entry_by_key(conn, k) for k in keys.values()) if e is not None]
    if done:
        return done
    accounts = {src: L.shop_account(shop_id, _PURPOSE[src], currency) for src in sources}
    takes: dict[DeductionSource, int] = {}
    rest = amount
    for src in sources:
        take = max(0, min(rest, store.balance(conn, accounts[src])))
        takes[src] = take
        rest -= take
    if rest > 0:
        debtor = DeductionSource.DEPOSIT if DeductionSource.DEPOSIT in takes else sources[-1]
        takes[debtor] += rest
    return [
        store.post(
            conn,
            L.move(kind, accounts[src], target, take, memo=f"from {src.value}"),
            keys[src],
            now=now,
            shop_id=shop_id,
            floors=_deposit_floor(profile, accounts[src]),
            **refs,
        ).entry_id
        for src, take in takes.items()
        if take > 0
    ]


# A shop's standing (R11.2): withdrawals frozen while its deposit is below the required level.
WITHDRAWALS_FROZEN = "withdrawals_frozen"
DEPOSIT_BELOW_REQUIRED = "deposit_below_required"


def review_deposit(
    conn: Connection,
    profile: Profile,
    shop_id: int,
    currency: str,
    now: datetime,
    *,
    entry_id: int | None = None,
    deduction: bool = True,
) -> shop_status.StatusChange | None:
    """R11.2: after money moved on the shop's deposit, freeze its withdrawals if a
    ``deduction`` left the deposit below the profile's required level, or lift the freeze
    once it is topped up to that level. (The deposit a shop pays to open is the
    marketplace's onboarding: a top-up that leaves it short does not freeze; only a
    deduction does.) A change is a dated record with its cause and an event; no change,
    nothing written. Only the profile's own currency has a required level."""
    if currency != profile.currency:
        return None
    required = profile.money.required_deposit
    balance = store.balance(conn, L.shop_account(shop_id, L.Purpose.DEPOSIT, currency))
    below = balance < required
    frozen = shop_status.in_force(conn, shop_id, WITHDRAWALS_FROZEN, DEPOSIT_BELOW_REQUIRED)
    if below == frozen or (below and not deduction):
        return None
    details = {"balance": balance, "required": required, "currency": currency}
    change = shop_status.record(
        conn,
        shop_id=shop_id,
        status=WITHDRAWALS_FROZEN,
        active=below,
        cause=DEPOSIT_BELOW_REQUIRED,
        rule="R11.2",
        entry_id=entry_id,
        details=details,
        now=now,
    )
    events.emit(
        conn,
        "shop.status_changed",
        shop_id=shop_id,
        case_id=None,
        data={
            "status": WITHDRAWALS_FROZEN,
            "active": below,
            "cause": DEPOSIT_BELOW_REQUIRED,
            "rule": "R11.2",
            "entry_id": entry_id,
            **details,
        },
        now=now,
    )
    return change


def pay_first(ctx: Context, actor: Actor, case_number: str, amount: int) -> list[int]:
    """R11.2: the ruling was not executed in time: the platform pays the buyer first and
    deducts the amount from the merchant's settlement balance or deposit."""
    _require_platform(actor)
    with ctx.db.write() as conn:
        case, order = _case_and_order(conn, actor, case_number)
        now = ctx.now()
        assert case.id is not None
        generation = store.count_case_entries(
            conn, case.id, L.EntryKind.PAY_FIRST, reversed_only=True
        )
        key = f"case:{case.number}:pay-first:{generation}"
        if store.entry_by_key(conn, key) is None:
            _check_order_cap(conn, order, amount, given=True)
        profile = _case_profile(ctx, conn, case)
        return _pay_first_in(conn, case, order, profile, amount, key, now, owe_shortfall=False)


def _pay_first_in(
    conn: Connection,
    case: Case,
    order: Order,
    profile: Profile,
    amount: int,
    key: str,
    now: datetime,
    *,
    owe_shortfall: bool,
) -> list[int]:
    """R11.2 inside the caller's transaction: platform -> buyer, then the shop repays it
    from settlement first, then the deposit (a retry finds the first attempt's entries and
    moves nothing). ``owe_shortfall``: where the deposit may not go below zero (R14.1) and
    cannot cover the rest, the shortfall stays owed on the platform's pay-first account
    rather than refusing the buyer (the ruling's automatic pay-first); otherwise the
    deposit floor refuses the whole movement (an agent's manual pay-first)."""
    deposit = L.shop_account(case.shop_id, L.Purpose.DEPOSIT, order.currency)
    # The shop's deposit row first, then the platform's pot: every pay-first locks in this
    # order, so the balances read below hold and two shops' pay-firsts cannot deadlock.
    store.locked_balance(conn, deposit, now)
    pot = L.platform_account(L.Purpose.PAY_FIRST, order.currency)
    paid = _post_on_case(
        conn,
        case,
        order,
        L.move(
            L.EntryKind.PAY_FIRST,
            pot,
            L.buyer_account(case.buyer_id, order.currency),
            amount,
            memo=f"pay-first on {case.number}",
        ),
        key,
        now=now,
    )
    if not paid.created:
        return [paid.entry_id]
    deducted = amount
    if owe_shortfall and _deposit_floor(profile, deposit):
        settlement = L.shop_account(case.shop_id, L.Purpose.SETTLEMENT, order.currency)
        funds = max(0, store.balance(conn, settlement)) + max(0, store.balance(conn, deposit))
        deducted = min(amount, funds)
    taken = []
    if deducted > 0:
        taken = _deduct(
            conn,
            profile,
            case.shop_id,
            order.currency,
            deducted,
            pot,
            L.EntryKind.PAY_FIRST_DEDUCTION,
            f"{key}:deduction",
            now,
            profile.money.pay_first_sources,  # R11.2: deposit first (douyin)
            order_id=order.id,
            case_id=case.id,
        )
    review_deposit(
        conn,
        profile,
        case.shop_id,
        order.currency,
        now,
        entry_id=taken[-1] if taken else paid.entry_id,
    )
    return [paid.entry_id, *taken]


def deducted_on_case(conn: Connection, case: Case) -> int:
    """R11.2: what pay-first took from the shop on this case, net of what appeals returned."""
    assert case.id is not None
    return store.case_account_total(
        conn,
        case.id,
        L.Purpose.PAY_FIRST,
        (L.EntryKind.PAY_FIRST_DEDUCTION, L.EntryKind.APPEAL_REFUND),
    )


def refund_deduction_in(
    conn: Connection, case: Case, order: Order, key: str, now: datetime, profile: Profile
) -> list[int]:
    """R12.1: a won appeal returns what pay-first deducted on the case to where it was
    taken from (its deposit, its settlement balance), as new movements: nothing is
    reversed or deleted. A deposit made whole again may lift the R11.2 freeze. A retry
    finds the first attempt's entries and moves nothing."""
    assert case.id is not None
    kinds = (L.EntryKind.PAY_FIRST_DEDUCTION, L.EntryKind.APPEAL_REFUND)
    pot = L.platform_account(L.Purpose.PAY_FIRST, order.currency)
    # The deposit's row first, as pay-first locks (see _pay_first_in).
    store.locked_balance(conn, L.shop_account(case.shop_id, L.Purpose.DEPOSIT, order.currency), now)
    out: list[int] = []
    for purpose, part_key in ((L.Purpose.SETTLEMENT, key), (L.Purpose.DEPOSIT, f"{key}:deposit")):
        known = store.entry_by_key(conn, part_key)
        if known is not None:
            out.append(int(known.id))
            continue
        taken = -store.case_shop_total(conn, case.id, case.shop_id, purpose, kinds)
        if taken <= 0:
            continue
        out.append(
            _post_on_case(
                conn,
                case,
                order,
                L.move(
                    L.EntryKind.APPEAL_REFUND,
                    pot,
                    L.shop_account(case.shop_id, purpose, order.currency),
                    taken,
                    memo=f"appeal won on {case.number}: pay-first deduction returned",
                ),
                part_key,
                now=now,
            ).entry_id
        )
        if purpose is L.Purpose.DEPOSIT:
            review_deposit(
                conn, profile, case.shop_id, order.currency, now, entry_id=out[-1], deduction=False
            )
    return out


# --------------------------------------------------------------------------- R14
@dataclass(frozen=True, slots=True)
class FineResult:
    entry_id: int
    amount: Money
    frozen_until: datetime | None


def fine(
    ctx: Context,
    actor: Actor,
    order_number: str,
    multiple: int,
    reason_text: str,
    key: str,
    freeze: bool = True,
) -> FineResult:
    """R14.1: false advertising or counterfeit: a fine of 1–3x the order amount from the
    deposit, and (optionally) the shop's withdrawals frozen for the profile's period."""
    _require_platform(actor)
    with ctx.db.write() as conn:
        order = _order(conn, order_number)
        catalog_store.lock_order(conn, order.id)
        profile = _profile_of_shop(ctx, conn, order.shop_id)
        amount = L.fine_amount(order.total_paid, multiple, profile)
        deposit = L.shop_account(order.shop_id, L.Purpose.DEPOSIT, order.currency)
        now = ctx.now()
        posted = store.post(
            conn,
            L.move(
                L.EntryKind.FINE,
                deposit,
                L.platform_account(L.Purpose.FINES, order.currency),
                amount.amount,
                memo=reason_text,
            ),
            key,
            now=now,
            shop_id=order.shop_id,
            order_id=order.id,
            floors=_deposit_floor(profile, deposit),
        )
        until = None
        if freeze and profile.money.withdrawal_freeze_days and posted.created:
            until = now + timedelta(days=profile.money.withdrawal_freeze_days)
            shop_status.insert_freeze(
                conn,
                shop_id=order.shop_id,
                reason=reason_text,
                rule="R14.1",
                entry_id=posted.entry_id,
                starts_at=now,
                ends_at=until,
            )
        if posted.created:
            review_deposit(
                conn, profile, order.shop_id, order.currency, now, entry_id=posted.entry_id
            )
        return FineResult(posted.entry_id, amount, until)


def statutory_compensation(ctx: Context, actor: Actor, case_number: str) -> list[int]:
    """R14.2: fraud toward a consumer: three times the price (at least the statutory
    minimum) paid to the buyer by the shop, settlement first, then the deposit."""
    _require_platform(actor)
    with ctx.db.write() as conn:
        case, order = _case_and_order(conn, actor, case_number)
        profile = _case_profile(ctx, conn, case)
        price = Money(
            sum(
                ln.paid_for(q).amount
                for ln, q in ((order.line(cl.order_line_id), cl.quantity) for cl in case.lines)
                if ln is not None
            ),
            order.currency,
        )
        amount = L.statutory_compensation(price, profile)
        now = ctx.now()
        store.locked_balance(
            conn, L.shop_account(case.shop_id, L.Purpose.DEPOSIT, order.currency), now
        )
        taken = _deduct(
            conn,
            profile,
            case.shop_id,
            order.currency,
            amount.amount,
            L.buyer_account(case.buyer_id, order.currency),
            L.EntryKind.STATUTORY_COMPENSATION,
            f"case:{case.number}:r14.2",
            now,
            (DeductionSource.SETTLEMENT, DeductionSource.DEPOSIT),  # R14.2 names no order
            order_id=order.id,
            case_id=case.id,
        )
        if taken:
            review_deposit(conn, profile, case.shop_id, order.currency, now, entry_id=taken[-1])
        return taken


# --------------------------------------------------------------------------- R16.3
def freight_payer(case: Case, order: Order, profile: Profile) -> str:
    """R16.3: who pays the buyer's return freight — 'shop' for merchant-side reasons,
    'insurer' for no-reason returns of an order with shipping insurance, else 'buyer'."""
    group = reason(case.reason).group
    if profile.is_merchant_side(group):
        return "shop"
    if group is ReasonGroup.NO_REASON and order.shipping_insurance:
        return "insurer"
    return "buyer"


def _post_return_freight(
    conn: Connection,
    case: Case,
    order: Order,
    profile: Profile,
    amount: int,
    key: str,
    now: datetime,
) -> str:
    payer = freight_payer(case, order, profile)
    if payer == "buyer" or amount <= 0:
        return "buyer"
    if payer == "shop":
        source = L.shop_account(case.shop_id, L.Purpose.SETTLEMENT, order.currency)
        kind = L.EntryKind.RETURN_FREIGHT
    else:
        source = L.AccountRef(L.Party.INSURER, 0, L.Purpose.SHIPPING_INSURANCE, order.currency)
        kind = L.EntryKind.INSURANCE_PAYOUT
    _post_on_case(
        conn,
        case,
        order,
        L.move(
            kind,
            source,
            L.buyer_account(case.buyer_id, order.currency),
            amount,
            memo=f"return freight on {case.number}",
        ),
        key,
        now=now,
    )
    return payer


def return_freight(ctx: Context, actor: Actor, case_number: str, amount: int) -> str:
    """R16.3: settle a return freight the buyer reported outside the return shipment.
    Returns the payer: 'shop', 'insurer' or 'buyer' (nothing moves)."""
    _require_platform(actor)
    with ctx.db.write() as conn:
        case, order = _case_and_order(conn, actor, case_number)
        profile = _case_profile(ctx, conn, case)
        if amount <= 0 or amount > profile.money.max_return_freight:
            raise ValidationFailed(
                "freight.out_of_range",
                N_("Return freight must be between 0.01 and {cap}."),
                rule="R16.3",
                field="amount",
                cap=Money(profile.money.max_return_freight, order.currency).format(),
            )
        return _post_return_freight(
            conn, case, order, profile, amount, f"case:{case.number}:return-freight", ctx.now()
        )


def carrier_compensation(ctx: Context, actor: Actor, case_number: str, amount: int) -> int:
    """R10.4: goods lost in transit: the carrier compensates the shop."""
    _require_platform(actor)
    with ctx.db.write() as conn:
        case, order = _case_and_order(conn, actor, case_number)
        draft = L.move(
            L.EntryKind.CARRIER_COMPENSATION,
            L.AccountRef(L.Party.CARRIER, 0, L.Purpose.LOSSES, order.currency),
            L.shop_account(case.shop_id, L.Purpose.SETTLEMENT, order.currency),
            amount,
            memo=f"loss in transit on {case.number}",
        )
        return _post_on_case(
            conn, case, order, draft, f"case:{case.number}:carrier-loss", now=ctx.now()
        ).entry_id


# --------------------------------------------------------------------------- corrections
def reverse(ctx: Context, actor: Actor, entry_id: int, reason_text: str) -> int:
    """Correct a mistake with the mirror entry (nothing is edited or deleted)."""
    _require_platform(actor)
    if not reason_text.strip():
        raise ValidationFailed(
            "reversal.reason_missing", N_("A reversal needs a reason."), field="reason"
        )
    with ctx.db.write() as conn:
        original = store.entry(conn, entry_id)
        if original is None:
            raise NotFound("ledger.entry_not_found", N_("Entry {id} not found."), id=entry_id)
        if original.kind == L.EntryKind.REVERSAL.value:
            raise IllegalTransition(
                "reversal.of_reversal", N_("A reversal is corrected by a new movement."), rule="R11"
            )
        if original.order_id is not None:
            catalog_store.lock_order(conn, original.order_id)
        if original.case_id is not None:
            settled = case_store.load_case_by_id(conn, original.case_id)
            if settled is not None and settled.state.terminal:
                # The money of a finished case backs its decision (a refund the buyer has):
                # a correction there is a new movement on the case, not an undo.
                raise IllegalTransition(
                    "reversal.case_settled",
                    N_("Case {number} is finished; its money is not reversed."),
                    rule="R11.3",
                    number=settled.number,
                )
        postings = [
            L.Posting(
                L.AccountRef(L.Party(p.party), p.party_id, L.Purpose(p.purpose), p.currency),
                p.amount,
            )
            for p in store.postings_of(conn, entry_id)
        ]
        draft = L.reversal_of(postings, reason_text)
        profile = None
        floors: frozenset[L.AccountRef] = frozenset()
        if original.shop_id is not None:
            profile = _profile_of_shop(ctx, conn, original.shop_id)
            for p in draft.postings:
                floors |= _deposit_floor(profile, p.account)
        now = ctx.now()
        posted = store.post(
            conn,
            draft,
            f"reverse:{entry_id}",
            now=now,
            shop_id=original.shop_id,
            order_id=original.order_id,
            case_id=original.case_id,
            reverses_id=entry_id,
            floors=floors,
        )
        if posted.created and profile is not None:
            for p in draft.postings:
                if p.account.party is L.Party.SHOP and p.account.purpose is L.Purpose.DEPOSIT:
                    review_deposit(
                        conn,
                        profile,
                        p.account.party_id,
                        p.account.currency,
                        now,
                        entry_id=posted.entry_id,
                        deduction=p.amount < 0,
                    )
        return posted.entry_id


# --------------------------------------------------------------------------- R11.2 standing
@dataclass(frozen=True, slots=True)
class Standing:
    """What a shop may do with its money now, and why (R11.2, R14.1)."""

    shop_code: str
    currency: str
    deposit: int  # minor units
    required_deposit: int
    settlement: int
    withdrawals_frozen: bool
    frozen_by_deposit: bool  # R11.2: below the required level until topped up
    frozen_until: datetime | None  # R14.1: a fine's freeze in force, until then
    changes: tuple[shop_status.StatusChange, ...]


def _require_payments(actor: Actor) -> None:
    """The marketplace's payment/order system (a service account with ``orders:write``)
    or a platform admin: the deposit is paid in through the platform's gateway."""
    if not is_marketplace_system(actor):
        raise Forbidden(
            "money.platform_only", N_("Only the platform may move this money."), rule="R1.3"
        )
    require_scope(actor, Scope.ORDERS_WRITE)


def _shop_by_code(conn: Connection, actor: Actor, code: str) -> Shop:
    row = catalog_store.get_shop_by_code(conn, code)
    if row is None or not (actor.kind in PLATFORM_SIDE or owns_shop(actor, row.id)):
        raise shop_not_found(code)
    return row


def top_up(
    ctx: Context, actor: Actor, shop_code: str, amount: int, reference: str
) -> tuple[int, Standing]:
    """The shop paid ``amount`` into its deposit 保证金 (the payment's ``reference`` in the
    marketplace makes it once-only). A deposit back at the required level lifts the R11.2
    freeze. Returns the entry and the shop's standing after it."""
    _require_payments(actor)
    if amount <= 0:
        raise ValidationFailed(
            "money.amount_not_positive", N_("The amount must be above zero."), field="amount"
        )
    with ctx.db.write() as conn:
        row = _shop_by_code(conn, actor, shop_code)
        profile = ctx.profiles.current_for(conn, row.profile_id, ctx.now())
        key = f"deposit:{row.id}:{reference}"
        try:
            entry_id = _post_top_up(
                conn, profile, row.id, profile.currency, amount, key, reference, ctx.now()
            )
        except ValidationFailed as err:
            if err.code != "ledger.key_reused":
                raise
            raise Conflict(
                "money.reference_reused",
                N_("Payment {reference} was already recorded with another amount."),
                field="reference",
                reference=reference,
            ) from None
        return entry_id, _standing(ctx, conn, row)


def _standing(ctx: Context, conn: Connection, row: Shop) -> Standing:
    now = ctx.now()
    profile = ctx.profiles.current_for(conn, row.profile_id, now)
    cur = profile.currency
    by_deposit = shop_status.in_force(conn, row.id, WITHDRAWALS_FROZEN, DEPOSIT_BELOW_REQUIRED)
    until = shop_status.freeze_until(conn, row.id, now)
    return Standing(
        shop_code=row.code,
        currency=cur,
        deposit=store.balance(conn, L.shop_account(row.id, L.Purpose.DEPOSIT, cur)),
        required_deposit=profile.money.required_deposit,
        settlement=store.balance(conn, L.shop_account(row.id, L.Purpose.SETTLEMENT, cur)),
        withdrawals_frozen=by_deposit or until is not None,
        frozen_by_deposit=by_deposit,
        frozen_until=until,
        changes=tuple(shop_status.history(conn, row.id)),
    )


def standing(ctx: Context, actor: Actor, shop_code: str) -> Standing:
    """The shop's money standing: balances, whether withdrawals are frozen and why, and the
    dated changes of its status. The platform, the shop's main account and sub-accounts
    granted ``view_analytics`` (R1.2) see it."""
    with ctx.db.read() as conn:
        row = _shop_by_code(conn, actor, shop_code)
        require_permission(actor, Permission.VIEW_ANALYTICS)
        # The payment system reads what it pays into; people read with their case scope.
        service = actor.account_kind is AccountKind.SERVICE
        require_scope(actor, Scope.ORDERS_WRITE if service else Scope.CASES_READ)
        return _standing(ctx, conn, row)
