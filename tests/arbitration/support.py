"""Helpers shared by the arbitration tests (R9-R12), not tests themselves.

Every number comes from the profile's ``[intervention]`` and ``[appeals]`` tables; the
disputes are built through the real services (open, reject, escalate, rule)."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from sqlalchemy import select

from aftersales.domain import ledger as L
from aftersales.domain.accounts import AccountKind
from aftersales.domain.case_types import ActorKind, CaseType, State
from aftersales.domain.policy import AppealRules, EvidenceKind, InterventionRules, Profile
from aftersales.domain.reasons import ReasonGroup
from aftersales.domain.reasons import reason as reason_of
from aftersales.jobs.deadlines import BatchResult, DeadlineWorker
from aftersales.services import accounts
from aftersales.services import cases as svc
from aftersales.services import evidence as evidence_svc
from aftersales.services import interventions as iv
from aftersales.services.actors import Actor
from aftersales.services.context import Context
from aftersales.store import cases as case_store
from aftersales.store import interventions as iv_store
from aftersales.store import ledger as ledger_store
from aftersales.store.schema import ledger_entries, outbox_events
from tests.conftest import FakeClock
from tests.evidence.files import png
from tests.evidence.proof import proof
from tests.factories import World

AGENT = Actor.platform("agent-1")
OTHER_AGENT = Actor.platform("agent-2")
THIRD_AGENT = Actor.platform("agent-3")
AUDITOR = Actor.platform("auditor")  # reads without taking part
ADMIN = Actor(ActorKind.PLATFORM, "account:admin", account_kind=AccountKind.ADMIN)
REASONS = "Decided on the evidence on file."


# --------------------------------------------------------------------------- profile
def profile(ctx: Context, profile_id: str = "douyin") -> Profile:
    return ctx.profiles.current[profile_id]


def rules(ctx: Context, profile_id: str = "douyin") -> InterventionRules:
    r = profile(ctx, profile_id).intervention
    assert r is not None
    return r


def appeal_rules(ctx: Context, profile_id: str = "douyin") -> AppealRules:
    r = profile(ctx, profile_id).appeals
    assert r is not None
    return r


# --------------------------------------------------------------------------- reading
def case_of(ctx: Context, number: str) -> Any:
    return svc.get_case(ctx, AUDITOR, number).case


def state(ctx: Context, number: str) -> State:
    return case_of(ctx, number).state


def timeline(ctx: Context, number: str) -> list[Any]:
    return svc.get_case(ctx, AUDITOR, number).timeline


def actions(ctx: Context, number: str) -> list[str]:
    return [e.action for e in timeline(ctx, number)]


def entry(ctx: Context, number: str, action: str) -> Any:
    """The newest timeline entry of ``action``."""
    found = [e for e in timeline(ctx, number) if e.action == action]
    assert found, f"no {action} entry on {number}: {actions(ctx, number)}"
    return found[-1]


def events(ctx: Context, number: str) -> list[dict[str, Any]]:
    """The webhook outbox events of a case, oldest first (their payloads)."""
    case = case_of(ctx, number)
    with ctx.db.read() as conn:
        rows = conn.execute(
            select(outbox_events.c.payload)
            .where(outbox_events.c.case_id == case.id)
            .order_by(outbox_events.c.id)
        )
        return [dict(r.payload) for r in rows]


def rounds(ctx: Context, number: str) -> list[Any]:
    case = case_of(ctx, number)
    with ctx.db.read() as conn:
        return iv_store.rounds_of(conn, case.id)


def rulings(ctx: Context, number: str) -> list[Any]:
    case = case_of(ctx, number)
    with ctx.db.read() as conn:
        return iv_store.rulings_of(conn, case.id)


def appeals(ctx: Context, number: str) -> list[Any]:
    case = case_of(ctx, number)
    with ctx.db.read() as conn:
        return iv_store.appeals_of(conn, case.id)


def liable_count(ctx: Context, shop_id: int, since: datetime, until: datetime) -> int:
    with ctx.db.read() as conn:
        return iv_store.merchant_liable_count(conn, shop_id, since, until)


def case_entries(ctx: Context, number: str) -> list[Any]:
    """The ledger entries of a case, oldest first."""
    case = case_of(ctx, number)
    with ctx.db.read() as conn:
        return list(
            conn.execute(
                select(ledger_entries)
                .where(ledger_entries.c.case_id == case.id)
                .order_by(ledger_entries.c.id)
            )
        )


def balance(ctx: Context, ref: L.AccountRef) -> int:
    with ctx.db.read() as conn:
        return ledger_store.balance(conn, ref)


def settlement(shop_id: int, currency: str = "CNY") -> L.AccountRef:
    return L.shop_account(shop_id, L.Purpose.SETTLEMENT, currency)


def deposit(shop_id: int, currency: str = "CNY") -> L.AccountRef:
    return L.shop_account(shop_id, L.Purpose.DEPOSIT, currency)


def buyer_account(buyer_id: int, currency: str = "CNY") -> L.AccountRef:
    return L.buyer_account(buyer_id, currency)


def pay_first_pot(currency: str = "CNY") -> L.AccountRef:
    return L.platform_account(L.Purpose.PAY_FIRST, currency)


def run_worker(ctx: Context) -> BatchResult:
    return DeadlineWorker(ctx, name="arbitration-worker").run_until_idle()


def agent_account(ctx: Context, login: str, kind: AccountKind = AccountKind.AGENT) -> Actor:
    """A stored platform account (the queue hands items to accounts) and its actor."""
    view = accounts.create_account(ctx, None, kind=kind, login=login, password="agent-password")
    with ctx.db.read() as conn:
        from aftersales.store import accounts as account_store

        return accounts.actor_for(account_store.account_by_id(conn, view.id))


# --------------------------------------------------------------------------- building
def upload(ctx: Context, actor: Actor, number: str, kind: str = "photo") -> int:
    return evidence_svc.upload_evidence(
        ctx,
        actor,
        number,
        kind=kind,
        filename=f"{kind}.png",
        content_type="image/png",
        content=io.BytesIO(png()),
        description=f"{kind} from {actor.id}",
    ).id


def rejected(w: World, *, type: CaseType = CaseType.REFUND_ONLY, reason: str = "defect") -> str:
    """A quality request the merchant rejected (R5.5): the buyer may now escalate."""
    number = w.open(type=type, reason=reason)
    quality = reason_of(reason).group is ReasonGroup.QUALITY
    svc.reject(
        w.ctx,
        w.merchant,
        number,
        refusal_code="no_quality_issue" if quality else "buyer_agreed_to_cancel",
        evidence_ids=proof(
            w.ctx, w.merchant, number, EvidenceKind.QC_RECORD if quality else EvidenceKind.CHAT_LOG
        ),
        note="no defect found" if quality else "agreed in chat",
    )
    return number


def escalated(w: World, **kw: Any) -> tuple[str, iv.InterventionView]:
    number = rejected(w, **kw)
    return number, iv.escalate(w.ctx, w.buyer, number, statement="The kettle leaks.")


def to_evidence_due(clock: FakeClock, view: iv.InterventionView) -> None:
    clock.now = view.evidence_due


def buyer_wins(
    w: World, clock: FakeClock, *, agent: Actor = AGENT, **kw: Any
) -> tuple[str, iv.InterventionView]:
    """A refund-only quality dispute the silent merchant loses (R9.3): the agent accepts
    the engine's full refund and the case waits for the merchant to execute it (R11.1)."""
    number, opened = escalated(w, **kw)
    to_evidence_due(clock, opened)
    ruled = iv.rule(w.ctx, agent, number, iv.RulingInput(reasons=REASONS))
    assert ruled.case_state == State.AWAITING_EXECUTION.value, ruled.case_state
    return number, ruled


def buyer_loses(
    w: World, clock: FakeClock, *, agent: Actor = AGENT, number: str | None = None, **kw: Any
) -> tuple[str, iv.InterventionView]:
    """A dispute the buyer loses: the merchant responds in time and the buyer brought no
    evidence (R10.1 insufficient), the agent accepts the rejection."""
    if number is None:
        number, opened = escalated(w, **kw)
    else:
        opened = iv.get_intervention(w.ctx, AUDITOR, number)
    iv.respond(w.ctx, w.merchant, number, response="The goods left our QC intact.")
    to_evidence_due(clock, opened)
    ruled = iv.rule(w.ctx, agent, number, iv.RulingInput(reasons=REASONS))
    assert ruled.rulings[-1].liability == "buyer", ruled.rulings[-1]
    return number, ruled


def order_number(ctx: Context, number: str) -> str:
    return svc.get_case(ctx, AUDITOR, number).order_number


def load_case(ctx: Context, number: str) -> Any:
    with ctx.db.read() as conn:
        return case_store.load_case(conn, number)
