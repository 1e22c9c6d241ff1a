"""Case use cases: open a request and take every action of the state machine.

Each public function is one action a person (or the system) takes: one transaction,
optimistic locking on the case (a stale ``expected_version`` gets :class:`Conflict` and
changes nothing), and exactly one timeline entry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from aftersales.domain import machine
from aftersales.domain.accounts import Permission, Scope
from aftersales.domain.case import Case, CaseLine, Command, Facts
from aftersales.domain.case_types import Action, ActorKind, CaseType, State
from aftersales.domain.errors import (
    Forbidden,
    NotFound,
    ValidationFailed,
)
from aftersales.domain.evidence import POLICY_KIND, UploadKind
from aftersales.domain.i18n import N_
from aftersales.domain.money import Money
from aftersales.domain.policy import EvidenceKind, Party, Profile
from aftersales.services import engine
from aftersales.services.actors import (
    Actor,
    require_case_access,
    require_case_reading,
    require_permission,
    require_scope,
)
from aftersales.services.context import Context
from aftersales.store import case_queries
from aftersales.store import cases as case_store
from aftersales.store import catalog as catalog_store
from aftersales.store import deadlines as deadline_store
from aftersales.store import evidence as evidence_store
from aftersales.store.case_queries import CaseFilter

CASE_SORTS: tuple[str, ...] = tuple(case_queries.SORTS)
"""The sort keys `list_cases` takes (`-` first: descending)."""

__all__ = [
    "CASE_SORTS",
    "CaseCard",
    "CaseFilter",
    "CasePage",
    "CaseView",
    "accept_offer",
    "act",
    "approve_refund",
    "approve_reship",
    "approve_return",
    "cancel",
    "confirm_receipt",
    "confirm_replacement",
    "counter_offer",
    "edit_request",
    "get_case",
    "list_cases",
    "open_case",
    "refund",
    "refuse_refund",
    "reject",
    "resubmit",
    "return_delivered",
    "ship_replacement",
    "ship_return",
]


def act(
    ctx: Context,
    actor: Actor,
    number: str,
    cmd: Command,
    expected_version: int | None = None,
    amount: int | None = None,
) -> Case:
    """One action on one case, in its own transaction. ``amount`` is in the case's currency."""
    if cmd.actor is not actor.kind:
        raise ValueError("command actor differs from the acting principal")
    with ctx.db.write() as conn:
        case = require_case_access(actor, case_store.load_case(conn, number), number, write=True)
        if amount is not None:
            cmd = dataclasses.replace(cmd, amount=Money(amount, case.requested.currency))
        return engine.move(ctx, conn, actor, case, cmd, expected_version, ctx.now())


# --------------------------------------------------------------------------- opening
@dataclass(frozen=True, slots=True)
class LineRequest:
    order_line_id: int
    quantity: int


def new_case_number(conn: Connection, now: datetime, tz: str) -> str:
    day = now.astimezone(ZoneInfo(tz)).strftime("%Y%m%d")
    seq = case_store.next_sequence(conn, f"case:{day}")
    return f"AS{day}{seq:06d}"


def open_case(
    ctx: Context,
    actor: Actor,
    *,
    order_number: str,
    type: CaseType,
    lines: Sequence[LineRequest],
    reason: str,
    amount: int,
    description: str = "",
    evidence: Sequence[EvidenceKind] = (),
) -> Case:
    """R2: the buyer opens an after-sales request on one of their orders."""
    if actor.kind is not ActorKind.BUYER:
        raise Forbidden("request.buyer_only", N_("Only the buyer opens a request."), rule="R2")
    require_scope(actor, Scope.CASES_WRITE)
    now = ctx.now()
    with ctx.db.write() as conn:
        order_id = catalog_store.order_id_by_number(conn, order_number)
        order = catalog_store.lock_and_load_order(conn, order_id) if order_id is not None else None
        if order is None or order.buyer_id != actor.buyer_id:
            raise NotFound("order.not_found", N_("Order {number} not found."), number=order_number)
        shop = catalog_store.get_shop(conn, order.shop_id)
        assert shop is not None
        profile = ctx.profiles.current_for(conn, shop.profile_id, now)
        facts = Facts(
            order,
            Money(case_store.already_refunded(conn, order.id, None), order.currency),
            False,
            shop.return_address,
        )
        req = machine.OpenRequest(
            type=type,
            lines=tuple(CaseLine(ln.order_line_id, ln.quantity) for ln in lines),
            reason=reason,
            requested=Money(amount, order.currency),
            description=description,
        )
        number = new_case_number(conn, now, profile.timezone)
        outcome = machine.open_case(
            req,
            facts,
            case_store.claimed_quantities(conn, order.id),
            profile,
            now,
            number,
            shop.id,
            order.buyer_id,
        )
        case = outcome.case
        case.id = case_store.insert_case(conn, case)
        opened = {
            "type": type.value,
            "reason": reason,
            "requested": engine.jsonable(case.requested),
            "lines": [engine.jsonable(cl) for cl in case.lines],
            "evidence": [e.value for e in evidence],
        }
        engine.entry(
            conn,
            case,
            actor,
            action=Action.OPEN,
            rule=outcome.rule,
            from_state=None,
            changes={k: {"before": None, "after": v} for k, v in opened.items()},
            now=now,
            note=description,
        )
        assert outcome.deadline is not None
        deadline_store.schedule_deadline(
            conn, case.id, outcome.deadline.kind, outcome.deadline.due_at, now
        )
        engine.remember_opened(conn, case, facts, shop, profile)
        return engine.after_move(ctx, conn, case, Action.OPEN, now, order)


