"""R9-R12: platform intervention, the ruling and its execution, and appeals.

Each public function is one use case in one transaction. A move of the case goes through
the state machine (``engine.move``: escalate, withdraw, legal proceedings, rule, appeal,
overturn); the intervention round, the ruling and the appeal are their own records. Both
parties are told through the case timeline and the ``case.<action>`` webhook event of
every entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from aftersales.domain import intervention as I
from aftersales.domain import judgment as J
from aftersales.domain import machine
from aftersales.domain.accounts import Permission
from aftersales.domain.case import Case, Command
from aftersales.domain.case_types import Action, ActorKind, State
from aftersales.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    IllegalTransition,
    NotFound,
    ValidationFailed,
)
from aftersales.domain.i18n import N_
from aftersales.domain.money import Money
from aftersales.domain.policy import (
    EvidenceKind,
    FreightPayer,
    Liability,
    Party,
    Profile,
    Remedy,
)
from aftersales.domain.reasons import reason
from aftersales.domain.windows import check_window
from aftersales.services import engine, judgment, money
from aftersales.services.actors import (
    Actor,
    is_agent,
    require_agent,
    require_case_access,
    require_permission,
    require_visible,
)
from aftersales.services.context import Context
from aftersales.store import evidence as evidence_store
from aftersales.store import interventions as store
from aftersales.store import repo
from aftersales.store.records import known

OPEN, RULED, WITHDRAWN, LEGAL_CLOSED = "open", "ruled", "withdrawn", "legal_closed"
MAX_TEXT = 4000


# --------------------------------------------------------------------------- views
@dataclass(frozen=True, slots=True)
class TemplateSlot:
    kinds: tuple[EvidenceKind, ...]  # any one of them fills the slot


@dataclass(frozen=True, slots=True)
class EvidenceTemplateView:
    """R9.3: what one side is asked for on this case's reason, and until when."""

    party: Party
    slots: tuple[TemplateSlot, ...]
    deadline: datetime


@dataclass(frozen=True, slots=True)
class RulingView:
    id: int
    agent: str
    ruled_at: datetime
    liability: Liability
    remedy: Remedy
    freight_payer: FreightPayer
    return_risk: Liability
    amount: Money | None
    reasons: str
    overridden: bool
    override_reason: str | None
    force_majeure_exempt: bool
    execution_due: datetime | None
    merchant_appeal_due: datetime | None
    recommendation: dict[str, Any] | None  # platform callers only


@dataclass(frozen=True, slots=True)
class AppealView:
    id: int
    case_number: str
    ruling_id: int
    party: str
    channel: str
    filed_by: str
    filed_at: datetime
    grounds: I.Grounds
    statement: str
    evidence: tuple[int, ...]
    decide_by: datetime
    status: str
    reviewed_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    refunded_entry: int | None  # the first of refunded_entries (kept for older clients)
    refunded_entries: tuple[int, ...]  # R12.1: what returned the deduction, per source
    version: int


@dataclass(frozen=True, slots=True)
class InterventionView:
    id: int
    case_number: str
    case_state: str
    case_version: int
    round: int
    opened_by: str
    opened_at: datetime
    statement: str
    urgent: bool
    merchant_response_due: datetime
    merchant_responded_at: datetime | None
    merchant_response: str | None
    merchant_responded_in_time: bool | None  # None: still open and not yet due
    evidence_due: datetime
    ruling_due: datetime
    status: str
    closed_at: datetime | None
    assigned_agent: str | None
    appeal_of_ruling_id: int | None
    excluded_agent: str | None  # platform callers only
    version: int
    templates: tuple[EvidenceTemplateView, ...]
    rulings: tuple[RulingView, ...]
    appeals: tuple[AppealView, ...]


# --------------------------------------------------------------------------- helpers


def _text(value: str, field: str, *, required: bool = True) -> str:
    text = value.strip()
    if required and not text:
        raise ValidationFailed("text.missing", N_("{field} is required."), field=field, rule="R9")
    if len(text) > MAX_TEXT:
        raise ValidationFailed(
            "text.too_long",
            N_("{field} is longer than {max} characters."),
            field=field,
            max=MAX_TEXT,
        )
    return text


def _profile(ctx: Context, conn: Connection, case: Case) -> Profile:
    return ctx.profiles.for_case(conn, case.profile_id, case.profile_version)


