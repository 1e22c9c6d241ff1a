"""R10 on a stored case: the judgment engine's inputs built from the database, and the
agents' assessment of evidence (R9.3).

:func:`case_recommendation` runs inside the caller's transaction (the intervention
service calls it when an agent rules) and returns the engine's recommendation with the
facts, evidence and signals it was made from (:class:`CaseRecommendation`, whose
:meth:`~CaseRecommendation.to_json` is the snapshot a ruling records). Where each input
comes from is listed in docs/arbitration.md ("From a stored case to a recommendation"):

* facts: the case (type, current reason, requested amount, opening time), its order
  (signed, ship-by, shipping insurance), the order's parcels (first shipment), the
  case's timeline (an R16.2 missed intercept) and the window check of R4 at opening;
* evidence: every item of the case, as the newest agent assessment of it says (relevant,
  credible, whom it supports, the claim), late when it came after ``evidence_due``;
* signals: the buyer's R15.2 risk level now, an approved R15.1 force-majeure report on
  the order, the shop's merchant-liable rulings and paid orders over the last 30 days.

:func:`assess_evidence` records an agent's assessment of one item (append-only: the
newest supersedes the older ones). :func:`recommendation_for` is the agents' view of a
case's recommendation (API, CLI), with the deadlines of its latest intervention round.
Only platform agents and admins assess evidence or see a recommendation; a party of the
case is refused (403), anyone else is answered as if the case did not exist (404).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from aftersales.domain import judgment as J
from aftersales.domain.accounts import Scope
from aftersales.domain.case import Case
from aftersales.domain.case_types import Action
from aftersales.domain.catalog import Order
from aftersales.domain.errors import DomainError, Forbidden, NotFound, ValidationFailed
from aftersales.domain.evidence import POLICY_KIND, UploadKind
from aftersales.domain.i18n import N_
from aftersales.domain.intervention import merchant_responded
from aftersales.domain.policy import Issue, Judgment, Party, Profile, RiskLevel, Side
from aftersales.domain.reasons import reason
from aftersales.domain.risk import LEVEL_LABELS
from aftersales.domain.windows import check_window
from aftersales.i18n import gettext, normalise_locale, translate
from aftersales.services import engine, reports, risk
from aftersales.services.actors import (
    Actor,
    is_agent,
    require_case_reading,
    require_scope,
    require_visible,
)
from aftersales.services.context import Context
from aftersales.store import cases as case_store
from aftersales.store import catalog as catalog_store
from aftersales.store import evidence as evidence_store
from aftersales.store import interventions as rulings_store
from aftersales.store import judgment as store
from aftersales.store.records import known

RULE = "R9.3"
NOTE_MAX = 2000  # an input limit, not a rule

# Whom an item supports until an agent says otherwise: the side that submitted it.
SUBMITTER_SIDE: Mapping[Party, Side] = {
    Party.BUYER: Side.BUYER,
    Party.MERCHANT: Side.MERCHANT,
    Party.PLATFORM: Side.NEUTRAL,
}


# --------------------------------------------------------------------------- the result
@dataclass(frozen=True, slots=True)
class CaseRecommendation:
    """The engine's recommendation on a stored case and the inputs it was made from."""

    facts: J.DisputeFacts
    evidence: tuple[J.EvidenceFact, ...]
    signals: J.Signals
    recommendation: J.Recommendation

    def to_json(self) -> dict[str, Any]:
        """A JSON-able snapshot: the decision, what decided it (R10.5) and the inputs, so
        a recorded ruling can be explained and replayed."""
        rec = self.recommendation
        d = rec.decision
        return {
            "decision": {
                "liability": d.liability.value,
                "remedy": d.remedy.value,
                "freight_payer": d.freight_payer.value,
                "return_risk": d.return_risk.value,
            },
            "buyer_succeeds": rec.buyer_succeeds,
            "decided_for": rec.decided_for.value,
            "basis": rec.basis,
            "confidence": rec.confidence,
            "supports": {"buyer": rec.buyer_support, "merchant": rec.merchant_support},
            "balance": rec.balance,
            "factors": [factor_json(f) for f in rec.factors],
            "ignored": [factor_json(f) for f in rec.ignored],
            "facts": _facts_json(self.facts),
            "evidence": [_evidence_json(e) for e in self.evidence],
            "signals": _signals_json(self.signals),
        }


