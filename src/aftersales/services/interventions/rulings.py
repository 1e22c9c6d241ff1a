"""R10.4/R10.5/R11.1: an agent rules on the open round, accepting the engine's
recommendation or overriding it with a written reason, and the case moves on."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from aftersales.domain import judgment as J
from aftersales.domain.case import Command
from aftersales.domain.case_types import Action, ActorKind
from aftersales.domain.errors import Conflict, Forbidden, IllegalTransition
from aftersales.domain.i18n import N_
from aftersales.domain.money import Money
from aftersales.domain.policy import FreightPayer, Liability, Remedy
from aftersales.services import engine, judgment
from aftersales.services.actors import Actor, require_agent
from aftersales.services.context import Context
from aftersales.services.interventions.rounds import (
    RULED,
    checked_text,
    current_round,
    load_case,
    open_round,
)
from aftersales.services.interventions.views import InterventionView, view
from aftersales.store import interventions as store


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
    reasons = checked_text(ruling.reasons, "reasons")
    now = ctx.now()
    with ctx.db.write() as conn:
        case = load_case(conn, actor, number, write=True)
        latest = current_round(conn, case)
        if latest is not None and latest.status == RULED:
            # the other agent ruled first (and committed): the same 409 as a race
            raise _already_ruled(number)
        row = open_round(conn, case, number)
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
        return view(ctx, conn, actor, after, store.intervention(conn, row.id))


def _already_ruled(number: str) -> Conflict:
    return Conflict(
        "ruling.already_made",
        N_("This intervention on case {number} was already ruled."),
        rule="R10.4",
        number=number,
    )
