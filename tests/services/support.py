"""Helpers shared by the service-level tests (not tests themselves)."""

from __future__ import annotations

from typing import Any

from aftersales.domain.policy import Handling, Profile
from aftersales.jobs.deadlines import BatchResult, DeadlineWorker
from aftersales.services import cases as svc
from aftersales.services.actors import Actor
from aftersales.services.context import Context
from tests.factories import RETURN_ADDRESS

AUDITOR = Actor.platform("auditor")  # sees every case; used to read without side effects
SHOP_RETURN_ADDRESS = RETURN_ADDRESS  # what tests.factories.make_world configures
CARRIER = Actor.carrier("sf-api")


def profile(ctx: Context, profile_id: str = "douyin") -> Profile:
    return ctx.profiles.current[profile_id]


def handling(ctx: Context, profile_id: str = "douyin") -> Handling:
    return profile(ctx, profile_id).handling


def run_worker(ctx: Context) -> BatchResult:
    return DeadlineWorker(ctx, name="test-worker").run_until_idle()


def view(ctx: Context, number: str) -> svc.CaseView:
    return svc.get_case(ctx, AUDITOR, number)


def snapshot(ctx: Context, number: str) -> dict[str, Any]:
    """Everything an action could change on a case, for 'nothing changed' assertions."""
    v = view(ctx, number)
    c = v.case
    return {
        "state": c.state,
        "version": c.version,
        "reason": c.reason,
        "first_reason": c.first_reason,
        "requested": c.requested,
        "agreed": c.agreed,
        "offer": c.offer,
        "edits": c.edits,
        "return_address": c.return_address,
        "return_shipment": c.return_shipment,
        "replacement_shipment": c.replacement_shipment,
        "deadline_kind": c.deadline_kind,
        "deadline_at": c.deadline_at,
        "timeline": [(e.seq, e.action) for e in v.timeline],
        "refunds": [(r.id, r.amount) for r in v.refunds],
        "deadlines": [(d.id, d.kind, d.status, d.run_at, d.attempts) for d in v.deadlines],
    }


def timeline_rows(v: svc.CaseView) -> list[tuple[str, str, str | None, str | None, str]]:
    return [(e.actor_kind, e.action, e.rule, e.from_state, e.to_state) for e in v.timeline]


def assert_timeline(v: svc.CaseView, expected: list[tuple[Any, ...]]) -> None:
    """One entry per action, in order, each recording who, what, which rule, and the
    before/after of every field it changed."""
    assert timeline_rows(v) == expected
    assert [e.seq for e in v.timeline] == list(range(1, len(expected) + 1))
    for entry in v.timeline:
        assert entry.changes, f"{entry.action} recorded no changes"
        for field, change in entry.changes.items():
            assert set(change) == {"before", "after"}, field
            assert change["before"] != change["after"], field
        if entry.from_state is None:
            assert all(c["before"] is None for c in entry.changes.values())
        elif entry.from_state != entry.to_state:
            assert entry.changes["state"] == {"before": entry.from_state, "after": entry.to_state}
        else:
            assert "state" not in entry.changes


def deadline_statuses(v: svc.CaseView) -> list[tuple[str, str]]:
    return [(d.kind, d.status) for d in v.deadlines]


def system_entries(v: svc.CaseView) -> list[Any]:
    return [e for e in v.timeline if e.actor_kind == "system"]