# --------------------------------------------------------------------------- actions
def approve_refund(
    ctx: Context,
    actor: Actor,
    number: str,
    *,
    amount: int | None = None,
    expected_version: int | None = None,
    note: str = "",
) -> Case:
    """R5.2/R8: the merchant agrees to refund (without a return)."""
    cmd = Command(Action.APPROVE_REFUND, actor.kind, note=note)
    return act(ctx, actor, number, cmd, expected_version, amount)


def approve_return(
    ctx: Context,
    actor: Actor,
    number: str,
    *,
    return_address: str | None = None,
    expected_version: int | None = None,
    note: str = "",
) -> Case:
    """R5.1: the merchant approves the return and sends the return address."""
    cmd = Command(Action.APPROVE_RETURN, actor.kind, return_address=return_address, note=note)
    return act(ctx, actor, number, cmd, expected_version)


def approve_reship(
    ctx: Context, actor: Actor, number: str, *, expected_version: int | None = None, note: str = ""
) -> Case:
    """R2.5: the merchant agrees to send the missing item or part."""
    return act(
        ctx, actor, number, Command(Action.APPROVE_RESHIP, actor.kind, note=note), expected_version
    )


def counter_offer(
    ctx: Context,
    actor: Actor,
    number: str,
    *,
    amount: int,
    return_required: bool = False,
    note: str = "",
    expected_version: int | None = None,
) -> Case:
    """R5.2: the merchant proposes a partial refund (with or without a return)."""
    cmd = Command(Action.COUNTER_OFFER, actor.kind, return_required=return_required, note=note)
    return act(ctx, actor, number, cmd, expected_version, amount)


def reject(
    ctx: Context,
    actor: Actor,
    number: str,
    *,
    refusal_code: str,
    evidence_ids: Sequence[int] = (),
    note: str = "",
    expected_version: int | None = None,
) -> Case:
    """R5.5: the merchant rejects the request with a reason code and the evidence items
    the shop added to the case that prove it (of the kinds the code requires). The code a
    confirmed malicious-buyer report rejects with (R15.2) is the platform's only."""
    if any(
        p.reports is not None and p.reports.malicious_refusal_code == refusal_code
        for p in ctx.profiles.current.values()
    ):
        raise ValidationFailed(
            "refusal.reserved_for_reports",
            N_("{code} is used only by a confirmed malicious-buyer report."),
            rule="R15.2",
            field="refusal_code",
            code=refusal_code,
        )
    return _refuse(
        ctx, actor, number, Action.REJECT, refusal_code, evidence_ids, note, expected_version
    )


def _proof(
    conn: Connection, case: Case, profile: Profile, refusal_code: str, ids: Sequence[int]
) -> tuple[EvidenceKind, ...]:
    """R5.5: the kinds of the evidence items a refusal rests on. Each must be an item the
    shop's side added to this case; the guard then checks the kinds against the code."""
    rule = machine.proof_rule(profile.refusal_code(refusal_code))

    def refused(code: str, message: str, **params: Any) -> ValidationFailed:
        return ValidationFailed(code, message, rule=rule, field=machine.PROOF_FIELD, **params)

    if len(set(ids)) != len(ids):
        raise refused("refusal.evidence_repeated", N_("Each evidence item is named once."))
    kinds = []
    for item_id in ids:
        row = evidence_store.item_by_id(conn, item_id)
        if row is None or row.case_id != case.id:  # one answer for both: no oracle
            raise refused(
                "refusal.evidence_not_on_case",
                N_("Evidence {id} is not on case {number}."),
                id=item_id,
                number=case.number,
            )
        if row.party != Party.MERCHANT.value:
            raise refused(
                "refusal.evidence_not_the_shops",
                N_("Evidence {id} was not added by the shop: a refusal rests on its own proof."),
                id=item_id,
            )
        kinds.append(POLICY_KIND[UploadKind(row.kind)])
    return tuple(kinds)