def _load(conn: Connection, actor: Actor, number: str, *, write: bool) -> Case:
    return require_case_access(actor, repo.load_case(conn, number), number, write=write)


def _current(conn: Connection, case: Case) -> store.Intervention | None:
    return store.latest_round(conn, case.id or 0)


def _no_intervention(number: str) -> NotFound:
    return NotFound(
        "intervention.not_found",
        N_("Case {number} has no platform intervention."),
        number=number,
    )


def _open_round(conn: Connection, case: Case, number: str) -> store.Intervention:
    row = _current(conn, case)
    if row is None or row.status != OPEN:
        raise IllegalTransition(
            "intervention.not_open",
            N_("Case {number} has no open platform intervention."),
            rule="R9",
            number=number,
        )
    return row


def _stale(number: str) -> Conflict:
    return Conflict(
        "case.conflict",
        N_("Case {number} changed since you read it; reload and try again."),
        number=number,
    )


def _dispute_started(conn: Connection, case: Case) -> datetime | None:
    """When the case entered its current state (the refusal, refund refusal or
    counter-offer the party disputes)."""
    assert case.id is not None
    for event in reversed(repo.events(conn, case.id)):
        if event.to_state == case.state.value and event.from_state != event.to_state:
            at: datetime = event.at
            return at
    return None


def _in_window(conn: Connection, case: Case, profile: Profile) -> bool:
    order = repo.load_order(conn, case.order_id)
    assert order is not None
    lines = [order.line(cl.order_line_id) for cl in case.lines]
    try:
        check_window(
            order,
            [ln for ln in lines if ln is not None],
            case.reason,
            case.type,
            profile,
            case.created_at,
        )
    except DomainError as err:
        # Only a window refusal puts the request outside its window: a stage check that
        # fails now because the order moved on since the request was raised (a refund
        # before shipment whose order has shipped) says nothing about the window.
        return not err.code.startswith("window.")
    return True


def escalation_facts(conn: Connection, case: Case, profile: Profile) -> I.EscalationFacts:
    """R9.2: what decides whether the platform takes this case."""
    assert case.id is not None
    flags = store.flag_kinds(conn, order_id=case.order_id, case_id=case.id)
    return I.EscalationFacts(
        resolved=case.state.terminal,
        in_window=_in_window(conn, case, profile),
        dispute_started_at=_dispute_started(conn, case),
        flags=frozenset(I.Refusal(f) for f in flags if f in set(I.FLAG_KINDS)),
        settled=any(r.status == WITHDRAWN for r in store.rounds_of(conn, case.id)),
    )


def templates_for(
    case: Case, profile: Profile, evidence_due: datetime, party: Party | None
) -> tuple[EvidenceTemplateView, ...]:
    """R9.3: the evidence template of the case's reason, for one side (None: both)."""
    policy = profile.judgment
    template = policy.template_for(reason(case.reason).group) if policy else None
    if template is None:
        return ()
    out = []
    for side, slots in ((Party.BUYER, template.slots), (Party.MERCHANT, template.merchant_slots)):
        if party is not None and party is not side:
            continue
        out.append(
            EvidenceTemplateView(side, tuple(TemplateSlot(tuple(s)) for s in slots), evidence_due)
        )
    return tuple(out)


def _party_of(actor: Actor) -> Party | None:
    if actor.kind is ActorKind.BUYER:
        return Party.BUYER
    if actor.kind is ActorKind.MERCHANT:
        return Party.MERCHANT
    return None


def _ruling_view(
    case: Case, profile: Profile, row: store.Ruling, platform: bool, latest: bool
) -> RulingView:
    executing = latest and case.state is State.AWAITING_EXECUTION
    execution_due = case.deadline_at if executing else None
    appeal_rules = profile.appeals
    return RulingView(
        id=row.id,
        agent=row.agent if platform else "",
        ruled_at=row.ruled_at,
        liability=Liability(row.liability),
        remedy=Remedy(row.remedy),
        freight_payer=FreightPayer(row.freight_payer),
        return_risk=Liability(row.return_risk),
        amount=Money(row.amount, row.currency) if row.amount is not None else None,
        reasons=row.reasons,
        overridden=bool(row.overridden),
        override_reason=row.override_reason,
        force_majeure_exempt=bool(row.force_majeure_exempt),
        execution_due=execution_due,
        merchant_appeal_due=(
            I.merchant_appeal_due(profile, appeal_rules, row.ruled_at)
            if appeal_rules is not None and row.liability != Liability.BUYER.value
            else None
        ),
        recommendation=dict(row.recommendation) if platform else None,
    )


