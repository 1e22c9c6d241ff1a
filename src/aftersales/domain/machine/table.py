"""THE transition table: one row per (state, action, request types), with the actor
allowed to take it, its rule, named guards and effect; and the states each type reaches."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aftersales.domain.case_types import Action, ActorKind, CaseType, State
from aftersales.domain.machine.effects import (
    effect_accept_offer,
    effect_approve_return,
    effect_counter_offer,
    effect_edit,
    effect_none,
    effect_refund,
    effect_reject,
    effect_resubmit,
    effect_ship_replacement,
    effect_ship_return,
)
from aftersales.domain.machine.guards import (
    guard_edit_valid,
    guard_offer_valid,
    guard_refund_positive,
    guard_refusal_after_receipt,
    guard_refusal_review,
    guard_regional_auto_refund,
    guard_resubmit_window,
    guard_return_address,
    guard_return_freight,
    guard_tracking_valid,
)
from aftersales.domain.machine.parcels import guard_intercept_possible
from aftersales.domain.machine.rulings import (
    REMEDY_TYPES,
    effect_rule,
    guard_execution_goods,
    guard_execution_refund,
    guard_overturn_reason,
    guard_ruling_valid,
)
from aftersales.domain.machine.vocabulary import (
    ALL_TYPES,
    REFUND_TYPES,
    RETURN_OFFER_TYPES,
    RETURN_TYPES,
    A,
    Effect,
    Guard,
    S,
    T,
)
from aftersales.domain.policy import (
    Remedy,
)


# --------------------------------------------------------------------------- the table
@dataclass(frozen=True, slots=True)
class Transition:
    state: State
    action: Action
    types: frozenset[CaseType]
    targets: tuple[State, ...]  # more than one: the effect routes (e.g. accept_offer)
    actor: ActorKind
    rule: str
    guards: tuple[Guard, ...] = ()
    effect: Effect = effect_none


def _t(
    state: State,
    action: Action,
    types: Iterable[CaseType],
    targets: State | tuple[State, ...],
    actor: ActorKind,
    rule: str,
    guards: tuple[Guard, ...] = (),
    effect: Effect = effect_none,
) -> Transition:
    tgt = targets if isinstance(targets, tuple) else (targets,)
    return Transition(state, action, frozenset(types), tgt, actor, rule, guards, effect)


BUYER, MERCHANT, CARRIER, SYSTEM, PLATFORM = (
    ActorKind.BUYER,
    ActorKind.MERCHANT,
    ActorKind.CARRIER,
    ActorKind.SYSTEM,
    ActorKind.PLATFORM,
)
_REFUND_OK = (guard_refund_positive,)

# fmt: off
TRANSITIONS: tuple[Transition, ...] = (
    # --- a new request waits for the merchant (R5.1); the buyer may edit (R5.2) ---------
    _t(S.AWAITING_MERCHANT, A.APPROVE_REFUND, REFUND_TYPES | {T.RETURN_REFUND}, S.REFUNDED,
       MERCHANT, "R5.2", _REFUND_OK, effect_refund),
    _t(S.AWAITING_MERCHANT, A.APPROVE_RETURN, RETURN_TYPES, S.AWAITING_RETURN,
       MERCHANT, "R5.1", (guard_return_address,), effect_approve_return),
    _t(S.AWAITING_MERCHANT, A.APPROVE_RESHIP, {T.RESHIP}, S.AWAITING_RESHIP,
       MERCHANT, "R2.5"),
    _t(S.AWAITING_MERCHANT, A.COUNTER_OFFER, ALL_TYPES, S.AWAITING_BUYER,
       MERCHANT, "R5.2", (guard_offer_valid,), effect_counter_offer),
    _t(S.AWAITING_MERCHANT, A.REJECT, ALL_TYPES, S.REJECTED,
       MERCHANT, "R5.5", (guard_refusal_review,), effect_reject),
    _t(S.AWAITING_MERCHANT, A.EDIT_REQUEST, ALL_TYPES, S.AWAITING_MERCHANT,
       BUYER, "R5.2", (guard_edit_valid,), effect_edit),
    _t(S.AWAITING_MERCHANT, A.CANCEL, ALL_TYPES, S.CLOSED,
       BUYER, "R2"),
    _t(S.AWAITING_MERCHANT, A.MERCHANT_TIMEOUT, REFUND_TYPES, S.REFUNDED,
       SYSTEM, "R5.1", _REFUND_OK, effect_refund),
    _t(S.AWAITING_MERCHANT, A.MERCHANT_TIMEOUT, RETURN_TYPES, S.AWAITING_RETURN,
       SYSTEM, "R5.1", (guard_return_address,), effect_approve_return),
    _t(S.AWAITING_MERCHANT, A.MERCHANT_TIMEOUT, {T.RESHIP}, S.AWAITING_RESHIP,
       SYSTEM, "R5.1"),
    _t(S.AWAITING_MERCHANT, A.REGIONAL_AUTO_REFUND, {T.REFUND_ONLY}, S.REFUNDED,
       SYSTEM, "R8.2", (guard_regional_auto_refund, guard_refund_positive), effect_refund),
    # --- counter-offer: the buyer accepts, edits and resubmits, or lets it lapse (R5.2) --
    _t(S.AWAITING_BUYER, A.ACCEPT_OFFER, ALL_TYPES, (S.REFUNDED, S.AWAITING_RETURN),
       BUYER, "R5.2", _REFUND_OK, effect_accept_offer),
    _t(S.AWAITING_BUYER, A.EDIT_REQUEST, ALL_TYPES, S.AWAITING_MERCHANT,
       BUYER, "R5.2", (guard_edit_valid,), effect_edit),
    _t(S.AWAITING_BUYER, A.CANCEL, ALL_TYPES, S.CLOSED,
       BUYER, "R2"),
    _t(S.AWAITING_BUYER, A.BUYER_OFFER_TIMEOUT, ALL_TYPES, S.CLOSED,
       SYSTEM, "R5.2"),
    # --- the buyer ships the return (R5.3) ---------------------------------------------
    _t(S.AWAITING_RETURN, A.SHIP_RETURN, ALL_TYPES, S.RETURN_SHIPPED,
       BUYER, "R5.3", (guard_tracking_valid, guard_return_freight), effect_ship_return),
    _t(S.AWAITING_RETURN, A.APPROVE_REFUND, {T.REFUND_ONLY, T.RETURN_REFUND}, S.REFUNDED,
       MERCHANT, "R8.1", _REFUND_OK, effect_refund),
    _t(S.AWAITING_RETURN, A.CANCEL, ALL_TYPES, S.CLOSED,
       BUYER, "R2"),
    _t(S.AWAITING_RETURN, A.RETURN_SHIP_TIMEOUT, ALL_TYPES, S.CLOSED,
       SYSTEM, "R5.3"),
    # --- the return travels, arrives and is received (R5.4, R5.5) ----------------------
    _t(S.RETURN_SHIPPED, A.RETURN_DELIVERED, ALL_TYPES, S.RETURN_DELIVERED,
       CARRIER, "R5.4"),
    _t(S.RETURN_SHIPPED, A.CONFIRM_RECEIPT, ALL_TYPES, S.RETURN_RECEIVED,
       MERCHANT, "R5.4"),
    _t(S.RETURN_SHIPPED, A.REFUND, ALL_TYPES, S.REFUNDED,
       MERCHANT, "R5.4", _REFUND_OK, effect_refund),
    _t(S.RETURN_DELIVERED, A.CONFIRM_RECEIPT, ALL_TYPES, S.RETURN_RECEIVED,
       MERCHANT, "R5.4"),
    _t(S.RETURN_DELIVERED, A.REFUND, ALL_TYPES, S.REFUNDED,
       MERCHANT, "R5.4", _REFUND_OK, effect_refund),
    _t(S.RETURN_DELIVERED, A.REFUSE_REFUND, ALL_TYPES, S.REJECTED,
       MERCHANT, "R5.5", (guard_refusal_after_receipt,), effect_reject),
    _t(S.RETURN_DELIVERED, A.RECEIPT_TIMEOUT, ALL_TYPES, S.REFUNDED,
       SYSTEM, "R5.4", _REFUND_OK, effect_refund),
    _t(S.RETURN_RECEIVED, A.REFUND, ALL_TYPES, S.REFUNDED,
       MERCHANT, "R5.4", _REFUND_OK, effect_refund),
    _t(S.RETURN_RECEIVED, A.REFUSE_REFUND, ALL_TYPES, S.REJECTED,
       MERCHANT, "R5.5", (guard_refusal_after_receipt,), effect_reject),
    _t(S.RETURN_RECEIVED, A.SHIP_REPLACEMENT, {T.EXCHANGE}, S.REPLACEMENT_SHIPPED,
       MERCHANT, "R2.4", (guard_tracking_valid,), effect_ship_replacement),
    _t(S.RETURN_RECEIVED, A.RECEIPT_TIMEOUT, ALL_TYPES, S.REFUNDED,
       SYSTEM, "R5.4", _REFUND_OK, effect_refund),
    # --- exchange and reship: the merchant sends goods (R2.4, R2.5) --------------------
    _t(S.AWAITING_RESHIP, A.SHIP_REPLACEMENT, {T.RESHIP}, S.REPLACEMENT_SHIPPED,
       MERCHANT, "R2.5", (guard_tracking_valid,), effect_ship_replacement),
    _t(S.AWAITING_RESHIP, A.REFUND, {T.RESHIP}, S.REFUNDED,
       MERCHANT, "R2.5", _REFUND_OK, effect_refund),
    _t(S.AWAITING_RESHIP, A.CANCEL, {T.RESHIP}, S.CLOSED,
       BUYER, "R2"),
    _t(S.REPLACEMENT_SHIPPED, A.CONFIRM_REPLACEMENT, {T.EXCHANGE, T.RESHIP}, S.COMPLETED,
       BUYER, "R2.4"),
    _t(S.REPLACEMENT_SHIPPED, A.REPLACEMENT_CONFIRM_TIMEOUT, {T.EXCHANGE, T.RESHIP}, S.COMPLETED,
       SYSTEM, "R2.4"),
    # --- after a refusal: a new request for the same lines, or it lapses (R5.6) --------
    _t(S.REJECTED, A.RESUBMIT, ALL_TYPES, S.AWAITING_MERCHANT,
       BUYER, "R5.6", (guard_resubmit_window,), effect_resubmit),
    _t(S.REJECTED, A.CANCEL, ALL_TYPES, S.CLOSED,
       BUYER, "R2"),
    _t(S.REJECTED, A.RESUBMIT_TIMEOUT, ALL_TYPES, S.CLOSED,
       SYSTEM, "R5.6"),
    # --- R16 parcels that come back ------------------------------------------------------
    # The order's outbound parcel failed delivery or was refused (R16.1) or intercepted
    # (R16.2): the refund request waits for it to reach the merchant, or for the timeout.
    _t(S.AWAITING_MERCHANT, A.PARCEL_UNDELIVERABLE, REFUND_TYPES, S.PARCEL_RETURNING,
       CARRIER, "R16.1"),
    _t(S.AWAITING_MERCHANT, A.PARCEL_INTERCEPTED, REFUND_TYPES, S.PARCEL_RETURNING,
       CARRIER, "R16.2"),
    _t(S.AWAITING_MERCHANT, A.REQUEST_INTERCEPT, REFUND_TYPES, S.AWAITING_MERCHANT,
       MERCHANT, "R16.2", (guard_intercept_possible,)),
    _t(S.PARCEL_RETURNING, A.PARCEL_RETURNED, REFUND_TYPES, S.REFUNDED,
       CARRIER, "R16.1", _REFUND_OK, effect_refund),
    _t(S.PARCEL_RETURNING, A.REFUND, REFUND_TYPES, S.REFUNDED,
       MERCHANT, "R16.1", _REFUND_OK, effect_refund),
    _t(S.PARCEL_RETURNING, A.PARCEL_RETURN_TIMEOUT, REFUND_TYPES, S.REFUNDED,
       SYSTEM, "R16.1", _REFUND_OK, effect_refund),
    # --- R9 platform intervention: asked for after a refusal or a counter-offer ----------
    _t(S.REJECTED, A.ESCALATE, ALL_TYPES, S.IN_INTERVENTION,
       BUYER, "R9.1"),
    _t(S.AWAITING_BUYER, A.ESCALATE, ALL_TYPES, S.IN_INTERVENTION,
       BUYER, "R9.1"),
    _t(S.AWAITING_BUYER, A.MERCHANT_ESCALATE, ALL_TYPES, S.IN_INTERVENTION,
       MERCHANT, "R9.1"),
    _t(S.RETURN_DELIVERED, A.MERCHANT_ESCALATE, ALL_TYPES, S.IN_INTERVENTION,
       MERCHANT, "R9.1"),
    _t(S.RETURN_RECEIVED, A.MERCHANT_ESCALATE, ALL_TYPES, S.IN_INTERVENTION,
       MERCHANT, "R9.1"),
    _t(S.IN_INTERVENTION, A.WITHDRAW_INTERVENTION, ALL_TYPES, S.CLOSED,
       BUYER, "R9.4"),
    _t(S.IN_INTERVENTION, A.LEGAL_PROCEEDINGS, ALL_TYPES, S.CLOSED,
       PLATFORM, "R9.2"),
    # --- R10.4 the ruling, R11 its execution ---------------------------------------------
    _t(S.IN_INTERVENTION, A.RULE, ALL_TYPES,
       (S.AWAITING_EXECUTION, S.AWAITING_RETURN, S.RULED, S.CLOSED),
       PLATFORM, "R10.4", (guard_ruling_valid,), effect_rule),
    _t(S.AWAITING_EXECUTION, A.REFUND, ALL_TYPES, S.REFUNDED,
       MERCHANT, "R11.1", (guard_execution_refund, guard_refund_positive), effect_refund),
    _t(S.AWAITING_EXECUTION, A.SHIP_REPLACEMENT, {T.RESHIP}, S.REPLACEMENT_SHIPPED,
       MERCHANT, "R11.1", (guard_execution_goods,), effect_ship_replacement),
    _t(S.AWAITING_EXECUTION, A.EXECUTION_TIMEOUT, ALL_TYPES, S.REFUNDED,
       SYSTEM, "R11.2", _REFUND_OK, effect_refund),
    _t(S.AWAITING_EXECUTION, A.RULING_OVERTURNED, ALL_TYPES, S.CLOSED,
       PLATFORM, "R12.1", (guard_overturn_reason,)),
    # --- R12.2 the buyer's appeal against a ruling for the merchant ----------------------
    _t(S.RULED, A.APPEAL, ALL_TYPES, S.IN_INTERVENTION,
       BUYER, "R12.2"),
    _t(S.RULED, A.APPEAL_WINDOW_TIMEOUT, ALL_TYPES, S.CLOSED,
       SYSTEM, "R12.2"),
)
# fmt: on

_INDEX: dict[tuple[State, Action, CaseType], Transition] = {}
for _row in TRANSITIONS:
    for _type in _row.types:
        _key = (_row.state, _row.action, _type)
        if _key in _INDEX:  # pragma: no cover - a table bug, caught at import
            raise RuntimeError(f"duplicate transition {_key}")
        _INDEX[_key] = _row

# Which deadline each state holds, and which rule sets it (R5.1, R5.2, R5.3, R5.4, R5.6).


def transition_for(state: State, action: Action, case_type: CaseType) -> Transition | None:
    return _INDEX.get((state, action, case_type))


def reachable_states(case_type: CaseType) -> frozenset[State]:
    """Every state a request of this type can reach from opening (accept_offer reaches
    awaiting_return only where a counter-offer may ask for a return; a ruling only where a
    remedy that sends goods back fits the type, R10.4)."""
    return_remedy_types = REMEDY_TYPES[Remedy.RETURN_THEN_REFUND] | REMEDY_TYPES[Remedy.EXCHANGE]
    seen = {S.AWAITING_MERCHANT}
    todo = [S.AWAITING_MERCHANT]
    while todo:
        state = todo.pop()
        for row in TRANSITIONS:
            if row.state is not state or case_type not in row.types:
                continue
            for target in row.targets:
                if (
                    row.action is A.ACCEPT_OFFER
                    and target is S.AWAITING_RETURN
                    and case_type not in RETURN_OFFER_TYPES
                ):
                    continue
                if (
                    row.action is A.RULE
                    and target is S.AWAITING_RETURN
                    and case_type not in return_remedy_types
                ):
                    continue
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
    return frozenset(seen)


# Guards that need no input from the person acting, only the facts: when the service
# passes the facts, the same guard that refuses the move also hides its button.
