"""R9: a party asks the platform to step in (refused for the R9.2 reasons), the merchant
responds (R9.3), the platform marks it urgent, and the buyer withdraws after settling
(R9.4)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from aftersales.domain import intervention as I
from aftersales.domain import machine
from aftersales.domain.case import Case, Command
from aftersales.domain.case_types import Action, ActorKind
from aftersales.domain.errors import Conflict, DomainError, Forbidden
from aftersales.domain.i18n import N_
from aftersales.domain.policy import Party, Profile
from aftersales.domain.windows import check_window
from aftersales.services import engine
from aftersales.services.actors import Actor, require_agent
from aftersales.services.context import Context
from aftersales.services.interventions.rounds import (
    WITHDRAWN,
    checked_text,
    current_round,
    load_case,
    no_intervention,
    open_round,
    open_round_row,
    profile_of,
    round_changes,
)
from aftersales.services.interventions.views import InterventionView, party_of, view
from aftersales.store import cases as case_store
from aftersales.store import catalog as catalog_store
from aftersales.store import interventions as store


def _dispute_started(conn: Connection, case: Case) -> datetime | None:
    """When the case entered its current state (the refusal, refund refusal or
    counter-offer the party disputes)."""
    assert case.id is not None
    for event in reversed(case_store.events(conn, case.id)):
        if event.to_state == case.state.value and event.from_state != event.to_state:
            at: datetime = event.at
            return at
    return None


def _in_window(conn: Connection, case: Case, profile: Profile) -> bool:
    order = catalog_store.load_order(conn, case.order_id)
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
    party = party_of(actor)
    if party is None:
        raise Forbidden(
            "intervention.parties_only",
            N_("Only the buyer or the merchant asks the platform to step in."),
            rule="R9.1",
        )
    text = checked_text(statement, "statement")
    now = ctx.now()
    with ctx.db.write() as conn:
        case = load_case(conn, actor, number, write=True)
        profile = profile_of(ctx, conn, case)
        I.check_escalation(
            escalation_facts(conn, case, profile), machine.intervention_rules(profile), now
        )
        action = Action.ESCALATE if party is Party.BUYER else Action.MERCHANT_ESCALATE
        round_id = open_round_row(conn, case, profile, actor, party, text, now)
        after = engine.move(
            ctx,
            conn,
            actor,
            case,
            Command(action, actor.kind, note=text),
            expected_version,
            now,
            extra_changes=round_changes(conn, round_id),
        )
        return view(ctx, conn, actor, after, store.intervention(conn, round_id))


def get_intervention(ctx: Context, actor: Actor, number: str) -> InterventionView:
    """The case's current intervention round: deadlines, the evidence template for the
    caller's side (both for the platform), rulings and appeals."""
    with ctx.db.read() as conn:
        case = load_case(conn, actor, number, write=False)
        row = current_round(conn, case)
        if row is None:
            raise no_intervention(number)
        return view(ctx, conn, actor, case, row)


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
    text = checked_text(response, "response")
    now = ctx.now()
    with ctx.db.write() as conn:
        case = load_case(conn, actor, number, write=True)
        row = open_round(conn, case, number)
        if row.merchant_responded_at is not None:
            raise Conflict(
                "intervention.already_responded",
                N_("The merchant already responded to this intervention."),
                rule="R9.3",
            )
        if expected_version is not None and expected_version != row.version:
            raise engine.conflict(case)
        if not store.update_intervention(
            conn, row.id, row.version, merchant_responded_at=now, merchant_response=text
        ):
            raise engine.conflict(case)
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
        return view(ctx, conn, actor, case, store.intervention(conn, row.id))


def mark_urgent(ctx: Context, actor: Actor, number: str) -> InterventionView:
    """R9.3: the platform marks an intervention urgent: the merchant now has
    ``urgent_response_hours`` (never more time than before)."""
    require_agent(actor)
    now = ctx.now()
    with ctx.db.write() as conn:
        case = load_case(conn, actor, number, write=True)
        row = open_round(conn, case, number)
        if row.urgent:
            return view(ctx, conn, actor, case, row)
        profile = profile_of(ctx, conn, case)
        due = I.urgent_response_due(
            machine.intervention_rules(profile), now, row.merchant_response_due
        )
        if not store.update_intervention(
            conn, row.id, row.version, urgent=True, merchant_response_due=due
        ):
            raise engine.conflict(case)
        engine.note(conn, case, actor, Action.INTERVENTION_URGENT, "R9.3", {"due": due}, now)
        return view(ctx, conn, actor, case, store.intervention(conn, row.id))


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
    text = checked_text(settlement, "settlement")
    now = ctx.now()
    with ctx.db.write() as conn:
        case = load_case(conn, actor, number, write=True)
        row = open_round(conn, case, number)
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
            raise engine.conflict(case)
        return view(ctx, conn, actor, after, store.intervention(conn, row.id))