def _appeal_view(row: store.Appeal, number: str, platform: bool) -> AppealView:
    refunded = row.refunded_entries or []
    return AppealView(
        id=row.id,
        case_number=number,
        ruling_id=row.ruling_id,
        party=row.party,
        channel=row.channel,
        filed_by=row.filed_by,
        filed_at=row.filed_at,
        grounds=I.Grounds(row.grounds),
        statement=row.statement,
        evidence=tuple(row.evidence or ()),
        decide_by=row.decide_by,
        status=row.status,
        reviewed_by=row.reviewed_by if platform else None,
        decided_at=row.decided_at,
        decision_note=row.decision_note,
        refunded_entry=refunded[0] if refunded else None,
        refunded_entries=tuple(refunded),
        version=row.version,
    )


def _view(
    ctx: Context, conn: Connection, actor: Actor, case: Case, row: store.Intervention
) -> InterventionView:
    assert case.id is not None
    profile = _profile(ctx, conn, case)
    platform = is_agent(actor) or actor.kind is ActorKind.SYSTEM
    now = ctx.now()
    answered = row.merchant_responded_at is not None or now >= row.merchant_response_due
    in_time = (
        I.merchant_responded(row.merchant_responded_at, row.merchant_response_due, now)
        if answered
        else None  # still open and not yet due
    )
    assigned = store.assignees(conn, "intervention", [row.id]).get(row.id)
    made = store.rulings_of(conn, case.id)
    return InterventionView(
        id=row.id,
        case_number=case.number,
        case_state=case.state.value,
        case_version=case.version,
        round=row.round,
        opened_by=row.opened_by,
        opened_at=row.opened_at,
        statement=row.statement,
        urgent=bool(row.urgent),
        merchant_response_due=row.merchant_response_due,
        merchant_responded_at=row.merchant_responded_at,
        merchant_response=row.merchant_response,
        merchant_responded_in_time=in_time,
        evidence_due=row.evidence_due,
        ruling_due=row.ruling_due,
        status=row.status,
        closed_at=row.closed_at,
        assigned_agent=assigned.agent if assigned is not None else None,
        appeal_of_ruling_id=row.appeal_of_ruling_id,
        excluded_agent=row.excluded_agent if platform else None,
        version=row.version,
        templates=templates_for(case, profile, row.evidence_due, _party_of(actor)),
        rulings=tuple(
            _ruling_view(case, profile, r, platform, latest=k == len(made) - 1)
            for k, r in enumerate(made)
        ),
        appeals=tuple(
            _appeal_view(a, case.number, platform) for a in store.appeals_of(conn, case.id)
        ),
    )


def _open_round_row(
    conn: Connection,
    case: Case,
    profile: Profile,
    actor: Actor,
    party: Party,
    statement: str,
    now: datetime,
    *,
    appeal_of: store.Ruling | None = None,
) -> int:
    assert case.id is not None
    rules = machine.intervention_rules(profile)
    due = I.deadlines(rules, now, urgent=False)
    try:
        with conn.begin_nested():
            return _insert_round(conn, case, actor, party, statement, now, due, appeal_of)
    except IntegrityError:
        # the other party opened this round at the same moment (PostgreSQL: the unique
        # round number); the same 409 as any concurrent change of the case
        raise _stale(case.number) from None


def _insert_round(
    conn: Connection,
    case: Case,
    actor: Actor,
    party: Party,
    statement: str,
    now: datetime,
    due: I.Deadlines,
    appeal_of: store.Ruling | None,
) -> int:
    assert case.id is not None
    return store.insert_intervention(
        conn,
        case_id=case.id,
        shop_id=case.shop_id,
        round=len(store.rounds_of(conn, case.id)) + 1,
        opened_by=party.value,
        opened_by_actor=actor.id or party.value,
        opened_at=now,
        statement=statement,
        urgent=False,
        merchant_response_due=due.merchant_response_due,
        # R9.3: a merchant that asks the platform itself states its position in asking
        merchant_responded_at=now if party is Party.MERCHANT else None,
        merchant_response=statement if party is Party.MERCHANT else None,
        evidence_due=due.evidence_due,
        ruling_due=due.ruling_due,
        status=OPEN,
        appeal_of_ruling_id=appeal_of.id if appeal_of is not None else None,
        excluded_agent=appeal_of.agent if appeal_of is not None else None,
    )