def _refuse(
    ctx: Context,
    actor: Actor,
    number: str,
    action: Action,
    refusal_code: str,
    evidence_ids: Sequence[int],
    note: str,
    expected_version: int | None,
) -> Case:
    with ctx.db.write() as conn:
        case = require_case_access(actor, case_store.load_case(conn, number), number, write=True)
        profile = ctx.profiles.for_case(conn, case.profile_id, case.profile_version)
        # Only the shop refuses: anyone else is refused by the state machine as before.
        kinds: tuple[EvidenceKind, ...] = ()
        if actor.kind is ActorKind.MERCHANT:
            kinds = _proof(conn, case, profile, refusal_code, evidence_ids)
        cmd = Command(action, actor.kind, refusal_code=refusal_code, evidence=kinds, note=note)
        extra = {"evidence_ids": list(evidence_ids)} if evidence_ids else None
        return engine.move(ctx, conn, actor, case, cmd, expected_version, ctx.now(), extra)


def accept_offer(
    ctx: Context, actor: Actor, number: str, *, expected_version: int | None = None
) -> Case:
    """R5.2: the buyer accepts the merchant's counter-offer."""
    return act(ctx, actor, number, Command(Action.ACCEPT_OFFER, actor.kind), expected_version)


def edit_request(
    ctx: Context,
    actor: Actor,
    number: str,
    *,
    amount: int | None = None,
    reason: str | None = None,
    description: str | None = None,
    expected_version: int | None = None,
) -> Case:
    """R5.2/R5.6: the buyer edits the request and resubmits it to the merchant."""
    cmd = Command(Action.EDIT_REQUEST, actor.kind, reason=reason, description=description)
    return act(ctx, actor, number, cmd, expected_version, amount)


def resubmit(
    ctx: Context,
    actor: Actor,
    number: str,
    *,
    amount: int | None = None,
    reason: str | None = None,
    description: str | None = None,
    expected_version: int | None = None,
) -> Case:
    """R5.6: after a refusal the buyer submits a new request for the same lines."""
    cmd = Command(Action.RESUBMIT, actor.kind, reason=reason, description=description)
    return act(ctx, actor, number, cmd, expected_version, amount)


def cancel(
    ctx: Context, actor: Actor, number: str, *, note: str = "", expected_version: int | None = None
) -> Case:
    """The buyer withdraws the request."""
    return act(ctx, actor, number, Command(Action.CANCEL, actor.kind, note=note), expected_version)


def ship_return(
    ctx: Context,
    actor: Actor,
    number: str,
    *,
    carrier: str,
    tracking_number: str,
    freight: int | None = None,
    expected_version: int | None = None,
) -> Case:
    """R5.3: the buyer ships the goods back and uploads carrier and tracking number."""
    cmd = Command(
        Action.SHIP_RETURN,
        actor.kind,
        carrier=carrier,
        tracking_number=tracking_number,
        freight=freight,
    )
    return act(ctx, actor, number, cmd, expected_version)


def return_delivered(ctx: Context, actor: Actor, number: str) -> Case:
    """R5.4: the carrier reports the return delivered to the merchant."""
    return act(ctx, actor, number, Command(Action.RETURN_DELIVERED, actor.kind))


def confirm_receipt(
    ctx: Context, actor: Actor, number: str, *, note: str = "", expected_version: int | None = None
) -> Case:
    """R5.4: the merchant confirms the returned goods arrived."""
    return act(
        ctx, actor, number, Command(Action.CONFIRM_RECEIPT, actor.kind, note=note), expected_version
    )


def refund(
    ctx: Context,
    actor: Actor,
    number: str,
    *,
    amount: int | None = None,
    note: str = "",
    expected_version: int | None = None,
) -> Case:
    """R5.4: the merchant refunds after the return (or instead of goods)."""
    cmd = Command(Action.REFUND, actor.kind, note=note)
    return act(ctx, actor, number, cmd, expected_version, amount)


def refuse_refund(
    ctx: Context,
    actor: Actor,
    number: str,
    *,
    refusal_code: str,
    evidence_ids: Sequence[int] = (),
    note: str = "",
    expected_version: int | None = None,
) -> Case:
    """R5.5: after receipt, refuse the refund with the shop's evidence items that prove the
    goods' state on return (carrier-stamped proof, unboxing video)."""
    return _refuse(
        ctx,
        actor,
        number,
        Action.REFUSE_REFUND,
        refusal_code,
        evidence_ids,
        note,
        expected_version,
    )