def factor_json(f: J.Factor) -> dict[str, Any]:
    return {
        "kind": f.kind.value,
        "ref": f.ref,
        "clause": f.clause,
        "toward": f.toward.value,
        "weight": f.weight,
        "message": f.message,
        "params": dict(f.params),
    }


def _facts_json(f: J.DisputeFacts) -> dict[str, Any]:
    return {
        "case_type": f.case_type.value,
        "reason_code": f.reason_code,
        "reason_group": f.reason_group.value,
        "issue": f.issue.value,
        "requested": {"amount": f.requested.amount, "currency": f.requested.currency},
        "reported_at": f.reported_at.isoformat(),
        "signed_at": f.signed_at.isoformat() if f.signed_at else None,
        "days_after_signing": f.days_after_signing,
        "in_window": f.in_window,
        "shipped_late": f.shipped_late,
        "intercept_missed": f.intercept_missed,
        "parcel_lost": f.parcel_lost,
        "merchant_responded": f.merchant_responded,
        "shipping_insurance": f.shipping_insurance,
    }


def _evidence_json(e: J.EvidenceFact) -> dict[str, Any]:
    return {
        "id": e.id,
        "party": e.party.value,
        "kind": e.kind.value,
        "supports": e.supports.value,
        "claim": e.claim.value if e.claim else None,
        "first_submission": e.first_submission,
        "relevant": e.relevant,
        "credible": e.credible,
        "in_time": e.in_time,
    }


def _signals_json(s: J.Signals) -> dict[str, Any]:
    return {
        "positive_review_rate": s.positive_review_rate,
        "shop_complaints": s.shop_complaints,
        "shop_orders": s.shop_orders,
        "buyer_risk": s.buyer_risk.value,
        "force_majeure_approved": s.force_majeure_approved,
    }


# --------------------------------------------------------------------------- facts
def _in_window(order: Order, case: Case, profile: Profile) -> bool:
    """R4, re-checked at the moment the request was opened. Only a window refusal
    (``window.*``) puts it outside: a stage check that fails now because the order moved
    on since (a refund before shipment whose order has shipped) says nothing about the
    window."""
    lines = [ln for cl in case.lines if (ln := order.line(cl.order_line_id)) is not None]
    try:
        check_window(order, lines, case.reason, case.type, profile, case.created_at)
    except DomainError as err:
        return not err.code.startswith("window.")
    return True


def _shipped_late(conn: Connection, order: Order, case: Case) -> bool:
    """Shipped after the promised ship-by time: the order's first outbound parcel (else
    the order's own shipment time) against ``ship_by``; an order still unshipped when the
    buyer reported, with ``ship_by`` already past, is late too. No ship-by: not late."""
    if order.ship_by is None:
        return False
    shipped = store.first_shipped_at(conn, order.id) or order.shipped_at
    if shipped is None:
        return case.created_at > order.ship_by
    return shipped > order.ship_by


def _intercept_missed(conn: Connection, case_id: int) -> bool:
    """R16.2: the timeline records that the merchant refunded while an intercept was
    possible and none was asked for (``changes.intercept_missed``)."""
    return any("intercept_missed" in (e.changes or {}) for e in case_store.events(conn, case_id))


def dispute_facts(
    conn: Connection,
    case: Case,
    order: Order,
    profile: Profile,
    *,
    issue: Issue | None = None,
    merchant_responded: bool = True,
) -> J.DisputeFacts:
    """The facts of the dispute on record for a stored case."""
    assert case.id is not None
    return J.DisputeFacts(
        case_type=case.type,
        reason_code=case.reason,
        reason_group=reason(case.reason).group,
        issue=issue or J.default_issue(case.reason),
        requested=case.requested,
        reported_at=case.created_at,
        signed_at=order.signed_at,
        in_window=_in_window(order, case, profile),
        shipped_late=_shipped_late(conn, order, case),
        intercept_missed=_intercept_missed(conn, case.id),
        # No carrier status says a parcel is lost (domain.logistics.ParcelStatus), so no
        # stored parcel is: the agent's claim (issue lost_in_transit) and the carrier's
        # records (evidence) carry a loss until the carrier integration reports one.
        parcel_lost=False,
        merchant_responded=merchant_responded,
        shipping_insurance=order.shipping_insurance,
    )