def _round_changes(conn: Connection, intervention_id: int) -> dict[str, Any]:
    row = store.intervention(conn, intervention_id)
    return {
        "intervention": {
            "id": row.id,
            "round": row.round,
            "merchant_response_due": row.merchant_response_due.isoformat(),
            "evidence_due": row.evidence_due.isoformat(),
        }
    }


# --------------------------------------------------------------------------- R9.1
def escalate(
    ctx: Context,
    actor: Actor,
    number: str,
    *,
    statement: str,
    expected_version: int | None = None,
) -> InterventionView:
    """R9.1/R9.2/R9.3: the buyer (after a refusal or a counter-offer it does not accept)
    or the merchant asks the platform to step in. Refused, naming every R9.2 reason, when
    the platform does not take the case; otherwise both parties are notified and the
    merchant's response and evidence deadlines start."""
    party = _party_of(actor)
    if party is None:
        raise Forbidden(
            "intervention.parties_only",
            N_("Only the buyer or the merchant asks the platform to step in."),
            rule="R9.1",
        )
    text = _text(statement, "statement")
    now = ctx.now()
    with ctx.db.write() as conn:
        case = _load(conn, actor, number, write=True)
        profile = _profile(ctx, conn, case)
        I.check_escalation(
            escalation_facts(conn, case, profile), machine.intervention_rules(profile), now
        )
        action = Action.ESCALATE if party is Party.BUYER else Action.MERCHANT_ESCALATE
        round_id = _open_round_row(conn, case, profile, actor, party, text, now)
        after = engine.move(
            ctx,
            conn,
            actor,
            case,
            Command(action, actor.kind, note=text),
            expected_version,
            now,
            extra_changes=_round_changes(conn, round_id),
        )
        return _view(ctx, conn, actor, after, store.intervention(conn, round_id))


def get_intervention(ctx: Context, actor: Actor, number: str) -> InterventionView:
    """The case's current intervention round: deadlines, the evidence template for the
    caller's side (both for the platform), rulings and appeals."""
    with ctx.db.read() as conn:
        case = _load(conn, actor, number, write=False)
        row = _current(conn, case)
        if row is None:
            raise _no_intervention(number)
        return _view(ctx, conn, actor, case, row)


# --------------------------------------------------------------------------- R9.3
def respond(
    ctx: Context, actor: Actor, number: str, *, response: str, expected_version: int | None = None
) -> InterventionView:
    """R9.3: the merchant's response (once per round). After its deadline it is still
    recorded, but the merchant counts as silent and is held liable."""
    if actor.kind is not ActorKind.MERCHANT:
        raise Forbidden(
            "intervention.merchant_only", N_("Only the merchant responds."), rule="R9.3"
        )
    text = _text(response, "response")
    now = ctx.now()
    with ctx.db.write() as conn:
        case = _load(conn, actor, number, write=True)
        row = _open_round(conn, case, number)
        if row.merchant_responded_at is not None:
            raise Conflict(
                "intervention.already_responded",
                N_("The merchant already responded to this intervention."),
                rule="R9.3",
            )
        if expected_version is not None and expected_version != row.version:
            raise _stale(number)
        if not store.update_intervention(
            conn, row.id, row.version, merchant_responded_at=now, merchant_response=text
        ):
            raise _stale(number)
        on_time = I.merchant_responded(now, row.merchant_response_due, now)
        engine.note(
            conn,
            case,
            actor,
            Action.INTERVENTION_RESPONSE,
            "R9.3",
            {"in_time": on_time, "due": row.merchant_response_due},
            now,
        )
        return _view(ctx, conn, actor, case, store.intervention(conn, row.id))


def mark_urgent(ctx: Context, actor: Actor, number: str) -> InterventionView:
    """R9.3: the platform marks an intervention urgent: the merchant now has
    ``urgent_response_hours`` (never more time than before)."""
    require_agent(actor)
    now = ctx.now()
    with ctx.db.write() as conn:
        case = _load(conn, actor, number, write=True)
        row = _open_round(conn, case, number)
        if row.urgent:
            return _view(ctx, conn, actor, case, row)
        profile = _profile(ctx, conn, case)
        due = I.urgent_response_due(
            machine.intervention_rules(profile), now, row.merchant_response_due
        )
        if not store.update_intervention(
            conn, row.id, row.version, urgent=True, merchant_response_due=due
        ):
            raise _stale(number)
        engine.note(conn, case, actor, Action.INTERVENTION_URGENT, "R9.3", {"due": due}, now)
        return _view(ctx, conn, actor, case, store.intervention(conn, row.id))


