"""The effects of the moves of R5: how a move changes the case (amounts, offers, edits,
refusals, shipments)."""

from __future__ import annotations

from datetime import datetime

from aftersales.domain.case import (
    Case,
    Command,
    CounterOffer,
    Facts,
    Shipment,
)
from aftersales.domain.case_types import State
from aftersales.domain.logistics import validate_tracking
from aftersales.domain.machine.caps import refund_amount
from aftersales.domain.machine.vocabulary import S
from aftersales.domain.policy import (
    Profile,
)

# --------------------------------------------------------------------------- effects


def effect_refund(case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime) -> None:
    case.agreed = refund_amount(case, cmd, facts, profile)


def effect_approve_return(
    case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime
) -> None:
    case.return_address = cmd.return_address or facts.shop_return_address


def effect_counter_offer(
    case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime
) -> None:
    assert cmd.amount is not None
    case.offer = CounterOffer(cmd.amount, cmd.return_required, cmd.note)


def effect_accept_offer(
    case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime
) -> State:
    assert case.offer is not None
    case.agreed = case.offer.amount
    if case.offer.return_required:
        case.return_address = facts.shop_return_address or case.return_address
        return S.AWAITING_RETURN
    return S.REFUNDED


def effect_edit(case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime) -> None:
    case.edits += 1
    _apply_request_changes(case, cmd)


def _apply_request_changes(case: Case, cmd: Command) -> None:
    if cmd.reason:
        case.reason = cmd.reason  # R3.3: first_reason stays frozen
    if cmd.amount is not None:
        case.requested = cmd.amount
    if cmd.description is not None:
        case.description = cmd.description
    case.offer = None


def effect_resubmit(
    case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime
) -> None:
    """R5.6: a new request for the same lines: not an edit, and it starts its own edit count
    (R5.6 limits the edits of one request)."""
    _apply_request_changes(case, cmd)
    case.edits = 0
    case.refusal_code = None
    case.refusal_note = None
    case.rejected_at = None


def effect_reject(case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime) -> None:
    case.refusal_code = cmd.refusal_code
    case.refusal_note = cmd.note or None
    case.rejected_at = now
    case.offer = None


def effect_ship_return(
    case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime
) -> None:
    assert cmd.carrier and cmd.tracking_number
    carrier, number = validate_tracking(cmd.carrier, cmd.tracking_number)
    case.return_shipment = Shipment(carrier, number, now, cmd.freight or 0)


def effect_ship_replacement(
    case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime
) -> None:
    assert cmd.carrier and cmd.tracking_number
    carrier, number = validate_tracking(cmd.carrier, cmd.tracking_number)
    case.replacement_shipment = Shipment(carrier, number, now)


def effect_none(case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime) -> None:
    return None
