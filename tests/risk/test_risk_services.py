"""R15.2 through the services, on SQLite and PostgreSQL: the facts are read from real
orders, requests (with their opening evidence) and malicious-buyer reports, and every
number comes from the policy profile."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aftersales.domain.accounts import AccountKind
from aftersales.domain.case_types import ActorKind
from aftersales.domain.errors import NotFound
from aftersales.domain.policy import EvidenceKind, RiskLevel
from aftersales.services import risk as risk_svc
from aftersales.services.actors import Actor
from aftersales.services.context import Context
from tests.conftest import FakeClock
from tests.risk.support import AGENT, make_shopper, rules, with_rules


def signals(view: risk_svc.RiskView) -> dict[str, int]:
    return {s.name: s.points for s in view.assessment.signals}


def test_R15_2_new_account_without_purchases_raises_risk(ctx: Context) -> None:
    r = rules(ctx)
    buyer = make_shopper(ctx, registered_ago=timedelta(days=r.new_account_days - 1))
    view = buyer.view()
    assert view.facts.account_age_days == r.new_account_days - 1
    assert view.facts.earlier_paid_orders == 0
    assert signals(view) == {
        "new_account": r.weights["new_account"],
        "no_purchase_history": r.weights["no_purchase_history"],
    }
    expected = r.weights["new_account"] + r.weights["no_purchase_history"]
    assert view.assessment.score == expected
    assert view.assessment.level.rank >= RiskLevel.MEDIUM.rank  # the shipped thresholds
    assert (view.profile_id, view.order_number) == ("douyin", None)


def test_R15_2_earlier_purchases_and_an_old_account_are_low_risk(ctx: Context) -> None:
    r = rules(ctx)
    buyer = make_shopper(ctx)
    for days in range(r.min_purchase_history):
        buyer.order(paid_ago=timedelta(days=60 + days))
    latest = buyer.order()
    view = buyer.view()
    assert view.order_number == latest
    assert view.facts.earlier_paid_orders == r.min_purchase_history
    assert (view.assessment.level, view.assessment.signals) == (RiskLevel.LOW, ())
    # The order assessed is not its own history: as of its payment only earlier ones count.
    with ctx.db.read() as conn:
        first = risk_svc.facts_in(
            conn, ctx.profiles.current["douyin"], buyer.buyer_id, ctx.now(), buyer.order_id(latest)
        )
    assert first.earlier_paid_orders == r.min_purchase_history


def test_R15_2_account_age_falls_back_to_when_the_buyer_was_first_seen(ctx: Context) -> None:
    r = rules(ctx)
    buyer = make_shopper(ctx, registered_ago=None, created_ago=timedelta(days=2))
    assert buyer.view().facts.account_age_days == 2
    assert "new_account" in signals(buyer.view())
    old = make_shopper(
        ctx, registered_ago=timedelta(days=r.new_account_days), created_ago=timedelta(days=1)
    )
    assert old.view().facts.account_age_days == r.new_account_days
    assert "new_account" not in signals(old.view())


def test_R15_2_many_units_of_one_item_in_the_order_assessed(ctx: Context) -> None:
    r = rules(ctx)
    buyer = make_shopper(ctx)
    buyer.order(paid_ago=timedelta(days=60))
    split = buyer.order(
        quantity=r.many_units_of_one_item - 1, other_quantity=r.many_units_of_one_item - 1
    )
    profile = ctx.profiles.current["douyin"]
    with ctx.db.read() as conn:
        facts = risk_svc.facts_in(conn, profile, buyer.buyer_id, ctx.now(), buyer.order_id(split))
    assert facts.max_units_of_one_item == r.many_units_of_one_item - 1  # per item, not summed
    bulk = buyer.order(quantity=r.many_units_of_one_item)
    with ctx.db.read() as conn:
        a = risk_svc.assess_in(conn, profile, buyer.buyer_id, ctx.now(), buyer.order_id(bulk))
        without = risk_svc.assess_in(conn, profile, buyer.buyer_id, ctx.now())
    assert [s.name for s in a.signals] == ["many_units_of_one_item"]
    assert a.score == r.weights["many_units_of_one_item"]
    assert without.signals == ()  # no order assessed: no order to count units in
    assert signals(buyer.view()) == {"many_units_of_one_item": a.score}  # the latest order


def test_R15_2_frequent_refunds_count_requests_inside_the_window_only(
    ctx: Context, clock: FakeClock
) -> None:
    r = rules(ctx)
    buyer = make_shopper(ctx)
    now = clock.now
    clock.now = now - timedelta(days=r.refund_history_days, minutes=1)  # just outside
    for _ in range(r.frequent_refund_requests):
        buyer.request()
    clock.now = now
    view = buyer.view()
    assert view.facts.requests_in_window == 0
    assert "frequent_refunds" not in signals(view)
    for _ in range(r.frequent_refund_requests - 1):
        buyer.request()
    assert buyer.view().facts.requests_in_window == r.frequent_refund_requests - 1
    assert "frequent_refunds" not in signals(buyer.view())
    buyer.request()
    view = buyer.view()
    assert view.facts.requests_in_window == r.frequent_refund_requests
    assert signals(view)["frequent_refunds"] == r.weights["frequent_refunds"]
    # Replayed a day earlier, the window holds the old requests, not those opened since.
    with ctx.db.read() as conn:
        earlier = risk_svc.facts_in(
            conn, ctx.profiles.current["douyin"], buyer.buyer_id, now - timedelta(days=1)
        )
    assert earlier.requests_in_window == r.frequent_refund_requests


def test_R15_2_vague_compensation_demands_need_a_merchant_side_reason_and_no_details(
    ctx: Context,
) -> None:
    r = rules(ctx)
    buyer = make_shopper(ctx)
    blank = " \n\u3000 "
    buyer.request(reason="changed_mind", description="")  # no-reason: not a demand
    buyer.request(reason="not_as_described", description="The mug is blue, listed as red.")
    assert buyer.view().facts.vague_compensation_demands == 0
    buyer.request(reason="not_received", description=blank)  # merchant-side, blank
    buyer.request(
        reason="not_as_described", description="x" * r.vague_description_max_chars
    )  # near-blank: at the profile's limit
    view = buyer.view()
    assert view.facts.vague_compensation_demands == 2
    assert signals(view)["vague_compensation_demands"] == r.weights["vague_compensation_demands"]
    (signal,) = [s for s in view.assessment.signals if s.name == "vague_compensation_demands"]
    assert signal.params["count"] == 2
    assert signal.params["chars"] == r.vague_description_max_chars


def test_R15_2_quality_claim_without_a_photo_counts_as_refusing_photos(ctx: Context) -> None:
    r = rules(ctx)
    buyer = make_shopper(ctx)
    detail = "The handle came off on the first day."
    buyer.request(reason="defect", description=detail, evidence=[EvidenceKind.PHOTO])
    buyer.request(
        reason="damaged_in_transit", description=detail, evidence=[EvidenceKind.UNBOXING_VIDEO]
    )
    buyer.request(reason="not_received", description=detail)  # nothing to photograph
    buyer.request(reason="changed_mind", description=detail)
    assert buyer.view().facts.claims_without_photo == 0
    buyer.request(reason="defect", description=detail)
    buyer.request(reason="wrong_item", description=detail, evidence=[EvidenceKind.CHAT_LOG])
    view = buyer.view()
    assert view.facts.claims_without_photo == 2
    assert signals(view)["refused_photos"] == r.weights["refused_photos"]


def test_R15_2_confirmed_report_raises_the_level_to_the_profiles_level(ctx: Context) -> None:
    r = rules(ctx)
    buyer = make_shopper(ctx)
    buyer.order(paid_ago=timedelta(days=60))
    buyer.order()
    assert buyer.view().assessment.level is RiskLevel.LOW
    buyer.report("confirmed")
    view = buyer.view()
    assert view.facts.confirmed_reports == 1
    assert view.assessment.level is r.confirmed_report_level
    assert view.assessment.score == 0
    (signal,) = view.assessment.signals
    assert (signal.name, signal.raises_to) == ("confirmed_malicious_report", view.assessment.level)
    # Any shop's confirmed report counts, and a report reviewed after the moment does not.
    with ctx.db.read() as conn:
        before = risk_svc.assess_in(
            conn, ctx.profiles.current["douyin"], buyer.buyer_id, ctx.now() - timedelta(hours=1)
        )
    assert before.level is RiskLevel.LOW


def test_R15_2_pending_or_rejected_report_does_not_raise_the_level(ctx: Context) -> None:
    buyer = make_shopper(ctx)
    buyer.order(paid_ago=timedelta(days=60))
    buyer.order()
    buyer.report("pending")
    buyer.report("rejected")
    view = buyer.view()
    assert view.facts.confirmed_reports == 0
    assert (view.assessment.level, view.assessment.signals) == (RiskLevel.LOW, ())


def test_R15_2_numbers_come_from_the_profile_not_the_code(ctx: Context) -> None:
    """The same history under a changed copy of the profile: other thresholds, other level."""
    buyer = make_shopper(ctx)
    buyer.order(paid_ago=timedelta(days=60))
    buyer.request()
    buyer.request()
    shipped = ctx.profiles.current["douyin"]
    changed = with_rules(
        shipped,
        frequent_refund_requests=2,
        refund_history_days=30,
        new_account_days=500,
        weights={"frequent_refunds": 3, "new_account": 5},
        medium_at=3,
        high_at=8,
        confirmed_report_level=RiskLevel.MEDIUM,
    )
    with ctx.db.read() as conn:
        base = risk_svc.assess_in(conn, shipped, buyer.buyer_id, ctx.now())
        a = risk_svc.assess_in(conn, changed, buyer.buyer_id, ctx.now())
    assert (base.level, base.signals) == (RiskLevel.LOW, ())
    assert {s.name: s.points for s in a.signals} == {"new_account": 5, "frequent_refunds": 3}
    assert (a.score, a.level) == (8, RiskLevel.HIGH)
    # The agents' view reads the current profile of the shop: swap it and the view follows.
    ctx.profiles.current["douyin"] = changed
    view = buyer.view()
    assert (view.assessment.score, view.rules.high_at) == (8, 8)
    buyer.report("confirmed")
    lower = with_rules(changed, weights={"frequent_refunds": 0, "new_account": 0})
    ctx.profiles.current["douyin"] = lower
    assert buyer.view().assessment.level is RiskLevel.MEDIUM


def test_R15_2_agents_view_uses_the_latest_orders_shop_profile(ctx: Context) -> None:
    buyer = make_shopper(ctx)
    tiktok_buyer = make_shopper(ctx, profile_id="tiktok")
    # The same buyer's latest order is in a tiktok shop.
    buyer.shop_id, buyer.product_id = tiktok_buyer.shop_id, tiktok_buyer.product_id
    buyer.shop_code = tiktok_buyer.shop_code
    latest = buyer.order()
    ctx.profiles.current["tiktok"] = with_rules(
        ctx.profiles.current["tiktok"], min_purchase_history=3
    )
    view = buyer.view()
    assert (view.profile_id, view.order_number) == ("tiktok", latest)
    assert signals(view) == {
        "no_purchase_history": rules(ctx, "tiktok").weights["no_purchase_history"]
    }


def test_R7_1_assess_in_sees_the_callers_uncommitted_writes(ctx: Context) -> None:
    """The express-refund check runs inside the transaction of the action it guards."""
    buyer = make_shopper(ctx)
    buyer.order(paid_ago=timedelta(days=60))
    buyer.order()
    profile = ctx.profiles.current["douyin"]
    from aftersales.store import risk as risk_store

    with pytest.raises(RuntimeError, match="rolled back"), ctx.db.write() as conn:
        rid = risk_store.insert_report(
            conn, shop_id=buyer.shop_id, buyer_id=buyer.buyer_id, reason="r", now=ctx.now()
        )
        risk_store.set_report_status(conn, rid, "confirmed", now=ctx.now(), reviewed_by="a")
        inside = risk_svc.assess_in(conn, profile, buyer.buyer_id, ctx.now())
        assert inside.level is rules(ctx).confirmed_report_level
        raise RuntimeError("rolled back")
    assert buyer.view().assessment.level is RiskLevel.LOW


@pytest.mark.parametrize(
    "actor",
    [
        Actor.merchant(1),
        Actor.buyer(1),
        Actor.system("worker"),
        Actor(ActorKind.SYSTEM, "account:9", account_id=9, account_kind=AccountKind.SERVICE),
    ],
    ids=["merchant", "buyer", "system", "service"],
)
def test_R15_2_only_platform_agents_see_a_buyers_risk(ctx: Context, actor: Actor) -> None:
    buyer = make_shopper(ctx)
    with pytest.raises(NotFound) as hidden:
        risk_svc.buyer_risk(ctx, actor, buyer.ref)
    with pytest.raises(NotFound) as missing:
        risk_svc.buyer_risk(ctx, AGENT, "no-such-buyer")
    assert hidden.value.code == missing.value.code == "buyer.not_found"
    assert hidden.value.message == missing.value.message
    admin = Actor(ActorKind.PLATFORM, "account:1", account_id=1, account_kind=AccountKind.ADMIN)
    assert risk_svc.buyer_risk(ctx, admin, buyer.ref).buyer_ref == buyer.ref


def test_R15_2_the_worked_example_of_docs_risk_md(ctx: Context) -> None:
    """A 10-day-old account, first order of 6 mugs, a quality return "坏了" without a photo:
    5 points, high; with details and a photo, 3 points, medium (douyin numbers)."""
    buyer = make_shopper(ctx, registered_ago=timedelta(days=10))
    first = buyer.order(quantity=6)
    buyer.request(reason="defect", description="坏了", order=first)
    profile = ctx.profiles.current["douyin"]
    with ctx.db.read() as conn:
        a = risk_svc.assess_in(conn, profile, buyer.buyer_id, ctx.now(), buyer.order_id(first))
    assert (a.score, a.level) == (5, RiskLevel.HIGH)
    assert a.passes(RiskLevel.LOW) is False

    careful = make_shopper(ctx, registered_ago=timedelta(days=10))
    order = careful.order(quantity=6)
    careful.request(
        reason="defect",
        description="The glaze is cracked along the handle.",
        evidence=[EvidenceKind.PHOTO],
        order=order,
    )
    with ctx.db.read() as conn:
        b = risk_svc.assess_in(conn, profile, careful.buyer_id, ctx.now(), careful.order_id(order))
    assert (b.score, b.level) == (3, RiskLevel.MEDIUM)