# --------------------------------------------------------------------------- R9.4, R9.2
def withdraw(
    ctx: Context,
    actor: Actor,
    number: str,
    *,
    settlement: str,
    expected_version: int | None = None,
) -> InterventionView:
    """R9.4: the buyer withdraws the intervention after settling with the merchant. It has
    no effect on the shop (it never counts in the dispute rate), and the request stays
    settled: it cannot be brought to the platform again (R9.2)."""
    if actor.kind is not ActorKind.BUYER:
        raise Forbidden(
            "intervention.buyer_only", N_("Only the buyer withdraws an intervention."), rule="R9.4"
        )
    text = _text(settlement, "settlement")
    now = ctx.now()
    with ctx.db.write() as conn:
        case = _load(conn, actor, number, write=True)
        row = _open_round(conn, case, number)
        after = engine.move(
            ctx,
            conn,
            actor,
            case,
            Command(Action.WITHDRAW_INTERVENTION, ActorKind.BUYER, note=text),
            expected_version,
            now,
            extra_changes={"intervention": {"id": row.id, "settlement": text}},
        )
        if not store.update_intervention(
            conn, row.id, row.version, status=WITHDRAWN, closed_at=now
        ):
            raise _stale(number)
        return _view(ctx, conn, actor, after, store.intervention(conn, row.id))


def flag(
    ctx: Context,
    actor: Actor,
    *,
    kind: str,
    note: str,
    order_number: str | None = None,
    case_number: str | None = None,
) -> int:
    """R9.2: the platform records a fact that keeps a dispute out of intervention: an
    order off the platform or invalid, a buyer who is not the actual consumer (on an
    order), legal proceedings (on a case: an open intervention on it ends)."""
    require_agent(actor)
    try:
        refusal = I.Refusal(kind)
    except ValueError:
        refusal = None
    if refusal not in I.FLAG_KINDS:
        raise ValidationFailed(
            "flag.kind_unknown",
            N_("{kind} is not a dispute flag."),
            rule="R9.2",
            field="kind",
            kind=kind,
        )
    assert refusal is not None
    text = _text(note, "note")
    if (order_number is None) == (case_number is None):
        raise ValidationFailed(
            "flag.target", N_("Name an order or a case."), rule="R9.2", field="order_number"
        )
    if refusal is I.Refusal.LEGAL_PROCEEDINGS and case_number is None:
        raise ValidationFailed(
            "flag.legal_needs_case",
            N_("Legal proceedings are recorded on a case."),
            rule="R9.2",
            field="case_number",
        )
    now = ctx.now()
    with ctx.db.write() as conn:
        if case_number is not None:
            case = require_visible(actor, repo.load_case(conn, case_number), case_number)
            assert case.id is not None
            flag_id = store.insert_flag(
                conn,
                order_id=case.order_id,
                case_id=case.id,
                kind=refusal.value,
                note=text,
                flagged_by=actor.id or "platform",
                created_at=now,
            )
            row = _current(conn, case)
            if refusal is I.Refusal.LEGAL_PROCEEDINGS and row is not None and row.status == OPEN:
                engine.move(
                    ctx,
                    conn,
                    actor,
                    case,
                    Command(Action.LEGAL_PROCEEDINGS, ActorKind.PLATFORM, note=text),
                    None,
                    now,
                    extra_changes={"intervention": {"id": row.id, "flag": flag_id}},
                )
                if not store.update_intervention(
                    conn, row.id, row.version, status=LEGAL_CLOSED, closed_at=now
                ):
                    raise _stale(case_number)
            return flag_id
        assert order_number is not None
        order_id = repo.order_id_by_number(conn, order_number)
        if order_id is None:
            raise NotFound("order.not_found", N_("Order {number} not found."), number=order_number)
        return store.insert_flag(
            conn,
            order_id=order_id,
            case_id=None,
            kind=refusal.value,
            note=text,
            flagged_by=actor.id or "platform",
            created_at=now,
        )


