"""The agent queue: everything waiting for a platform agent (open interventions, merchant
appeals, force-majeure and malicious-buyer reports, negative-review appeals), ordered by
the deadline it must be handled by, with who has taken it, so nothing misses its deadline
unseen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, select

from aftersales.domain import machine
from aftersales.domain.accounts import AccountKind
from aftersales.domain.errors import Conflict, NotFound, ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.services import reviews
from aftersales.services.actors import Actor
from aftersales.services.context import Context
from aftersales.services.interventions import _require_agent
from aftersales.store import accounts as account_store
from aftersales.store import interventions as store
from aftersales.store import repo
from aftersales.store.schema import buyer_reports, cases, force_majeure_reports


class ItemKind(StrEnum):
    INTERVENTION = "intervention"  # R9: rule by the ruling deadline
    APPEAL = "appeal"  # R12.1: a merchant's appeal
    FORCE_MAJEURE = "force_majeure"  # R15.1
    BUYER_REPORT = "buyer_report"  # R15.2
    REVIEW_APPEAL = "review_appeal"  # R12.3


KIND_LABELS: dict[ItemKind, str] = {
    ItemKind.INTERVENTION: N_("Intervention"),
    ItemKind.APPEAL: N_("Merchant appeal"),
    ItemKind.FORCE_MAJEURE: N_("Force-majeure report"),
    ItemKind.BUYER_REPORT: N_("Malicious-buyer report"),
    ItemKind.REVIEW_APPEAL: N_("Negative-review appeal"),
}


@dataclass(frozen=True, slots=True)
class QueueItem:
    kind: ItemKind
    id: int
    shop: str
    case_number: str | None
    due_at: datetime  # the agent's deadline
    overdue: bool
    assigned_agent: str | None
    assigned_at: datetime | None
    # the parties' own deadlines on an intervention (R9.3), for the agent's eye
    merchant_response_due: datetime | None = None
    evidence_due: datetime | None = None
    urgent: bool = False


def _profile_rules(ctx: Context, conn: Connection, shop_id: int, now: datetime) -> Any:
    shop = repo.get_shop(conn, shop_id)
    assert shop is not None
    return machine.intervention_rules(ctx.profiles.current_for(conn, shop.profile_id, now))


def _collect(ctx: Context, conn: Connection, now: datetime) -> list[tuple[ItemKind, Any, Any]]:
    """(kind, row, due) for every item waiting for an agent."""
    out: list[tuple[ItemKind, Any, Any]] = []
    for row in store.open_interventions(conn):
        out.append((ItemKind.INTERVENTION, row, row.ruling_due))
    for row in store.pending_merchant_appeals(conn):
        out.append((ItemKind.APPEAL, row, row.decide_by))
    for table, kind in (
        (force_majeure_reports, ItemKind.FORCE_MAJEURE),
        (buyer_reports, ItemKind.BUYER_REPORT),
    ):
        for row in conn.execute(select(table).where(table.c.status == "pending")):
            hours = _profile_rules(ctx, conn, row.shop_id, now).report_review_hours
            out.append((kind, row, row.created_at + timedelta(hours=hours)))
    for row in reviews.pending_review_appeals(conn):  # R12.3
        out.append((ItemKind.REVIEW_APPEAL, row, row.decide_by))
    return out


def _case_numbers(conn: Connection, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = conn.execute(select(cases.c.id, cases.c.number).where(cases.c.id.in_(list(ids))))
    return {r.id: r.number for r in rows}


def agent_queue(
    ctx: Context,
    actor: Actor,
    *,
    mine: bool = False,
    unassigned: bool = False,
    kind: ItemKind | None = None,
    limit: int = 200,
) -> list[QueueItem]:
    """Items waiting for an agent, soonest deadline first (overdue ones first of all)."""
    _require_agent(actor)
    now = ctx.now()
    with ctx.db.read() as conn:
        found = [c for c in _collect(ctx, conn, now) if kind is None or c[0] is kind]
        by_kind: dict[ItemKind, list[int]] = {}
        for k, row, _ in found:
            by_kind.setdefault(k, []).append(row.id)
        assigned = {k: store.assignees(conn, k.value, ids) for k, ids in by_kind.items()}
        numbers = _case_numbers(
            conn, {row.case_id for _, row, _ in found if hasattr(row, "case_id")}
        )
        shops: dict[int, str] = {}
        items = []
        for k, row, due in found:
            who = assigned[k].get(row.id)
            agent = who.agent if who is not None else None
            if mine and agent != actor.id:
                continue
            if unassigned and agent is not None:
                continue
            if row.shop_id not in shops:
                shops[row.shop_id] = repo.shop_code(conn, row.shop_id)
            is_round = k is ItemKind.INTERVENTION
            items.append(
                QueueItem(
                    kind=k,
                    id=row.id,
                    shop=shops[row.shop_id],
                    case_number=numbers.get(row.case_id) if hasattr(row, "case_id") else None,
                    due_at=due,
                    overdue=now >= due,
                    assigned_agent=agent,
                    assigned_at=who.assigned_at if who is not None and agent else None,
                    merchant_response_due=row.merchant_response_due if is_round else None,
                    evidence_due=row.evidence_due if is_round else None,
                    urgent=bool(row.urgent) if is_round else False,
                )
            )
        items.sort(key=lambda i: (i.due_at, i.kind.value, i.id))
        return items[:limit]


def assign(
    ctx: Context,
    actor: Actor,
    kind: ItemKind,
    item_id: int,
    *,
    to_account: int | None = None,
    release: bool = False,
) -> QueueItem:
    """An agent takes an item (or releases one it holds). An item another agent holds is
    not taken over silently (409); an admin may hand any item to any agent."""
    _require_agent(actor)
    now = ctx.now()
    with ctx.db.write() as conn:
        items = {(k, row.id): row for k, row, _ in _collect(ctx, conn, now)}
        if (kind, item_id) not in items:
            raise NotFound(
                "queue.not_found",
                N_("No {kind} {id} is waiting in the queue."),
                kind=kind.value,
                id=item_id,
            )
        current = store.assignees(conn, kind.value, [item_id]).get(item_id)
        holder = current.agent if current is not None else None
        target: str | None = actor.id
        if to_account is not None:
            if not actor.is_admin:
                raise ValidationFailed(
                    "queue.assign_others",
                    N_("Only an admin hands an item to another agent."),
                    field="agent_account_id",
                )
            row = account_store.account_by_id(conn, to_account)
            if row is None or row.kind not in (AccountKind.AGENT.value, AccountKind.ADMIN.value):
                raise ValidationFailed(
                    "queue.not_an_agent",
                    N_("Account {id} is not a platform agent."),
                    field="agent_account_id",
                    id=to_account,
                )
            target = f"account:{to_account}"
        if release:
            target = None
        if holder is not None and holder != actor.id and not actor.is_admin:
            raise Conflict(
                "queue.taken",
                N_("Agent {agent} already has this item."),
                agent=holder,
            )
        if holder != target:
            store.assign(
                conn, kind=kind.value, item_id=item_id, agent=target, by=actor.id or "", now=now
            )
    found = [i for i in agent_queue(ctx, actor, kind=kind, limit=100000) if i.id == item_id]
    return found[0]
