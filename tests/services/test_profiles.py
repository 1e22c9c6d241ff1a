"""Profile versions are frozen: a case keeps the (id, version) it was opened under, even
after the operator ships a new version; a changed body under an old version is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from aftersales.domain.case_types import CaseType, State
from aftersales.domain.errors import ValidationFailed
from aftersales.domain.policy import Profile
from aftersales.profiles import load_profiles
from aftersales.services import cases as svc
from aftersales.services.context import Context, ProfileChanged, ProfileStore
from aftersales.store.schema import policy_profiles
from tests.factories import make_world
from tests.services.support import run_worker, view


def _v2(v1: Profile) -> Profile:
    """The next version with different R5.1 and R5.3 numbers."""
    h = v1.handling
    handling = h.model_copy(
        update={
            "merchant_response_hours": h.merchant_response_hours * 2,
            "buyer_ship_return_days": h.buyer_ship_return_days + 3,
        }
    )
    return v1.model_copy(update={"version": v1.version + 1, "handling": handling})


def _fresh_context(ctx: Context, **current: Profile) -> Context:
    """What a restarted process sees: new profile files, nothing cached."""
    return Context(ctx.db, ProfileStore({**load_profiles(), **current}), ctx.settings, ctx.clock)


def _open_in(ctx: Context, w) -> str:
    """Open a return request through ``ctx`` (a context other than the world's)."""
    order = w.order()
    return svc.open_case(
        ctx,
        w.buyer,
        order_number=order,
        type=CaseType.RETURN_REFUND,
        lines=[svc.LineRequest(w.line_id(order), 1)],
        reason="changed_mind",
        amount=10_000,
    ).number


def _stored_versions(ctx: Context) -> list[tuple[str, int]]:
    with ctx.db.read() as conn:
        q = select(policy_profiles.c.profile_id, policy_profiles.c.version).order_by(
            policy_profiles.c.profile_id, policy_profiles.c.version
        )
        return [(r.profile_id, r.version) for r in conn.execute(q)]


def test_R5_a_case_keeps_its_profile_version_after_a_new_version_ships(ctx, clock):
    w = make_world(ctx)
    v1 = ctx.profiles.current["douyin"]
    old_edited = w.open(type=CaseType.RETURN_REFUND, reason="changed_mind")
    old_approved = w.open(type=CaseType.RETURN_REFUND, reason="changed_mind")
    t0 = clock.now

    v2 = _v2(v1)
    ctx.profiles.current["douyin"] = v2
    new = w.open(type=CaseType.RETURN_REFUND, reason="changed_mind")
    assert view(ctx, old_edited).case.profile_version == v1.version
    assert view(ctx, new).case.profile_version == v2.version
    assert view(ctx, new).case.deadline_at == t0 + timedelta(
        hours=v2.handling.merchant_response_hours
    )
    assert _stored_versions(ctx) == [("douyin", v1.version), ("douyin", v2.version)]

    # State changes of old cases plan their deadlines with v1 numbers.
    clock.advance(hours=1)
    edited = svc.edit_request(ctx, w.buyer, old_edited, description="photos added")
    assert edited.deadline_at == clock.now + timedelta(hours=v1.handling.merchant_response_hours)
    approved = svc.approve_return(ctx, w.merchant, old_approved)
    assert approved.deadline_at == clock.now + timedelta(days=v1.handling.buyer_ship_return_days)
    approved_new = svc.approve_return(ctx, w.merchant, new)
    assert approved_new.deadline_at == clock.now + timedelta(
        days=v2.handling.buyer_ship_return_days
    )

    # The v1 merchant deadline fires on time; the worker does not wait for v2's longer one.
    clock.now = edited.deadline_at + timedelta(seconds=1)
    assert run_worker(ctx).fired == 1
    fired = view(ctx, old_edited).case
    assert fired.state is State.AWAITING_RETURN
    assert fired.deadline_at == clock.now + timedelta(days=v1.handling.buyer_ship_return_days)


def test_R5_a_restarted_process_applies_the_stored_version_to_old_cases(ctx, clock):
    w = make_world(ctx)
    v1 = ctx.profiles.current["douyin"]
    old = w.open(type=CaseType.RETURN_REFUND, reason="changed_mind")
    v2 = _v2(v1)
    restarted = _fresh_context(ctx, douyin=v2)

    # The old case's R5.1 deadline fires after v1 hours, under the restarted process.
    clock.advance(hours=v1.handling.merchant_response_hours, seconds=1)
    assert run_worker(restarted).fired == 1
    case = svc.get_case(restarted, w.merchant, old).case
    assert case.state is State.AWAITING_RETURN
    assert case.deadline_at == clock.now + timedelta(days=v1.handling.buyer_ship_return_days)

    new = restarted.profiles.current["douyin"]
    assert new.version == v2.version
    opened = svc.get_case(restarted, w.buyer, _open_in(restarted, w)).case
    assert opened.profile_version == v2.version
    assert opened.deadline_at == clock.now + timedelta(hours=v2.handling.merchant_response_hours)


def test_R5_a_changed_body_without_a_version_bump_is_refused(ctx, clock):
    w = make_world(ctx)
    v1 = ctx.profiles.current["douyin"]
    old = w.open(type=CaseType.RETURN_REFUND, reason="changed_mind")  # stores v1
    h = v1.handling
    tampered = v1.model_copy(
        update={
            "handling": h.model_copy(
                update={"merchant_response_hours": h.merchant_response_hours + 1}
            )
        }
    )
    assert tampered.version == v1.version
    restarted = _fresh_context(ctx, douyin=tampered)

    with pytest.raises(ProfileChanged), ctx.db.write() as conn:
        restarted.profiles.current_for(conn, "douyin", ctx.now())
    with pytest.raises(ProfileChanged):
        _open_in(restarted, w)
    assert _stored_versions(ctx) == [("douyin", v1.version)]
    # Old cases still act on the stored copy of v1.
    case = svc.approve_return(restarted, w.merchant, old)
    assert case.deadline_at == clock.now + timedelta(days=h.buyer_ship_return_days)


def test_R5_the_profile_version_is_stored_even_if_the_first_open_was_refused(ctx):
    """The process's first open is refused and rolled back, storing of the profile version
    with it; the next open must store it, or a restarted process cannot act on its cases."""
    w = make_world(ctx)
    with pytest.raises(ValidationFailed):
        w.open(type=CaseType.RETURN_REFUND, reason="changed_mind", amount=10**9)
    number = w.open(type=CaseType.RETURN_REFUND, reason="changed_mind")
    assert _stored_versions(ctx) == [("douyin", ctx.profiles.current["douyin"].version)]
    case = svc.approve_return(_fresh_context(ctx), w.merchant, number)
    assert case.state is State.AWAITING_RETURN