def ship_replacement(
    ctx: Context,
    actor: Actor,
    number: str,
    *,
    carrier: str,
    tracking_number: str,
    expected_version: int | None = None,
) -> Case:
    """R2.4/R2.5: the merchant ships the replacement or the missing part."""
    cmd = Command(
        Action.SHIP_REPLACEMENT, actor.kind, carrier=carrier, tracking_number=tracking_number
    )
    return act(ctx, actor, number, cmd, expected_version)


def confirm_replacement(
    ctx: Context, actor: Actor, number: str, *, expected_version: int | None = None
) -> Case:
    """R2.4/R2.5: the buyer confirms the replacement arrived."""
    return act(
        ctx, actor, number, Command(Action.CONFIRM_REPLACEMENT, actor.kind), expected_version
    )


# --------------------------------------------------------------------------- reading
@dataclass(frozen=True, slots=True)
class CaseView:
    case: Case
    order_number: str
    shop_code: str
    shop_name: str
    buyer_name: str
    timeline: list[case_store.TimelineEntry]
    refunds: list[Any]
    deadlines: list[Any]
    actions: dict[str, list[str]]


@dataclass(frozen=True, slots=True)
class CaseCard:
    """A case as an answer shows it: the case, its order and shop, the actions each party
    may take now, and whether R16.2 counts a missed intercept against the merchant."""

    case: Case
    order_number: str
    shop_code: str
    actions: dict[str, list[str]]
    intercept_missed: bool


def _intercept_missed(timeline: Sequence[case_store.TimelineEntry]) -> bool:
    return any("intercept_missed" in (e.changes or {}) for e in timeline)


def card_of(view: CaseView) -> CaseCard:
    return CaseCard(
        view.case,
        view.order_number,
        view.shop_code,
        view.actions,
        _intercept_missed(view.timeline),
    )


def card_after_move(ctx: Context, actor: Actor, case: Case) -> CaseCard:
    """The card of a case a use case just moved, built from what the move loaded in this
    transaction (no second read); read afresh when nothing was moved here."""
    with ctx.db.read() as conn:
        loaded = engine.last_loaded(conn, case.id or 0)
        if loaded is None:
            return card_of(get_case(ctx, actor, case.number))
        # R16.2: only a refund records a missed intercept, so only a refunded case reads
        # its timeline for it.
        missed = case.state is State.REFUNDED and _intercept_missed(
            case_store.events(conn, case.id or 0)
        )
        return CaseCard(
            case,
            loaded.facts.order.number,
            loaded.shop.code,
            engine.offered(case, loaded, ctx.now()),
            missed,
        )


def get_case(ctx: Context, actor: Actor, number: str) -> CaseView:
    with ctx.db.read() as conn:
        case = require_case_access(actor, case_store.load_case(conn, number), number, write=False)
        assert case.id is not None
        loaded = engine.load_facts(ctx, conn, case, lock=False)
        buyer = catalog_store.get_buyer(conn, case.buyer_id)
        assert buyer
        return CaseView(
            case,
            loaded.facts.order.number,
            loaded.shop.code,
            loaded.shop.name,
            buyer.name,
            case_store.events(conn, case.id),
            case_store.refund_decisions_of(conn, case.id),
            deadline_store.deadline_rows(conn, case.id),
            engine.offered(case, loaded, ctx.now()),
        )


# --------------------------------------------------------------------------- lists
@dataclass(frozen=True, slots=True)
class CasePage:
    rows: list[Any]
    next_after: tuple[Any, int] | None


def list_cases(
    ctx: Context,
    actor: Actor,
    f: CaseFilter,
    *,
    sort: str = "-created_at",
    after: tuple[Any, int] | None = None,
    limit: int = 50,
) -> CasePage:
    """The cases the actor may see (a buyer: their own; a shop account: its shop's; the
    platform: all), filtered and sorted, one page at a time."""
    require_case_reading(actor)
    require_permission(actor, Permission.HANDLE_AFTERSALES)
    if actor.kind is ActorKind.BUYER:
        f = dataclasses.replace(f, buyer_id=actor.buyer_id or -1)
    elif actor.kind is ActorKind.MERCHANT:
        f = dataclasses.replace(f, shop_id=actor.shop_id or -1)
    elif actor.kind is not ActorKind.PLATFORM:
        return CasePage([], None)
    if sort not in case_queries.SORTS:
        raise ValidationFailed(
            "cases.sort_unknown",
            N_("Unknown sort {sort}."),
            field="sort",
            sort=sort,
        )
    with ctx.db.read() as conn:
        rows = case_queries.page(conn, f, sort, after, limit + 1)
    nxt = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        nxt = (getattr(last, sort.lstrip("-")), last.id)
    return CasePage(rows, nxt)