# --------------------------------------------------------------------------- evidence
def evidence_facts(
    conn: Connection, case_id: int, evidence_due: datetime | None = None
) -> tuple[J.EvidenceFact, ...]:
    """Every evidence item of the case, oldest first, as its newest assessment says (an
    unassessed item is relevant, credible and supports the side that submitted it)."""
    assessed = store.latest_assessments(conn, case_id)
    out: list[J.EvidenceFact] = []
    for row in evidence_store.items_of_case(conn, case_id):
        party = Party(row.party)
        a = assessed.get(int(row.id))
        out.append(
            J.EvidenceFact(
                id=f"E{row.id}",
                party=party,
                kind=POLICY_KIND[UploadKind(row.kind)],
                supports=Side(a.supports) if a is not None else SUBMITTER_SIDE[party],
                claim=Issue(a.claim) if a is not None and a.claim else None,
                first_submission=bool(row.first_submission),
                relevant=bool(a.relevant) if a is not None else True,
                credible=bool(a.credible) if a is not None else True,
                in_time=evidence_due is None or row.created_at <= evidence_due,
            )
        )
    return tuple(out)


# --------------------------------------------------------------------------- signals
def _buyer_risk(
    ctx: Context, conn: Connection, profile: Profile, case: Case, now: datetime
) -> RiskLevel:
    if profile.risk is None:  # a frozen version older than [risk]: today's rules
        profile = ctx.profiles.current[profile.id]
    return risk.assess_in(conn, profile, case.buyer_id, now, order_id=case.order_id).level


def signals_for(
    ctx: Context,
    conn: Connection,
    case: Case,
    profile: Profile,
    now: datetime,
    *,
    positive_review_rate: float | None = None,
) -> J.Signals:
    """R10.3: what the platform knows besides the evidence, at ``now``. The shop's past
    complaints are its merchant-liable rulings as R13.1 counts them (appeals won and
    force-majeure exemptions left out) over the profile's ``complaint_window_days``."""
    window = policy_of(ctx, profile).signals.complaint_window_days
    if window is None:  # a frozen v4 body: today's number
        window = policy_of(ctx, ctx.profiles.current[profile.id]).signals.complaint_window_days
    assert window is not None
    since = now - timedelta(days=window)
    return J.Signals(
        positive_review_rate=positive_review_rate,
        shop_complaints=rulings_store.merchant_liable_count(conn, case.shop_id, since, now),
        shop_orders=store.orders_paid(conn, case.shop_id, since, now),
        buyer_risk=_buyer_risk(ctx, conn, profile, case, now),
        force_majeure_approved=reports.force_majeure_for_order(conn, case.order_id),
    )


# --------------------------------------------------------------------------- R10
def policy_of(ctx: Context, profile: Profile) -> Judgment:
    """The profile's [judgment] (a version without one follows the current version)."""
    policy = profile.judgment
    if policy is None:
        current = ctx.profiles.current.get(profile.id)
        policy = current.judgment if current is not None else None
    if policy is None:
        raise ValueError(f"profile {profile.id} v{profile.version} has no [judgment] rules")
    return policy


def case_recommendation(
    ctx: Context,
    conn: Connection,
    case: Case,
    now: datetime,
    *,
    merchant_responded: bool = True,
    evidence_due: datetime | None = None,
    issue: Issue | None = None,
    positive_review_rate: float | None = None,
) -> CaseRecommendation:
    """R10: the recommended ruling on a stored case at ``now``, inside the caller's
    transaction, under the case's profile version.

    ``merchant_responded``: R9.3, the merchant responded before its deadline (the
    intervention knows). ``evidence_due``: R9.3, items submitted after it are set aside.
    ``issue``: the claim as the agent names it (default: the reason code's,
    :data:`aftersales.domain.judgment.REASON_ISSUES`). ``positive_review_rate``: R10.3,
    the product's share of positive reviews (0..1), None while unknown.
    """
    assert case.id is not None
    profile = ctx.profiles.for_case(conn, case.profile_id, case.profile_version)
    policy = policy_of(ctx, profile)
    order = catalog_store.load_order(conn, case.order_id)
    assert order is not None
    facts = dispute_facts(
        conn, case, order, profile, issue=issue, merchant_responded=merchant_responded
    )
    evidence = evidence_facts(conn, case.id, evidence_due)
    signals = signals_for(ctx, conn, case, profile, now, positive_review_rate=positive_review_rate)
    return CaseRecommendation(
        facts, evidence, signals, J.recommend(facts, evidence, signals, policy)
    )


