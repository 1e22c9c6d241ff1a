"""The after-sales case (售后单) and the facts and commands the state machine works on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from aftersales.domain.case_types import Action, ActorKind, CaseType, DeadlineKind, State
from aftersales.domain.catalog import Order, OrderLine
from aftersales.domain.money import Money
from aftersales.domain.policy import EvidenceKind, Remedy


@dataclass(frozen=True, slots=True)
class CaseLine:
    order_line_id: int
    quantity: int


@dataclass(frozen=True, slots=True)
class CounterOffer:
    """R5.2: the merchant's counter-offer (partial refund, deduction), with or without return."""

    amount: Money
    return_required: bool
    note: str = ""


@dataclass(frozen=True, slots=True)
class Shipment:
    carrier: str
    tracking_number: str
    shipped_at: datetime
    freight: int = 0  # R16.3: what the buyer paid to send a return, in minor units


@dataclass(slots=True)
class Case:
    id: int | None
    number: str
    shop_id: int
    buyer_id: int
    order_id: int
    type: CaseType
    state: State
    lines: tuple[CaseLine, ...]
    first_reason: str  # R3.3: frozen at opening
    reason: str
    description: str
    requested: Money
    profile_id: str
    profile_version: int
    created_at: datetime
    updated_at: datetime
    version: int = 1
    agreed: Money | None = None
    offer: CounterOffer | None = None
    return_address: str | None = None
    return_shipment: Shipment | None = None
    replacement_shipment: Shipment | None = None
    refusal_code: str | None = None
    refusal_note: str | None = None
    rejected_at: datetime | None = None
    edits: int = 0
    closed_at: datetime | None = None
    close_reason: str | None = None
    deadline_kind: DeadlineKind | None = None
    deadline_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Command:
    """What a person (or the system) asks the case to do, with its parameters."""

    action: Action
    actor: ActorKind
    amount: Money | None = None
    reason: str | None = None
    description: str | None = None
    refusal_code: str | None = None
    evidence: tuple[EvidenceKind, ...] = ()
    carrier: str | None = None
    tracking_number: str | None = None
    return_required: bool = False
    return_address: str | None = None
    freight: int | None = None  # R16.3: the buyer's return freight
    note: str = ""
    remedy: Remedy | None = None  # R10.4: what a ruling gives the buyer


@dataclass(frozen=True, slots=True)
class Facts:
    """What the service looked up for the guards (the domain does no I/O)."""

    order: Order
    already_refunded: Money  # refunds decided on this order by other cases
    tracking_in_use: bool = False  # R5.3: the tracking number is on another case
    shop_return_address: str = ""
    # R16.2: the order's outbound parcel that can still be intercepted (carrier, tracking
    # number): not delivered, signed or coming back, no intercept pending on it.
    interceptable_parcel: tuple[str, str] | None = None
    intercept_attempted: bool = False  # R16.2: this case asked for an intercept

    def lines_of(self, case_lines: tuple[CaseLine, ...]) -> list[tuple[OrderLine, int]]:
        out: list[tuple[OrderLine, int]] = []
        for cl in case_lines:
            line = self.order.line(cl.order_line_id)
            if line is not None:
                out.append((line, cl.quantity))
        return out


@dataclass(frozen=True, slots=True)
class RefundDecision:
    """The decision to refund (lines, amount, reason). Money moves in the ledger (seam)."""

    lines: tuple[CaseLine, ...]
    amount: Money
    reason: str
    rule: str
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class DeadlinePlan:
    kind: DeadlineKind
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Outcome:
    """Result of one move: the case after it, what to write in the timeline, side records."""

    case: Case
    action: Action
    rule: str
    from_state: State | None
    to_state: State
    changes: Mapping[str, tuple[object, object]] = field(default_factory=dict)
    refund: RefundDecision | None = None
    deadline: DeadlinePlan | None = None  # the deadline to hold after the move
    keep_deadline: bool = False  # the pending deadline of the same kind stays
