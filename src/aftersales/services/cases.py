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

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from aftersales.domain import machine
from aftersales.domain.accounts import Permission, Scope
from aftersales.domain.case import Case, CaseLine, Command, Facts, Outcome
from aftersales.domain.case_types import Action, ActorKind, CaseType
from aftersales.domain.catalog import Order
from aftersales.domain.errors import (
    Conflict,
    Forbidden,
    IllegalTransition,
    NotFound,
    ValidationFailed,
)
from aftersales.domain.evidence import POLICY_KIND, UploadKind
from aftersales.domain.i18n import N_
from aftersales.domain.logistics import validate_tracking
from aftersales.domain.money import Money
from aftersales.domain.policy import EvidenceKind, Party, Profile
from aftersales.services import events, money
from aftersales.services.actors import (
    Actor,
    require_case_access,
    require_case_reading,
    require_permission,
    require_scope,
)
from aftersales.services.context import Context
from aftersales.store import case_queries, parcels, repo
from aftersales.store import evidence as evidence_store
from aftersales.store.case_queries import CaseFilter

CASE_SORTS: tuple[str, ...] = tuple(case_queries.SORTS)
"""The sort keys `list_cases` takes (`-` first: descending)."""

__all__ = [
    "CASE_SORTS",
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


def _jsonable(value: Any) -> Any:
    if isinstance(value, Money):
        return {"amount": value.amount, "currency": value.currency}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {k: _jsonable(getattr(value, k)) for k in value.__dataclass_fields__}
    if hasattr(value, "value"):  # enums
        return value.value
    return value


def _changes(outcome: Outcome) -> dict[str, Any]:
    return {
        k: {"before": _jsonable(b), "after": _jsonable(a)} for k, (b, a) in outcome.changes.items()
    }


def _persist(
    ctx: Context,
    conn: Connection,
    ctx_now: datetime,
    actor: Actor,
    outcome: Outcome,
    order: Order,
    expected_version: int,
    note: str | None,
) -> Case:
    case = outcome.case
    assert case.id is not None
    if not repo.update_case(conn, case, expected_version):
        raise Conflict(
            "case.conflict",
            N_("Case {number} changed since you read it; reload and try again."),
            number=case.number,
        )
    _side_records(ctx, conn, ctx_now, actor, outcome, order, note)
    if outcome.keep_deadline and outcome.deadline is not None:
        repo.cancel_deadlines(conn, case.id, keep_kind=outcome.deadline.kind)
    else:
        repo.cancel_deadlines(conn, case.id)
        if outcome.deadline is not None:
            repo.schedule_deadline(
                conn, case.id, outcome.deadline.kind, outcome.deadline.due_at, ctx_now
            )
    return case


def _side_records(
    ctx: Context,
    conn: Connection,
    now: datetime,
    actor: Actor,
    outcome: Outcome,
    order: Order,
    note: str | None,
) -> None:
    case = outcome.case
    assert case.id is not None
    seq = repo.append_event(
        conn,
        case.id,
        at=now,
        actor_kind=actor.kind,
        actor_id=actor.id,
        action=outcome.action.value,
        rule=outcome.rule,
        strategy=actor.strategy,
        from_state=outcome.from_state,
        to_state=outcome.to_state,
        changes=_changes(outcome),
        note=note or None,
    )
    events.case_event(
        conn,
        case,
        action=outcome.action.value,
        seq=seq,
        actor_kind=actor.kind.value,
        rule=outcome.rule,
        from_state=outcome.from_state.value if outcome.from_state else None,
        now=now,
    )
    if outcome.refund is not None:
        # The decision is its own record; the money moves in the same transaction as a
        # balanced ledger entry keyed by the decision (a retry cannot pay twice).
        decision_id = repo.insert_refund_decision(
            conn, case.id, case.order_id, outcome.refund, actor.kind, actor.id
        )
        money.refund_in_case(
            ctx,
            conn,
            case,
            order,
            decision_id,
            outcome.refund.amount,
            now,
            pay_first=outcome.action is Action.EXECUTION_TIMEOUT,  # R11.2
        )
    for direction, field in (
        ("return", "return_shipment"),
        ("replacement", "replacement_shipment"),
    ):
        if field in outcome.changes and getattr(case, field) is not None:
            try:
                with conn.begin_nested():
                    repo.insert_shipment(conn, case.id, direction, getattr(case, field))
            except IntegrityError:
                raise IllegalTransition(
                    "tracking.reused",
                    N_("Tracking number {number} is already used on another case."),
                    rule="R5.3",
                    field="tracking_number",
                    number=getattr(case, field).tracking_number,
                ) from None


def _facts(conn: Connection, case: Case, cmd: Command) -> Facts:
    repo.lock_order(conn, case.order_id)
    order = repo.load_order(conn, case.order_id)
    shop = repo.get_shop(conn, case.shop_id)
    assert order is not None and shop is not None
    in_use = False
    if cmd.carrier and cmd.tracking_number:
        try:
            carrier, number = validate_tracking(cmd.carrier, cmd.tracking_number)
        except ValidationFailed:
            pass  # the guard reports the format error with its field
        else:
            in_use = repo.tracking_in_use(conn, carrier, number, case.id or 0)
    refunded = repo.already_refunded(conn, order.id, case.id)
    parcel = parcels.interceptable(conn, order.id)  # R16.2
    return Facts(
        order,
        Money(refunded, order.currency),
        in_use,
        shop.return_address,
        interceptable_parcel=(parcel.carrier, parcel.tracking_number) if parcel else None,
        intercept_attempted=case.id is not None and parcels.intercept_attempted(conn, case.id),
    )


def act_in(
    ctx: Context,
    conn: Connection,
    actor: Actor,
    case: Case,
    cmd: Command,
    expected_version: int | None,
    now: datetime,
    extra_changes: dict[str, Any] | None = None,
    rule: str | None = None,
) -> Case:
    """Apply one command to a loaded case inside the caller's transaction, then let the
    automation answer what the move started (R6, R7, R8.2). ``extra_changes`` are written
    into the timeline entry (an automatic decision names its strategy and conditions);
    ``rule`` replaces the transition's rule in it, when another rule made the move (a
    confirmed R15.2 report rejecting a request)."""
    if expected_version is not None and expected_version != case.version:
        raise Conflict(
            "case.conflict",
            N_("Case {number} changed since you read it; reload and try again."),
            number=case.number,
        )
    profile = ctx.profiles.for_case(conn, case.profile_id, case.profile_version)
    facts = _facts(conn, case, cmd)
    outcome = machine.apply(case, cmd, facts, profile, now)
    if cmd.evidence:  # R5.5: the kinds of evidence a refusal rests on, in the timeline
        changes = dict(outcome.changes)
        changes["evidence"] = (None, tuple(cmd.evidence))
        outcome = dataclasses.replace(outcome, changes=changes)
    if extra_changes:
        changes = dict(outcome.changes)
        changes.update({k: (None, v) for k, v in extra_changes.items()})
        outcome = dataclasses.replace(outcome, changes=changes)
    if rule is not None:
        outcome = dataclasses.replace(outcome, rule=rule)
    after = _persist(ctx, conn, now, actor, outcome, facts.order, case.version, cmd.note)
    from aftersales.services import automation  # the automation acts through act_in

    return automation.after_move(ctx, conn, after, outcome.action, now, facts.order)


def note_in(
    conn: Connection,
    case: Case,
    actor: Actor,
    action: Action,
    rule: str,
    changes: dict[str, Any],
    now: datetime,
) -> int:
    """A timeline entry that is not a move of the machine (the state stays): an express
    refund check, a warehouse report. Announced to webhooks like any other entry."""
    assert case.id is not None
    seq = repo.append_event(
        conn,
        case.id,
        at=now,
        actor_kind=actor.kind,
        actor_id=actor.id,
        action=action.value,
        rule=rule,
        strategy=actor.strategy,
        from_state=case.state,
        to_state=case.state,
        changes={k: {"before": None, "after": _jsonable(v)} for k, v in changes.items()},
        note=None,
    )
    events.case_event(
        conn,
        case,
        action=action.value,
        seq=seq,
        actor_kind=actor.kind.value,
        rule=rule,
        from_state=case.state.value,
        now=now,
    )
    return seq


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
        case = require_case_access(actor, repo.load_case(conn, number), number, write=True)
        if amount is not None:
            cmd = dataclasses.replace(cmd, amount=Money(amount, case.requested.currency))
        return act_in(ctx, conn, actor, case, cmd, expected_version, ctx.now())


# --------------------------------------------------------------------------- opening
@dataclass(frozen=True, slots=True)
class LineRequest:
    order_line_id: int
    quantity: int


def new_case_number(conn: Connection, now: datetime, tz: str) -> str:
    from zoneinfo import ZoneInfo

    day = now.astimezone(ZoneInfo(tz)).strftime("%Y%m%d")
    seq = repo.next_sequence(conn, f"case:{day}")
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
        order_id = repo.order_id_by_number(conn, order_number)
        if order_id is not None:
            repo.lock_order(conn, order_id)
        order = repo.load_order(conn, order_id) if order_id is not None else None
        if order is None or order.buyer_id != actor.buyer_id:
            raise NotFound("order.not_found", N_("Order {number} not found."), number=order_number)
        shop = repo.get_shop(conn, order.shop_id)
        assert shop is not None
        profile = ctx.profiles.current_for(conn, shop.profile_id, now)
        facts = Facts(
            order,
            Money(repo.already_refunded(conn, order.id, None), order.currency),
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
            repo.claimed_quantities(conn, order.id),
            profile,
            now,
            number,
            shop.id,
            order.buyer_id,
        )
        case = outcome.case
        case.id = repo.insert_case(conn, case)
        opened = {
            "type": type.value,
            "reason": reason,
            "requested": _jsonable(case.requested),
            "lines": [_jsonable(cl) for cl in case.lines],
            "evidence": [e.value for e in evidence],
        }
        seq = repo.append_event(
            conn,
            case.id,
            at=now,
            actor_kind=actor.kind,
            actor_id=actor.id,
            action=Action.OPEN.value,
            rule=outcome.rule,
            strategy=None,
            from_state=None,
            to_state=case.state,
            changes={k: {"before": None, "after": v} for k, v in opened.items()},
            note=description or None,
        )
        events.case_event(
            conn,
            case,
            action=Action.OPEN.value,
            seq=seq,
            actor_kind=actor.kind.value,
            rule=outcome.rule,
            from_state=None,
            now=now,
        )
        assert outcome.deadline is not None
        repo.schedule_deadline(conn, case.id, outcome.deadline.kind, outcome.deadline.due_at, now)
        from aftersales.services import automation

        return automation.after_move(ctx, conn, case, Action.OPEN, now, order)


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
        case = require_case_access(actor, repo.load_case(conn, number), number, write=True)
        profile = ctx.profiles.for_case(conn, case.profile_id, case.profile_version)
        # Only the shop refuses: anyone else is refused by the state machine as before.
        kinds: tuple[EvidenceKind, ...] = ()
        if actor.kind is ActorKind.MERCHANT:
            kinds = _proof(conn, case, profile, refusal_code, evidence_ids)
        cmd = Command(action, actor.kind, refusal_code=refusal_code, evidence=kinds, note=note)
        extra = {"evidence_ids": list(evidence_ids)} if evidence_ids else None
        return act_in(ctx, conn, actor, case, cmd, expected_version, ctx.now(), extra)


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
    timeline: list[Any]
    refunds: list[Any]
    deadlines: list[Any]
    actions: dict[str, list[str]]


def get_case(ctx: Context, actor: Actor, number: str) -> CaseView:
    with ctx.db.read() as conn:
        case = require_case_access(actor, repo.load_case(conn, number), number, write=False)
        assert case.id is not None
        order = repo.load_order(conn, case.order_id)
        shop = repo.get_shop(conn, case.shop_id)
        buyer = repo.get_buyer(conn, case.buyer_id)
        assert order and shop and buyer
        offered = {
            kind.value: [a.value for a in machine.available_actions(case, kind, ctx.now())]
            for kind in (ActorKind.BUYER, ActorKind.MERCHANT)
        }
        profile = ctx.profiles.for_case(conn, case.profile_id, case.profile_version)
        if not machine.intercept_offered(profile) or not parcels.interceptable(conn, order.id):
            # R16.2: the guard would refuse it, so the button is not offered either
            offered[ActorKind.MERCHANT.value] = [
                a for a in offered[ActorKind.MERCHANT.value] if a != Action.REQUEST_INTERCEPT
            ]
        return CaseView(
            case,
            order.number,
            shop.code,
            shop.name,
            buyer.name,
            repo.events(conn, case.id),
            repo.refund_decisions_of(conn, case.id),
            repo.deadline_rows(conn, case.id),
            offered,
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