# --------------------------------------------------------------------------- who


def _agent_case(actor: Actor, case: Case | None, number: str, message: str, rule: str) -> Case:
    """The case for a platform agent or admin; a party that sees it is refused (403),
    anyone else sees no case (404)."""
    seen = require_visible(actor, case, number)
    if not is_agent(actor):
        raise Forbidden("judgment.agents_only", message, rule=rule)
    return seen


def parse_issue(value: Issue | str | None) -> Issue | None:
    if value is None or isinstance(value, Issue):
        return value
    try:
        return Issue(value)
    except ValueError:
        raise ValidationFailed(
            "judgment.issue_unknown", N_("Unknown claim {issue}."), field="issue", issue=value
        ) from None


def _side(value: Side | str) -> Side:
    try:
        return Side(value)
    except ValueError:
        raise ValidationFailed(
            "judgment.side_unknown", N_("Unknown side {side}."), field="supports", side=value
        ) from None


def _note(value: str) -> str:
    text = value.strip()
    if not text:
        raise ValidationFailed(
            "judgment.note_required",
            N_("Say why: an assessment needs a written note."),
            rule="R10.5",
            field="note",
        )
    if len(text) > NOTE_MAX:
        raise ValidationFailed(
            "text.too_long",
            N_("This text is at most {max} characters."),
            field="note",
            max=NOTE_MAX,
        )
    if "\x00" in text:
        raise ValidationFailed(
            "text.invalid",
            N_("This text contains characters that cannot be stored."),
            field="note",
        )
    return text


# --------------------------------------------------------------------------- R9.3
@dataclass(frozen=True, slots=True)
class AssessmentView:
    id: int
    case_number: str
    evidence_id: int
    relevant: bool
    credible: bool
    supports: Side
    claim: Issue | None
    note: str
    assessed_by: str
    created_at: datetime


def _assessment_view(row: store.Assessment, case_number: str) -> AssessmentView:
    return AssessmentView(
        id=int(row.id),
        case_number=case_number,
        evidence_id=int(row.evidence_id),
        relevant=bool(row.relevant),
        credible=bool(row.credible),
        supports=Side(row.supports),
        claim=Issue(row.claim) if row.claim else None,
        note=row.note,
        assessed_by=row.assessed_by,
        created_at=row.created_at,
    )


def assess_evidence(
    ctx: Context,
    actor: Actor,
    case_number: str,
    evidence_id: int,
    *,
    relevant: bool,
    credible: bool,
    supports: Side | str,
    claim: Issue | str | None = None,
    note: str,
) -> AssessmentView:
    """R9.3: a platform agent says whether an item is relevant and true, whom it
    supports and which claim it speaks to, and why. The newest assessment of an item is
    the one the judgment reads; older ones stay on record."""
    now = ctx.now()
    with ctx.db.write() as conn:
        case = _agent_case(
            actor,
            case_store.load_case(conn, case_number),
            case_number,
            N_("Only a platform agent assesses evidence."),
            RULE,
        )
        assert case.id is not None
        require_scope(actor, Scope.CASES_WRITE)
        side = _side(supports)
        issue = parse_issue(claim)
        text = _note(note)
        item = evidence_store.item_by_id(conn, evidence_id)
        if item is None or item.case_id != case.id:
            raise NotFound("evidence.not_found", N_("Evidence {id} not found."), id=evidence_id)
        assessment_id = store.insert_assessment(
            conn,
            evidence_id=evidence_id,
            case_id=case.id,
            relevant=relevant,
            credible=credible,
            supports=side.value,
            claim=issue.value if issue else None,
            note=text,
            assessed_by=actor.id or "platform",
            now=now,
        )
        engine.note(
            conn,
            case,
            actor,
            Action.EVIDENCE_ASSESSED,
            RULE,
            {
                "evidence_id": evidence_id,
                "assessment_id": assessment_id,
                "relevant": relevant,
                "credible": credible,
                "supports": side.value,
                "claim": issue.value if issue else None,
            },
            now,
        )
        return _assessment_view(known(store.assessment(conn, assessment_id)), case.number)