# --------------------------------------------------------------------------- R10
@dataclass(frozen=True, slots=True)
class RulingInput:
    """What the agent decides. ``accept``: the recommendation as it stands; otherwise the
    fields given replace it, with a written ``override_reason`` (R10.5)."""

    reasons: str
    accept: bool = True
    liability: Liability | None = None
    remedy: Remedy | None = None
    freight_payer: FreightPayer | None = None
    return_risk: Liability | None = None
    amount: int | None = None  # minor units, the case's currency
    override_reason: str = ""


def rule(
    ctx: Context,
    actor: Actor,
    number: str,
    ruling: RulingInput,
    *,
    expected_version: int | None = None,
) -> InterventionView:
    """R10.4/R10.5/R11.1: an agent rules on the open round, accepting the engine's
    recommendation or overriding it with a written reason. The ruling is recorded with the
    recommendation it was made on, both parties are told, and the case moves: a buyer's win
    goes to the merchant to execute within ``execution_hours`` (else pay-first, R11.2) or
    back through the return; a loss closes the case or opens the buyer's appeal window.
    Two agents ruling at once: one ruling; the other gets a conflict."""
    require_agent(actor)
    reasons = _text(ruling.reasons, "reasons")
    now = ctx.now()
    with ctx.db.write() as conn:
        case = _load(conn, actor, number, write=True)
        latest = _current(conn, case)
        if latest is not None and latest.status == RULED:
            # the other agent ruled first (and committed): the same 409 as a race
            raise _already_ruled(number)
        row = _open_round(conn, case, number)
        if row.excluded_agent is not None and row.excluded_agent == actor.id:
            raise Forbidden(
                "appeal.same_agent",
                N_("An appeal is heard by a different agent than the one who ruled."),
                rule="R12",
            )
        if now < row.evidence_due:
            raise IllegalTransition(
                "ruling.evidence_open",
                N_("Each side may add evidence until {due}; rule after it."),
                rule="R9.3",
                due=row.evidence_due.isoformat(),
            )
        result = judgment.round_recommendation(ctx, conn, case, row, now)
        rec: J.Recommendation = result.recommendation
        # R10.5: accepting takes the recommendation's money as it stands; naming another
        # amount is an override (only a recommended partial refund leaves it to the agent)
        new_amount = ruling.amount is not None and rec.decision.remedy is not Remedy.PARTIAL_REFUND
        if ruling.accept and not new_amount:
            decided = J.accept(rec)
        else:
            decided = J.override(  # R10.5: refused without a written reason
                rec,
                J.Decision(
                    liability=ruling.liability or rec.decision.liability,
                    remedy=ruling.remedy or rec.decision.remedy,
                    freight_payer=ruling.freight_payer or rec.decision.freight_payer,
                    return_risk=ruling.return_risk or rec.decision.return_risk,
                ),
                ruling.override_reason,
            )
        decision = decided.decision
        amount = (
            Money(ruling.amount, case.requested.currency) if ruling.amount is not None else None
        )
        if not store.update_intervention(conn, row.id, row.version, status=RULED, closed_at=now):
            raise _already_ruled(number)
        after = engine.move(
            ctx,
            conn,
            actor,
            case,
            Command(
                Action.RULE, ActorKind.PLATFORM, amount=amount, remedy=decision.remedy, note=reasons
            ),
            expected_version,
            now,
            extra_changes={
                "ruling": {
                    "liability": decision.liability.value,
                    "remedy": decision.remedy.value,
                    "freight_payer": decision.freight_payer.value,
                    "return_risk": decision.return_risk.value,
                    "overridden": decided.overridden,
                    "override_reason": decided.reason,
                }
            },
        )
        try:
            with conn.begin_nested():
                store.insert_ruling(
                    conn,
                    intervention_id=row.id,
                    case_id=case.id,
                    shop_id=case.shop_id,
                    agent=actor.id or "platform",
                    ruled_at=now,
                    liability=decision.liability.value,
                    remedy=decision.remedy.value,
                    freight_payer=decision.freight_payer.value,
                    return_risk=decision.return_risk.value,
                    amount=after.agreed.amount if after.agreed is not None else None,
                    currency=case.requested.currency,
                    reasons=reasons,
                    overridden=decided.overridden,
                    override_reason=decided.reason,
                    recommendation=result.to_json(),
                    # R13.1: an approved force-majeure report covers the order
                    force_majeure_exempt=bool(result.signals.force_majeure_approved),
                )
        except IntegrityError:
            raise _already_ruled(number) from None
        return _view(ctx, conn, actor, after, store.intervention(conn, row.id))


