"""The agent queue: everything waiting for a platform agent (open interventions, merchant
appeals, force-majeure and malicious-buyer reports, negative-review appeals), ordered by
the deadline it must be handled by, with who has taken it, so nothing misses its deadline
unseen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection

from aftersales.domain import machine
from aftersales.domain.accounts import AccountKind
from aftersales.domain.errors import Conflict, NotFound, ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.services import reviews
from aftersales.services.actors import Actor, require_agent
from aftersales.services.context import Context
from aftersales.store import accounts as account_store
from aftersales.store import agent_queue as queue_store
from aftersales.store import catalog as catalog_store
from aftersales.store import interventions as store


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


Found = tuple[ItemKind, Any, datetime]  # (kind, row, the agent's deadline)


def _collect(
    ctx: Context, conn: Connection, now: datetime, kind: ItemKind | None = None
) -> list[Found]:
    """Every item waiting for an agent (of one kind, when named: only its query runs)."""
    wanted = {kind} if kind is not None else set(ItemKind)
    out: list[Found] = []
    if ItemKind.INTERVENTION in wanted:
        out += [(ItemKind.INTERVENTION, r, r.ruling_due) for r in store.open_interventions(conn)]
    if ItemKind.APPEAL in wanted:
        out += [(ItemKind.APPEAL, r, r.decide_by) for r in store.pending_merchant_appeals(conn)]
    review_hours: dict[int, int] = {}  # per shop: its profile's report_review_hours
    for pending, k in (
        (queue_store.pending_force_majeure, ItemKind.FORCE_MAJEURE),
        (queue_store.pending_buyer_reports, ItemKind.BUYER_REPORT),
    ):
        if k not in wanted:
            continue
        for row in pending(conn):
            if row.shop_id not in review_hours:
                shop = catalog_store.get_shop(conn, row.shop_id)
                assert shop is not None
                profile = ctx.profiles.current_for(conn, shop.profile_id, now)
                review_hours[row.shop_id] = machine.intervention_rules(profile).report_review_hours
            out.append((k, row, row.created_at + timedelta(hours=review_hours[row.shop_id])))
    if ItemKind.REVIEW_APPEAL in wanted:  # R12.3
        out += [
            (ItemKind.REVIEW_APPEAL, r, r.decide_by) for r in reviews.pending_review_appeals(conn)
        ]
    return out


def _items(conn: Connection, found: list[Found], now: datetime) -> list[QueueItem]:
    """Queue items with their shop, case number and holder, soonest deadline first."""
    by_kind: dict[ItemKind, list[int]] = {}
    for k, row, _ in found:
        by_kind.setdefault(k, []).append(row.id)
    held = {k: store.assignees(conn, k.value, ids) for k, ids in by_kind.items()}
    on_case = (ItemKind.INTERVENTION, ItemKind.APPEAL)
    case_ids = [row.case_id for k, row, _ in found if k in on_case]
    numbers = queue_store.case_numbers(conn, case_ids)
    shops: dict[int, str] = {}
    items = []
    for k, row, due in found:
        who = held[k].get(row.id)
        agent = who.agent if who is not None else None
        if row.shop_id not in shops:
            shops[row.shop_id] = catalog_store.shop_code(conn, row.shop_id)
        is_round = k is ItemKind.INTERVENTION
        items.append(
            QueueItem(
                kind=k,
                id=row.id,
                shop=shops[row.shop_id],
                case_number=numbers.get(row.case_id) if k in on_case else None,
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
    return items


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
    require_agent(actor)
    now = ctx.now()
    with ctx.db.read() as conn:
        items = _items(conn, _collect(ctx, conn, now, kind), now)
    if mine:
        items = [i for i in items if i.assigned_agent == actor.id]
    if unassigned:
        items = [i for i in items if i.assigned_agent is None]
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
    require_agent(actor)
    now = ctx.now()
    with ctx.db.write() as conn:
        found = [f for f in _collect(ctx, conn, now, kind) if f[1].id == item_id]
        if not found:
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
        return _items(conn, found, now)[0]
