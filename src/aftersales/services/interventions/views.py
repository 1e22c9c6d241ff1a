"""What a caller is shown of an intervention: the round, the R9.3 evidence templates of
each side, the rulings and the appeals (the platform sees more than the parties)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from aftersales.domain import intervention as I
from aftersales.domain.case import Case
from aftersales.domain.case_types import ActorKind, State
from aftersales.domain.money import Money
from aftersales.domain.policy import EvidenceKind, FreightPayer, Liability, Party, Profile, Remedy
from aftersales.domain.reasons import reason
from aftersales.services.actors import Actor, is_agent
from aftersales.services.context import Context
from aftersales.services.interventions.rounds import profile_of
from aftersales.store import interventions as store


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


def party_of(actor: Actor) -> Party | None:
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


def appeal_view(row: store.Appeal, number: str, platform: bool) -> AppealView:
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


def view(
    ctx: Context, conn: Connection, actor: Actor, case: Case, row: store.Intervention
) -> InterventionView:
    assert case.id is not None
    profile = profile_of(ctx, conn, case)
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
        templates=templates_for(case, profile, row.evidence_due, party_of(actor)),
        rulings=tuple(
            _ruling_view(case, profile, r, platform, latest=k == len(made) - 1)
            for k, r in enumerate(made)
        ),
        appeals=tuple(
            appeal_view(a, case.number, platform) for a in store.appeals_of(conn, case.id)
        ),
    )
