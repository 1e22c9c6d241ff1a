"""R15 reports through the services, on SQLite and PostgreSQL: force-majeure reports
(R15.1) cover their regions and days once approved; malicious-buyer reports (R15.2) raise
the buyer's risk and reject the matching pending requests once confirmed. Each review
happens once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from aftersales.domain.accounts import AccountKind, Permission
from aftersales.domain.case_types import ActorKind, State
from aftersales.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from aftersales.domain.policy import RiskLevel
from aftersales.services import cases as cases_svc
from aftersales.services import reports as svc
from aftersales.services import risk as risk_svc
from aftersales.services.actors import Actor
from aftersales.services.context import Context
from aftersales.store import cases as case_store
from aftersales.store import catalog as catalog_store
from tests.factories import make_world
from tests.risk.support import AGENT, make_shopper

SHANGHAI = timedelta(hours=8)


def _code(ctx: Context, shop_id: int) -> str:
    with ctx.db.read() as conn:
        return catalog_store.shop_code(conn, shop_id)


def _file(ctx: Context, shop_id: int, **kw: object) -> svc.ForceMajeureView:
    today = ctx.now().date()
    args: dict[str, object] = {
        "kind": svc.EventKind.SNOWSTORM,
        "regions": ["CN-BJ", "CN-HE"],
        "starts_on": today - timedelta(days=2),
        "ends_on": today + timedelta(days=2),
        "description": "Roads closed by snow; carriers not collecting.",
    }
    args.update(kw)
    return svc.file_force_majeure(ctx, Actor.merchant(shop_id), _code(ctx, shop_id), **args)  # type: ignore[arg-type]


def _covers(ctx: Context, shop_id: int, region: str, moment: datetime) -> bool:
    with ctx.db.read() as conn:
        return svc.force_majeure_covers(conn, shop_id, region, moment)


def _local_midnight(day: date) -> datetime:
    """00:00 of ``day`` in Asia/Shanghai (the shops' time zone here), as UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) - SHANGHAI


# --------------------------------------------------------------------------- R15.1
def test_R15_1_approved_report_covers_its_regions_and_days_only(ctx: Context) -> None:
    w = make_world(ctx)
    report = _file(ctx, w.shop_id)
    assert report.status is svc.FmStatus.PENDING
    reviewed = svc.review_force_majeure(ctx, AGENT, report.id, approve=True, note="Confirmed.")
    assert (reviewed.status, reviewed.reviewed_by) == (svc.FmStatus.APPROVED, AGENT.id)
    first, last = report.starts_on, report.ends_on
    # Both ends inclusive, in the shop's local dates.
    assert _covers(ctx, w.shop_id, "CN-BJ", _local_midnight(first))
    assert _covers(ctx, w.shop_id, "cn-he ", _local_midnight(last) + timedelta(hours=23))
    assert not _covers(ctx, w.shop_id, "CN-BJ", _local_midnight(first) - timedelta(seconds=1))
    assert not _covers(ctx, w.shop_id, "CN-BJ", _local_midnight(last + timedelta(days=1)))
    # Another region, another shop: not covered.
    assert not _covers(ctx, w.shop_id, "CN-SH", ctx.now())
    assert not _covers(ctx, w.other_shop_id, "CN-BJ", ctx.now())


def test_R15_1_pending_and_rejected_reports_cover_nothing(ctx: Context) -> None:
    w = make_world(ctx)
    pending = _file(ctx, w.shop_id)
    rejected = _file(ctx, w.shop_id, regions=["CN-SH"])
    svc.review_force_majeure(ctx, AGENT, rejected.id, approve=False, note="No such event.")
    assert not _covers(ctx, w.shop_id, "CN-BJ", ctx.now())
    assert not _covers(ctx, w.shop_id, "CN-SH", ctx.now())
    assert pending.status is svc.FmStatus.PENDING


def test_R15_1_second_review_is_refused(ctx: Context) -> None:
    w = make_world(ctx)
    report = _file(ctx, w.shop_id)
    svc.review_force_majeure(ctx, AGENT, report.id, approve=False)
    with pytest.raises(Conflict) as err:
        svc.review_force_majeure(ctx, AGENT, report.id, approve=True)
    assert err.value.code == "report.already_reviewed"
    (view,) = svc.list_force_majeure(ctx, AGENT, shop_code=_code(ctx, w.shop_id))
    assert view.status is svc.FmStatus.REJECTED


def test_R15_1_only_platform_agents_review(ctx: Context) -> None:
    w = make_world(ctx)
    report = _file(ctx, w.shop_id)
    with pytest.raises(Forbidden):
        svc.review_force_majeure(ctx, Actor.merchant(w.shop_id), report.id, approve=True)
    for outsider in (Actor.merchant(w.other_shop_id), w.buyer):
        with pytest.raises(NotFound):
            svc.review_force_majeure(ctx, outsider, report.id, approve=True)
    assert not _covers(ctx, w.shop_id, "CN-BJ", ctx.now())


def test_R15_1_a_shop_sees_only_its_own_reports(ctx: Context) -> None:
    w = make_world(ctx)
    mine = _file(ctx, w.shop_id)
    theirs = _file(ctx, w.other_shop_id)
    assert [r.id for r in svc.list_force_majeure(ctx, Actor.merchant(w.shop_id))] == [mine.id]
    with pytest.raises(NotFound):
        svc.list_force_majeure(
            ctx, Actor.merchant(w.shop_id), shop_code=_code(ctx, w.other_shop_id)
        )
    everyone = {r.id for r in svc.list_force_majeure(ctx, AGENT)}
    assert {mine.id, theirs.id} <= everyone
    with pytest.raises(Forbidden):
        svc.list_force_majeure(ctx, w.buyer)


def test_R15_1_a_sub_account_needs_handle_aftersales(ctx: Context) -> None:
    w = make_world(ctx)
    plain = Actor(
        ActorKind.MERCHANT,
        "shop-sub",
        shop_id=w.shop_id,
        account_kind=AccountKind.MERCHANT,
        main=False,
        permissions=frozenset(),
    )
    with pytest.raises(Forbidden):
        svc.file_force_majeure(
            ctx,
            plain,
            _code(ctx, w.shop_id),
            kind=svc.EventKind.FLOOD,
            regions=["CN-GD"],
            starts_on=ctx.now().date(),
            ends_on=ctx.now().date(),
            description="Flood.",
        )
    handler = Actor(
        ActorKind.MERCHANT,
        "shop-sub2",
        shop_id=w.shop_id,
        account_kind=AccountKind.MERCHANT,
        main=False,
        permissions=frozenset({Permission.HANDLE_AFTERSALES}),
    )
    assert svc.list_force_majeure(ctx, handler) == []
    with pytest.raises(Forbidden):  # the platform reviews; it does not file for a shop
        _file_as(ctx, AGENT, w.shop_id)


def _file_as(ctx: Context, actor: Actor, shop_id: int) -> None:
    svc.file_force_majeure(
        ctx,
        actor,
        _code(ctx, shop_id),
        kind=svc.EventKind.OTHER,
        regions=["CN-GD"],
        starts_on=ctx.now().date(),
        ends_on=ctx.now().date(),
        description="Power cut.",
    )


def test_R15_1_window_limits_come_from_the_profile(ctx: Context) -> None:
    w = make_world(ctx)
    rules = svc.rules_of(ctx.profiles.current["douyin"])
    today = ctx.now().date()
    with pytest.raises(ValidationFailed) as err:
        _file(ctx, w.shop_id, ends_on=today + timedelta(days=rules.force_majeure_max_days))
    assert err.value.code == "report.window_too_long"
    longest = _file(
        ctx, w.shop_id, ends_on=today + timedelta(days=rules.force_majeure_max_days - 3)
    )
    assert (longest.ends_on - longest.starts_on).days + 1 == rules.force_majeure_max_days
    with pytest.raises(ValidationFailed) as err:
        _file(
            ctx,
            w.shop_id,
            starts_on=today - timedelta(days=rules.force_majeure_backdate_days + 1),
        )
    assert err.value.code == "report.window_too_old"
    with pytest.raises(ValidationFailed) as err:
        _file(ctx, w.shop_id, ends_on=today - timedelta(days=3))
    assert err.value.code == "report.window_reversed"
    with pytest.raises(ValidationFailed) as err:
        _file(ctx, w.shop_id, regions=[f"R{i}" for i in range(rules.force_majeure_max_regions + 1)])
    assert err.value.code == "report.regions_count"


def test_R15_1_R10_3_the_judgment_signal_reads_the_order_region_when_shipment_was_due(
    ctx: Context,
) -> None:
    w = make_world(ctx)
    now = ctx.now()

    def order(region: str | None, ship_by: datetime) -> int:
        return w.push(
            number=f"FM{region}{ship_by:%d%H}",
            unit_price=1_000,
            paid_at=min(now, ship_by - timedelta(days=2)),  # never paid in the future
            ship_by=ship_by,
            region=region,
        ).order.id

    inside = order("CN-BJ", now)
    elsewhere = order("CN-SH", now)
    after = order("CN-BJ", now + timedelta(days=10))
    unknown = order(None, now)
    report = _file(ctx, w.shop_id)
    with ctx.db.read() as conn:
        assert not svc.force_majeure_for_order(conn, inside)  # pending
    svc.review_force_majeure(ctx, AGENT, report.id, approve=True)
    with ctx.db.read() as conn:
        got = [svc.force_majeure_for_order(conn, o) for o in (inside, elsewhere, after, unknown)]
    assert got == [True, False, False, False]


# --------------------------------------------------------------------------- R15.2
def _pending(ctx: Context, number: str) -> State:
    with ctx.db.read() as conn:
        case = case_store.load_case(conn, number)
    assert case is not None
    return case.state


def test_R15_2_confirmed_report_raises_risk_and_rejects_matching_requests(ctx: Context) -> None:
    shopper = make_shopper(ctx)
    for days in (60, 70):
        shopper.order(paid_ago=timedelta(days=days))
    profile = ctx.profiles.current["douyin"]
    before = risk_svc.buyer_risk(ctx, AGENT, shopper.ref).assessment.level
    assert before is RiskLevel.LOW
    no_reason = shopper.request(reason="changed_mind")
    quality = shopper.request(reason="defect", description="The handle broke off.")
    # Not matching: a logistics claim (the parcel never arrived) is the carrier's record.
    logistics = shopper.request(reason="not_received", description="Nothing arrived.")
    code = _code(ctx, shopper.shop_id)
    merchant = Actor.merchant(shopper.shop_id)
    report = svc.file_buyer_report(
        ctx, merchant, code, reason="Claims every mug is broken.", case_numbers=[quality]
    )
    assert (report.buyer_ref, report.status) == (shopper.ref, svc.BuyerReportStatus.PENDING)
    done = svc.review_buyer_report(ctx, AGENT, report.id, confirm=True, note="Pattern seen.")
    assert done.status is svc.BuyerReportStatus.CONFIRMED
    assert sorted(done.rejected_cases) == sorted([no_reason, quality])
    assert _pending(ctx, no_reason) is State.REJECTED
    assert _pending(ctx, quality) is State.REJECTED
    assert _pending(ctx, logistics) is State.AWAITING_MERCHANT
    with ctx.db.read() as conn:
        level = risk_svc.assess_in(conn, profile, shopper.buyer_id, ctx.now()).level
    assert profile.risk is not None and level is profile.risk.confirmed_report_level
    view = cases_svc.get_case(ctx, AGENT, quality)
    last = view.timeline[-1]
    assert last.action == "reject" and last.actor_id == f"report:{report.id}"
    assert last.rule == "R15.2"  # the rule that rejected it, not R5.5's refusal
    assert last.changes["report"]["after"] == report.id
    assert view.case.refusal_code == "confirmed_malicious_buyer"
    with pytest.raises(Conflict):
        svc.review_buyer_report(ctx, AGENT, report.id, confirm=False)


def test_R15_2_rejected_report_changes_nothing(ctx: Context) -> None:
    shopper = make_shopper(ctx)
    shopper.order(paid_ago=timedelta(days=60))
    pending = shopper.request()
    before = risk_svc.buyer_risk(ctx, AGENT, shopper.ref).assessment
    report = svc.file_buyer_report(
        ctx,
        Actor.merchant(shopper.shop_id),
        _code(ctx, shopper.shop_id),
        reason="Suspicious.",
        buyer_ref=shopper.ref,
    )
    done = svc.review_buyer_report(ctx, AGENT, report.id, confirm=False, note="Not shown.")
    assert (done.status, done.rejected_cases) == (svc.BuyerReportStatus.REJECTED, [])
    assert _pending(ctx, pending) is State.AWAITING_MERCHANT
    after = risk_svc.buyer_risk(ctx, AGENT, shopper.ref).assessment
    assert (after.level, after.score) == (before.level, before.score)


def test_R15_2_a_shop_cannot_report_a_buyer_it_never_sold_to(ctx: Context) -> None:
    shopper = make_shopper(ctx)
    stranger_shop = make_shopper(ctx)
    with pytest.raises(NotFound) as err:
        svc.file_buyer_report(
            ctx,
            Actor.merchant(stranger_shop.shop_id),
            _code(ctx, stranger_shop.shop_id),
            reason="Never met them.",
            buyer_ref=shopper.ref,
        )
    assert err.value.code == "buyer.not_found"
    shopper.order()
    number = shopper.request()
    with pytest.raises(NotFound) as err:  # another shop's case names no buyer
        svc.file_buyer_report(
            ctx,
            Actor.merchant(stranger_shop.shop_id),
            _code(ctx, stranger_shop.shop_id),
            reason="Never met them.",
            case_numbers=[number],
        )
    assert err.value.code == "case.not_found"


def test_R15_2_only_platform_agents_review_and_shops_see_their_own(ctx: Context) -> None:
    shopper = make_shopper(ctx)
    shopper.order()
    merchant = Actor.merchant(shopper.shop_id)
    report = svc.file_buyer_report(
        ctx, merchant, _code(ctx, shopper.shop_id), reason="Abuse.", buyer_ref=shopper.ref
    )
    with pytest.raises(Forbidden):
        svc.review_buyer_report(ctx, merchant, report.id, confirm=True)
    with pytest.raises(NotFound):
        svc.review_buyer_report(ctx, shopper.buyer, report.id, confirm=True)
    other = make_shopper(ctx)
    assert svc.list_buyer_reports(ctx, Actor.merchant(other.shop_id)) == []
    assert [r.id for r in svc.list_buyer_reports(ctx, merchant)] == [report.id]
    assert report.id in {r.id for r in svc.list_buyer_reports(ctx, AGENT)}


def test_R15_2_merchants_cannot_use_the_reports_refusal_code(ctx: Context) -> None:
    shopper = make_shopper(ctx)
    number = shopper.request()
    with pytest.raises(ValidationFailed) as err:
        cases_svc.reject(
            ctx,
            Actor.merchant(shopper.shop_id),
            number,
            refusal_code="confirmed_malicious_buyer",
        )
    assert err.value.code == "refusal.reserved_for_reports"