def _already_ruled(number: str) -> Conflict:
    return Conflict(
        "ruling.already_made",
        N_("This intervention on case {number} was already ruled."),
        rule="R10.4",
        number=number,
    )


# --------------------------------------------------------------------------- R12
def _latest_ruling(conn: Connection, case: Case, number: str) -> store.Ruling:
    assert case.id is not None
    rows = store.rulings_of(conn, case.id)
    if not rows:
        raise NotFound("ruling.not_found", N_("Case {number} has no ruling."), number=number)
    return rows[-1]


def _evidence_after(
    conn: Connection, case: Case, ids: list[int], party: Party, after: datetime
) -> tuple[int, ...]:
    """R12.1: the evidence an appeal brings must be this side's items on this case,
    added after the ruling."""
    assert case.id is not None
    items = {row.id: row for row in evidence_store.items_of_case(conn, case.id)}
    for item_id in ids:
        row = items.get(item_id)
        if row is None or row.party != party.value or row.created_at <= after:
            raise ValidationFailed(
                "appeal.evidence_not_new",
                N_("Evidence {id} is not evidence you added to this case after the ruling."),
                rule="R12.1",
                field="evidence",
                id=item_id,
            )
    return tuple(dict.fromkeys(ids))


def appeal(
    ctx: Context,
    actor: Actor,
    number: str,
    *,
    grounds: str,
    statement: str,
    evidence: list[int],
    expected_version: int | None = None,
) -> AppealView:
    """R12: appeal the latest ruling. The merchant (R12.1) appeals a ruling against it
    within ``merchant_window_workdays`` working days, with new evidence or a claimed
    misjudgment; another agent decides. A buyer (R12.2, where buyers appeal) appeals a
    ruling against them inside the appeal window, at most ``buyer_max_appeals`` times per
    case: the case goes back to intervention and a different agent rules again."""
    party = _party_of(actor)
    if party is None:
        raise Forbidden(
            "appeal.parties_only", N_("Only the buyer or the merchant appeals."), rule="R12"
        )
    try:
        why = I.Grounds(grounds)
    except ValueError:
        raise ValidationFailed(
            "appeal.grounds_unknown",
            N_("Grounds must be new_evidence or misjudgment."),
            rule="R12.1",
            field="grounds",
        ) from None
    text = _text(statement, "statement", required=False)
    now = ctx.now()
    with ctx.db.write() as conn:
        case = _load(conn, actor, number, write=True)
        require_permission(actor, Permission.FILE_APPEALS)  # R1.2: a grant of its own
        profile = _profile(ctx, conn, case)
        rules = machine.appeal_rules(profile)
        last = _latest_ruling(conn, case, number)
        against_buyer = last.liability == Liability.BUYER.value
        if (party is Party.BUYER) != against_buyer:
            raise IllegalTransition(
                "appeal.not_against_you",
                N_("The latest ruling on case {number} is not against you."),
                rule="R12",
                number=number,
            )
        new = _evidence_after(conn, case, list(evidence), party, last.ruled_at)
        assert case.id is not None
        if party is Party.MERCHANT:
            I.check_merchant_appeal(
                rules,
                due=I.merchant_appeal_due(profile, rules, last.ruled_at),
                now=now,
                grounds=why,
                new_evidence=new,
                statement=text,
            )
            status, channel = "pending", rules.merchant_channel
        else:
            I.check_buyer_appeal(
                rules, sum(1 for a in store.appeals_of(conn, case.id) if a.party == "buyer")
            )
            if why is I.Grounds.NEW_EVIDENCE and not new:
                raise ValidationFailed(
                    "appeal.evidence_missing",
                    N_("An appeal on new evidence names evidence added after the ruling."),
                    rule="R12.2",
                    field="evidence",
                )
            status, channel = "reheard", "appeal"
        try:
            with conn.begin_nested():
                appeal_id = store.insert_appeal(
                    conn,
                    ruling_id=last.id,
                    case_id=case.id,
                    shop_id=case.shop_id,
                    party=party.value,
                    channel=channel,
                    filed_by=actor.id or party.value,
                    filed_at=now,
                    grounds=why.value,
                    statement=text,
                    evidence=list(new),
                    decide_by=I.appeal_decide_by(profile, rules, now),
                    status=status,
                )
        except IntegrityError:
            raise Conflict(
                "appeal.already_filed",
                N_("This ruling was already appealed."),
                rule="R12.2" if party is Party.BUYER else "R12.1",
            ) from None
        changes = {"appeal": {"id": appeal_id, "grounds": why.value, "ruling": last.id}}
        if party is Party.BUYER:
            round_id = _open_round_row(
                conn, case, profile, actor, party, text or why.value, now, appeal_of=last
            )
            changes.update(_round_changes(conn, round_id))
            engine.move(
                ctx,
                conn,
                actor,
                case,
                Command(Action.APPEAL, ActorKind.BUYER, note=text),
                expected_version,
                now,
                extra_changes=changes,
            )
        else:
            engine.note(conn, case, actor, Action.MERCHANT_APPEAL, "R12.1", changes, now)
        return _appeal_view(known(store.appeal(conn, appeal_id)), case.number, False)