# --------------------------------------------------------------------------- agents' view
@dataclass(frozen=True, slots=True)
class AgentRecommendation:
    """A case's recommendation as an agent sees it (API, CLI)."""

    case_number: str
    profile_id: str
    profile_version: int
    computed_at: datetime
    in_intervention: bool  # the deadlines of an intervention round applied
    policy: Judgment
    result: CaseRecommendation


def round_recommendation(
    ctx: Context,
    conn: Connection,
    case: Case,
    row: rulings_store.Intervention | None,
    now: datetime,
    *,
    issue: Issue | None = None,
) -> CaseRecommendation:
    """The recommendation under an intervention round (``row``; None: no round): its
    response and evidence deadlines decide whether the merchant responded and which
    evidence came in time (R9.3)."""
    if row is None:
        return case_recommendation(ctx, conn, case, now, issue=issue)
    return case_recommendation(
        ctx,
        conn,
        case,
        now,
        merchant_responded=merchant_responded(
            row.merchant_responded_at, row.merchant_response_due, now
        ),
        evidence_due=row.evidence_due,
        issue=issue,
    )


def recommendation_for(
    ctx: Context, actor: Actor, case_number: str, *, issue: Issue | str | None = None
) -> AgentRecommendation:
    """R10: the recommendation on a case now, for platform agents and admins; under an
    intervention, with its round's response and evidence deadlines (R9.3)."""
    claim = parse_issue(issue)
    now = ctx.now()
    with ctx.db.read() as conn:
        case = _agent_case(
            actor,
            case_store.load_case(conn, case_number),
            case_number,
            N_("Only a platform agent sees the recommended ruling."),
            "R10.5",
        )
        assert case.id is not None
        require_case_reading(actor)
        row = rulings_store.latest_round(conn, case.id)
        result = round_recommendation(ctx, conn, case, row, now, issue=claim)
        profile = ctx.profiles.for_case(conn, case.profile_id, case.profile_version)
    return AgentRecommendation(
        case_number=case.number,
        profile_id=case.profile_id,
        profile_version=case.profile_version,
        computed_at=now,
        in_intervention=row is not None,
        policy=policy_of(ctx, profile),
        result=result,
    )


# --------------------------------------------------------------------------- showing it
_PARAM_LABELS: Mapping[str, Mapping[str, str]] = {
    "side": {k.value: v for k, v in J.SIDE_LABELS.items()},
    "party": {k.value: v for k, v in J.PARTY_LABELS.items()},
    "kind": {k.value: v for k, v in J.EVIDENCE_KIND_LABELS.items()},
    "level": {k.value: v for k, v in LEVEL_LABELS.items()},
}


def render_factor(factor: J.Factor, locale: str) -> str:
    """Why a factor counted (or was set aside), in ``locale`` (zh_CN or en): its message
    with the codes among its parameters (a side, a party, an evidence kind, a risk level)
    shown by their translated labels."""
    loc = normalise_locale(locale)
    params = {
        key: gettext(_PARAM_LABELS[key][value], loc)
        if key in _PARAM_LABELS and isinstance(value, str) and value in _PARAM_LABELS[key]
        else value
        for key, value in factor.params.items()
    }
    return translate(factor.message, loc, **params)


def rule_label(policy: Judgment, rule_id: str, locale: str) -> str | None:
    """A judgment rule's label in ``locale`` (the profile carries both languages)."""
    rule = next((r for r in policy.rules if r.id == rule_id), None)
    if rule is None:
        return None
    return rule.label_zh_CN if normalise_locale(locale) == "zh_CN" else rule.label_en


__all__ = [
    "AgentRecommendation",
    "AssessmentView",
    "CaseRecommendation",
    "assess_evidence",
    "case_recommendation",
    "dispute_facts",
    "evidence_facts",
    "recommendation_for",
    "render_factor",
    "rule_label",
    "signals_for",
]
