"""The agent queue, through the services on SQLite and PostgreSQL: open interventions,
pending merchant appeals and pending R15 reports, soonest deadline first; an agent takes an
item, another agent cannot take it from them, an admin may hand it to anyone."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aftersales.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from aftersales.services import interventions as iv
from aftersales.services import queue as q
from aftersales.services import reports
from aftersales.services.context import Context
from aftersales.store import catalog as catalog_store
from tests.arbitration.support import (
    ADMIN,
    AGENT,
    OTHER_AGENT,
    REASONS,
    agent_account,
    buyer_wins,
    escalated,
    rules,
    to_evidence_due,
)
from tests.conftest import FakeClock
from tests.factories import World, make_world

K = q.ItemKind


def _code(w: World) -> str:
    with w.ctx.db.read() as conn:
        return catalog_store.shop_code(conn, w.shop_id)


def _fm_report(w: World) -> reports.ForceMajeureView:
    today = w.ctx.now().date()
    return reports.file_force_majeure(
        w.ctx,
        w.merchant,
        _code(w),
        kind=reports.EventKind.SNOWSTORM,
        regions=["CN-BJ"],
        starts_on=today - timedelta(days=1),
        ends_on=today + timedelta(days=1),
        description="Roads closed by snow.",
    )


def _opened(w: World) -> iv.InterventionView:
    return escalated(w)[1]


# --------------------------------------------------------------------------- listing
def test_queue_lists_waiting_items_soonest_deadline_first(ctx: Context, clock: FakeClock) -> None:
    r = rules(ctx)
    w = make_world(ctx)
    ruled_case, _ = buyer_wins(w, clock)  # ruled: out of the queue
    appeal = iv.appeal(
        ctx, w.merchant, ruled_case, grounds="misjudgment", statement="We did answer.", evidence=[]
    )
    fm = _fm_report(w)
    clock.advance(hours=1)
    opened = _opened(w)
    clock.advance(hours=1)
    br = reports.file_buyer_report(
        ctx, w.merchant, _code(w), reason="Claims every kettle leaks.", case_numbers=[ruled_case]
    )

    items = q.agent_queue(ctx, AGENT)

    got = [(i.kind, i.id) for i in items]
    assert got == [
        (K.FORCE_MAJEURE, fm.id),
        (K.INTERVENTION, opened.id),
        (K.BUYER_REPORT, br.id),
        (K.APPEAL, appeal.id),
    ]
    by_kind = {i.kind: i for i in items}
    assert by_kind[K.INTERVENTION].due_at == opened.ruling_due
    assert by_kind[K.INTERVENTION].case_number == opened.case_number
    assert by_kind[K.INTERVENTION].merchant_response_due == opened.merchant_response_due
    assert by_kind[K.INTERVENTION].evidence_due == opened.evidence_due
    assert by_kind[K.APPEAL].due_at == appeal.decide_by
    assert by_kind[K.APPEAL].case_number == ruled_case
    assert by_kind[K.FORCE_MAJEURE].due_at == fm.created_at + timedelta(hours=r.report_review_hours)
    assert [i.due_at for i in items] == sorted(i.due_at for i in items)
    assert not any(i.overdue for i in items)
    assert all(i.shop == _code(w) and i.assigned_agent is None for i in items)
    assert [i.kind for i in q.agent_queue(ctx, AGENT, kind=K.APPEAL)] == [K.APPEAL]

    clock.now = opened.ruling_due
    overdue = {i.kind: i.overdue for i in q.agent_queue(ctx, AGENT)}
    assert overdue[K.INTERVENTION] and overdue[K.FORCE_MAJEURE] and not overdue[K.APPEAL]


def test_queue_drops_ruled_and_decided_items(ctx: Context, clock: FakeClock) -> None:
    w = make_world(ctx)
    number, opened = escalated(w)
    assert [i.id for i in q.agent_queue(ctx, AGENT, kind=K.INTERVENTION)] == [opened.id]
    to_evidence_due(clock, opened)
    iv.rule(ctx, AGENT, number, iv.RulingInput(reasons=REASONS))
    assert q.agent_queue(ctx, AGENT, kind=K.INTERVENTION) == []
    appeal = iv.appeal(
        ctx, w.merchant, number, grounds="misjudgment", statement="We did answer.", evidence=[]
    )
    assert [i.id for i in q.agent_queue(ctx, AGENT, kind=K.APPEAL)] == [appeal.id]
    iv.decide_appeal(ctx, OTHER_AGENT, appeal.id, uphold=False, note="No.")
    assert q.agent_queue(ctx, AGENT) == []


def test_queue_is_for_platform_agents_only(ctx: Context) -> None:
    w = make_world(ctx)
    opened = _opened(w)
    for actor in (w.buyer, w.merchant):
        with pytest.raises(Forbidden):
            q.agent_queue(ctx, actor)
        with pytest.raises(Forbidden):
            q.assign(ctx, actor, K.INTERVENTION, opened.id)


# --------------------------------------------------------------------------- taking
def test_queue_an_agent_takes_an_item(ctx: Context) -> None:
    w = make_world(ctx)
    opened = _opened(w)
    other = _opened(w)

    taken = q.assign(ctx, AGENT, K.INTERVENTION, opened.id)

    assert (taken.assigned_agent, taken.assigned_at) == (AGENT.id, ctx.now())
    assert iv.get_intervention(ctx, AGENT, opened.case_number).assigned_agent == AGENT.id
    assert [i.id for i in q.agent_queue(ctx, AGENT, mine=True)] == [opened.id]
    assert q.agent_queue(ctx, OTHER_AGENT, mine=True) == []
    assert [i.id for i in q.agent_queue(ctx, OTHER_AGENT, unassigned=True)] == [other.id]
    assert q.assign(ctx, AGENT, K.INTERVENTION, opened.id) == taken  # taking it again: no-op


def test_queue_another_agent_taking_a_held_item_gets_conflict(ctx: Context) -> None:
    w = make_world(ctx)
    opened = _opened(w)
    q.assign(ctx, AGENT, K.INTERVENTION, opened.id)

    with pytest.raises(Conflict) as err:
        q.assign(ctx, OTHER_AGENT, K.INTERVENTION, opened.id)
    assert err.value.code == "queue.taken"
    with pytest.raises(Conflict):  # nor release it
        q.assign(ctx, OTHER_AGENT, K.INTERVENTION, opened.id, release=True)

    (item,) = q.agent_queue(ctx, OTHER_AGENT)
    assert item.assigned_agent == AGENT.id


def test_queue_the_holder_releases_an_item(ctx: Context) -> None:
    w = make_world(ctx)
    opened = _opened(w)
    q.assign(ctx, AGENT, K.INTERVENTION, opened.id)
    released = q.assign(ctx, AGENT, K.INTERVENTION, opened.id, release=True)
    assert released.assigned_agent is None and released.assigned_at is None
    assert q.assign(ctx, OTHER_AGENT, K.INTERVENTION, opened.id).assigned_agent == OTHER_AGENT.id


def test_queue_an_admin_reassigns(ctx: Context) -> None:
    w = make_world(ctx)
    opened = _opened(w)
    q.assign(ctx, AGENT, K.INTERVENTION, opened.id)
    colleague = agent_account(ctx, "colleague")

    moved = q.assign(ctx, ADMIN, K.INTERVENTION, opened.id, to_account=colleague.account_id)

    assert moved.assigned_agent == colleague.id
    assert [i.id for i in q.agent_queue(ctx, colleague, mine=True)] == [opened.id]
    assert q.agent_queue(ctx, AGENT, mine=True) == []
    # only an admin hands items to others, and only to agent accounts
    with pytest.raises(ValidationFailed) as err:
        q.assign(ctx, colleague, K.INTERVENTION, opened.id, to_account=colleague.account_id)
    assert err.value.code == "queue.assign_others"
    with pytest.raises(ValidationFailed) as err:
        q.assign(ctx, ADMIN, K.INTERVENTION, opened.id, to_account=999_999)
    assert err.value.code == "queue.not_an_agent"


def test_queue_unknown_items_are_not_found(ctx: Context, clock: FakeClock) -> None:
    w = make_world(ctx)
    opened = _opened(w)
    with pytest.raises(NotFound):
        q.assign(ctx, AGENT, K.APPEAL, opened.id)  # the id of an intervention, not an appeal
    with pytest.raises(NotFound):
        q.assign(ctx, AGENT, K.INTERVENTION, opened.id + 1000)