def decide_appeal(
    ctx: Context,
    actor: Actor,
    appeal_id: int,
    *,
    uphold: bool,
    note: str,
    expected_version: int | None = None,
) -> AppealView:
    """R12.1: an agent other than the one who ruled decides a merchant's appeal. Upheld:
    the ruling no longer counts against the shop (R13.1), a ruling not yet executed is
    overturned (the case closes), and what pay-first deducted is returned to the shop
    through the ledger."""
    require_agent(actor)
    text = _text(note, "note")
    now = ctx.now()
    with ctx.db.write() as conn:
        row = store.appeal(conn, appeal_id)
        if row is None or row.party != "merchant":
            raise NotFound("appeal.not_found", N_("Appeal {id} not found."), id=appeal_id)
        if row.status != "pending":
            raise Conflict(
                "appeal.already_decided",
                N_("Appeal {id} was already decided."),
                rule="R12.1",
                id=appeal_id,
            )
        if expected_version is not None and expected_version != row.version:
            raise Conflict(
                "appeal.conflict",
                N_("Appeal {id} changed since you read it; reload and try again."),
                id=appeal_id,
            )
        ruled = known(store.ruling(conn, row.ruling_id))
        if ruled.agent == actor.id:
            raise Forbidden(
                "appeal.same_agent",
                N_("An appeal is heard by a different agent than the one who ruled."),
                rule="R12",
            )
        case = repo.load_case_by_id(conn, row.case_id)
        assert case is not None and case.id is not None
        refunded: list[int] = []
        if uphold:
            if case.state is State.AWAITING_EXECUTION:
                case = engine.move(
                    ctx,
                    conn,
                    actor,
                    case,
                    Command(Action.RULING_OVERTURNED, ActorKind.PLATFORM, note=text),
                    None,
                    now,
                    extra_changes={"appeal": {"id": appeal_id, "ruling": ruled.id}},
                )
            order = repo.lock_and_load_order(conn, case.order_id)
            assert order is not None
            refunded.extend(
                money.refund_deduction_in(
                    conn,
                    case,
                    order,
                    f"appeal:{appeal_id}:refund",
                    now,
                    ctx.profiles.for_case(conn, case.profile_id, case.profile_version),
                )
            )
        if not store.update_appeal(
            conn,
            appeal_id,
            row.version,
            status="upheld" if uphold else "dismissed",
            reviewed_by=actor.id,
            decided_at=now,
            decision_note=text,
            refunded_entries=refunded,
        ):
            raise Conflict(
                "appeal.already_decided",
                N_("Appeal {id} was already decided."),
                rule="R12.1",
                id=appeal_id,
            )
        engine.note(
            conn,
            case,
            actor,
            Action.APPEAL_DECIDED,
            "R12.1",
            {"appeal": {"id": appeal_id, "upheld": uphold, "refunded_entries": refunded}},
            now,
        )
        return _appeal_view(known(store.appeal(conn, appeal_id)), case.number, True)


__all__ = [
    "AppealView",
    "InterventionView",
    "RulingInput",
    "RulingView",
    "appeal",
    "decide_appeal",
    "escalate",
    "flag",
    "get_intervention",
    "mark_urgent",
    "respond",
    "rule",
    "withdraw",
]
