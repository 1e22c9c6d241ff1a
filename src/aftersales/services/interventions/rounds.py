"""A case's intervention rounds: the current one, opening a new one (R9.1, and R12 for an
appeal), and the checks every intervention use case shares."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from aftersales.domain import intervention as I
from aftersales.domain import machine
from aftersales.domain.case import Case
from aftersales.domain.errors import IllegalTransition, NotFound, ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.domain.policy import Party, Profile
from aftersales.services import engine
from aftersales.services.actors import Actor, require_case_access
from aftersales.services.context import Context
from aftersales.store import cases as case_store
from aftersales.store import interventions as store

OPEN, RULED, WITHDRAWN, LEGAL_CLOSED = "open", "ruled", "withdrawn", "legal_closed"
MAX_TEXT = 4000


def checked_text(value: str, field: str, *, required: bool = True) -> str:
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


def profile_of(ctx: Context, conn: Connection, case: Case) -> Profile:
    return ctx.profiles.for_case(conn, case.profile_id, case.profile_version)


def load_case(conn: Connection, actor: Actor, number: str, *, write: bool) -> Case:
    return require_case_access(actor, case_store.load_case(conn, number), number, write=write)


def current_round(conn: Connection, case: Case) -> store.Intervention | None:
    return store.latest_round(conn, case.id or 0)


def no_intervention(number: str) -> NotFound:
    return NotFound(
        "intervention.not_found",
        N_("Case {number} has no platform intervention."),
        number=number,
    )


def open_round(conn: Connection, case: Case, number: str) -> store.Intervention:
    row = current_round(conn, case)
    if row is None or row.status != OPEN:
        raise IllegalTransition(
            "intervention.not_open",
            N_("Case {number} has no open platform intervention."),
            rule="R9",
            number=number,
        )
    return row


def open_round_row(
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
        raise engine.conflict(case) from None


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


def round_changes(conn: Connection, intervention_id: int) -> dict[str, Any]:
    row = store.intervention(conn, intervention_id)
    return {
        "intervention": {
            "id": row.id,
            "round": row.round,
            "merchant_response_due": row.merchant_response_due.isoformat(),
            "evidence_due": row.evidence_due.isoformat(),
        }
    }
