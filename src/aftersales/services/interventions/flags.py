"""R9.2: the platform records a fact that keeps a dispute out of intervention (an order
off the platform or invalid, a buyer who is not the consumer, legal proceedings)."""

from __future__ import annotations

from aftersales.domain import intervention as I
from aftersales.domain.case import Command
from aftersales.domain.case_types import Action, ActorKind
from aftersales.domain.errors import NotFound, ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.services import engine
from aftersales.services.actors import Actor, require_agent, require_visible
from aftersales.services.context import Context
from aftersales.services.interventions.rounds import (
    LEGAL_CLOSED,
    OPEN,
    checked_text,
    current_round,
)
from aftersales.store import cases as case_store
from aftersales.store import catalog as catalog_store
from aftersales.store import interventions as store


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
    text = checked_text(note, "note")
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
            case = require_visible(actor, case_store.load_case(conn, case_number), case_number)
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
            row = current_round(conn, case)
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
                    raise engine.conflict(case)
            return flag_id
        assert order_number is not None
        order_id = catalog_store.order_id_by_number(conn, order_number)
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
