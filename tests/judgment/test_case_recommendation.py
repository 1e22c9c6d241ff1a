"""R10 on stored cases (services.judgment): the engine's facts, evidence and signals built
from the database, and the agents' evidence assessments (R9.3). Real storage, on SQLite
and PostgreSQL (the ``ctx`` fixture); evidence is uploaded as real files."""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, insert, update
from sqlalchemy.exc import DBAPIError

from aftersales.domain import judgment as J
from aftersales.domain.case_types import CaseType
from aftersales.domain.errors import Forbidden, NotFound, ValidationFailed
from aftersales.domain.policy import (
    EvidenceKind,
    Issue,
    Judgment,
    JudgmentRule,
    Liability,
    Party,
    Side,
)
from aftersales.domain.reasons import REASONS
from aftersales.services import evidence as evidence_svc
from aftersales.services import judgment as svc
from aftersales.services import orders, reports
from aftersales.services import risk as risk_svc
from aftersales.services.actors import Actor
from aftersales.services.cases import get_case
from aftersales.services.context import Context
from aftersales.store import cases as case_store
from aftersales.store import catalog as catalog_store
from aftersales.store.schema import evidence_assessments, interventions, rulings
from tests.conftest import FakeClock
from tests.evidence import files
from tests.factories import World, make_world

AGENT = Actor.platform("agent-9")
ORDER_SYSTEM = Actor.system("order-system")
_seq = itertools.count(1)

UPLOADS: dict[str, tuple[str, str, Callable[[], bytes]]] = {
    "photo": ("goods.png", "image/png", files.png),
    "video": ("goods.mp4", "video/mp4", files.mp4),
    "unboxing_video": ("unboxing.mp4", "video/mp4", files.mp4),
    "chat_log": ("chat.png", "image/png", files.png),
    "carrier_proof": ("proof.pdf", "application/pdf", files.pdf),
    "qc_record": ("qc.pdf", "application/pdf", files.pdf),
    "document": ("listing.pdf", "application/pdf", files.pdf),
}


# --------------------------------------------------------------------------- helpers
def upload(ctx: Context, actor: Actor, number: str, kind: str) -> int:
    """A real file of evidence of ``kind`` from ``actor``; its id."""
    name, media, make = UPLOADS[kind]
    view = evidence_svc.upload_evidence(
        ctx,
        actor,
        number,
        kind=kind,
        filename=name,
        content_type=media,
        content=io.BytesIO(make()),
    )
    return view.id


def recommend(ctx: Context, number: str, **kw: object) -> svc.CaseRecommendation:
    with ctx.db.read() as conn:
        case = case_store.load_case(conn, number)
        assert case is not None
        return svc.case_recommendation(ctx, conn, case, ctx.now(), **kw)  # type: ignore[arg-type]


def refs(factors: tuple[J.Factor, ...]) -> list[str]:
    return [f.ref for f in factors]


def factor(factors: tuple[J.Factor, ...], ref: str) -> J.Factor:
    return next(f for f in factors if f.ref == ref)


def rule(policy: Judgment, rule_id: str) -> JudgmentRule:
    return next(r for r in policy.rules if r.id == rule_id)


def shop_code(ctx: Context, shop_id: int) -> str:
    with ctx.db.read() as conn:
        return catalog_store.shop_code(conn, shop_id)


def order(
    w: World,
    *,
    ship_by: datetime | None = None,
    shipped_at: datetime | None = None,
    signed_at: datetime | None = None,
    region: str | None = None,
) -> str:
    number = f"JO{next(_seq):08d}"
    w.push(
        number=number,
        paid_at=w.ctx.now() - timedelta(days=6),
        ship_by=ship_by,
        shipped_at=shipped_at,
        signed_at=signed_at,
        region=region,
    )
    return number


def insert_round(
    ctx: Context,
    number: str,
    *,
    response_due: datetime,
    evidence_due: datetime,
    responded_at: datetime | None = None,
) -> int:
    """An intervention round on the case as the intervention service records it (R9)."""
    now = ctx.now()
    with ctx.db.write() as conn:
        case = case_store.load_case(conn, number)
        assert case is not None
        return int(
            conn.execute(
                insert(interventions)
                .values(
                    case_id=case.id,
                    shop_id=case.shop_id,
                    round=1,
                    opened_by="buyer",
                    opened_by_actor=f"buyer:{case.buyer_id}",
                    opened_at=now,
                    statement="The merchant refused a defective kettle.",
                    urgent=False,
                    merchant_response_due=response_due,
                    merchant_responded_at=responded_at,
                    evidence_due=evidence_due,
                    ruling_due=evidence_due + timedelta(days=1),
                    status="open",
                    version=1,
                )
                .returning(interventions.c.id)
            ).scalar_one()
        )


def insert_ruling(ctx: Context, number: str, liability: str, ruled_at: datetime) -> None:
    """A ruling on the case's intervention (R10.4), as the intervention service writes it."""
    round_id = insert_round(ctx, number, response_due=ruled_at, evidence_due=ruled_at)
    with ctx.db.write() as conn:
        case = case_store.load_case(conn, number)
        assert case is not None
        conn.execute(
            insert(rulings).values(
                intervention_id=round_id,
                case_id=case.id,
                shop_id=case.shop_id,
                agent="agent-1",
                ruled_at=ruled_at,
                liability=liability,
                remedy="full_refund" if liability == "merchant" else "reject",
                freight_payer="merchant",
                return_risk="merchant",
                amount=None,
                currency="CNY",
                reasons="Ruled on the evidence.",
                overridden=False,
                override_reason=None,
                recommendation={},
                force_majeure_exempt=False,
            )
        )


# --------------------------------------------------------------------------- R10.1
def test_R10_1_stored_buyer_evidence_wins_a_quality_dispute(ctx: Context) -> None:
    w = make_world(ctx)
    number = w.open(reason="defect")
    before = recommend(ctx, number)
    assert before.evidence == ()
    assert before.recommendation.decided_for is Side.MERCHANT
    assert before.recommendation.basis == J.BASIS_INSUFFICIENT

    photo = upload(ctx, w.buyer, number, "photo")
    video = upload(ctx, w.buyer, number, "video")
    after = recommend(ctx, number)
    rec = after.recommendation
    assert rec.decided_for is Side.BUYER and rec.basis == J.BASIS_BUYER_EVIDENCE
    assert after.facts.issue is J.default_issue("defect")
    assert after.facts.reason_group is REASONS["defect"].group
    assert [(e.id, e.party, e.supports, e.first_submission) for e in after.evidence] == [
        (f"E{photo}", Party.BUYER, Side.BUYER, True),
        (f"E{video}", Party.BUYER, Side.BUYER, False),
    ]
    assert {f"E{photo}", f"E{video}"} <= set(refs(rec.factors))
    # R9.3: the first submission weighs the multiplier times its kind's weight
    first = factor(rec.factors, f"E{photo}")
    policy = ctx.profiles.current["douyin"].judgment
    assert policy is not None
    assert first.weight == pytest.approx(
        policy.evidence_weights[EvidenceKind.PHOTO] * policy.first_submission_multiplier
    )


def test_R10_1_stored_merchant_evidence_outweighs_the_buyers(ctx: Context) -> None:
    w = make_world(ctx)
    number = w.open(reason="damaged_in_transit")
    upload(ctx, w.buyer, number, "photo")
    balance = recommend(ctx, number).recommendation.balance
    for kind in ("qc_record", "carrier_proof", "video"):
        upload(ctx, w.merchant, number, kind)
    rec = recommend(ctx, number).recommendation
    assert rec.balance < balance
    assert rec.decided_for is Side.MERCHANT and not rec.buyer_succeeds
    assert rec.merchant_support > 0


# --------------------------------------------------------------------------- R9.3
def test_R9_3_evidence_after_the_deadline_is_set_aside(ctx: Context, clock: FakeClock) -> None:
    w = make_world(ctx)
    number = w.open(reason="defect")
    photo = upload(ctx, w.buyer, number, "photo")
    due = clock.advance(hours=1)
    clock.advance(hours=2)
    late = upload(ctx, w.buyer, number, "video")

    got = recommend(ctx, number, evidence_due=due)
    assert {e.id: e.in_time for e in got.evidence} == {f"E{photo}": True, f"E{late}": False}
    aside = factor(got.recommendation.ignored, f"E{late}")
    assert aside.kind is J.FactorKind.IGNORED and "deadline" in aside.message
    assert f"E{late}" not in refs(got.recommendation.factors)
    # without a deadline every item is in time
    assert all(e.in_time for e in recommend(ctx, number).evidence)


def test_R9_3_agent_marks_evidence_not_credible(ctx: Context) -> None:
    w = make_world(ctx)
    number = w.open(reason="defect")
    photo = upload(ctx, w.buyer, number, "photo")
    upload(ctx, w.buyer, number, "video")
    trusted = recommend(ctx, number).recommendation
    assert trusted.decided_for is Side.BUYER

    view = svc.assess_evidence(
        ctx,
        AGENT,
        number,
        photo,
        relevant=True,
        credible=False,
        supports=Side.BUYER,
        note="  The photo's EXIF date precedes the order.  ",
    )
    assert (view.credible, view.note, view.assessed_by) == (
        False,
        "The photo's EXIF date precedes the order.",
        AGENT.id,
    )
    doubted = recommend(ctx, number)
    assert factor(doubted.recommendation.ignored, f"E{photo}").message == (
        "Evidence {evidence} is not credible and is not counted."
    )
    assert doubted.recommendation.buyer_support < trusted.buyer_support
    assert next(e for e in doubted.evidence if e.id == f"E{photo}").credible is False
    # the assessment is on the timeline (R9.3), the state unchanged
    entry = get_case(ctx, AGENT, number).timeline[-1]
    assert (entry.action, entry.rule, entry.actor_id) == ("evidence_assessed", "R9.3", AGENT.id)
    assert entry.changes["evidence_id"]["after"] == photo
    assert entry.changes["credible"]["after"] is False
    assert entry.from_state == entry.to_state


def test_R9_3_the_newest_assessment_supersedes_older_ones_which_stay_on_record(
    ctx: Context,
) -> None:
    w = make_world(ctx)
    number = w.open(reason="defect")
    photo = upload(ctx, w.buyer, number, "photo")
    for relevant in (False, True):
        svc.assess_evidence(
            ctx,
            AGENT,
            number,
            photo,
            relevant=relevant,
            credible=True,
            supports="buyer",
            note="Checked against the listing.",
        )
    got = recommend(ctx, number)
    assert got.evidence[0].relevant is True
    assert f"E{photo}" not in refs(got.recommendation.ignored)
    with ctx.db.read() as conn:
        rows = list(conn.execute(evidence_assessments.select().order_by(evidence_assessments.c.id)))
    assert [r.relevant for r in rows] == [False, True]
    with pytest.raises(DBAPIError, match="append-only"), ctx.db.write() as conn:
        conn.execute(update(evidence_assessments).values(relevant=False))
    with pytest.raises(DBAPIError, match="append-only"), ctx.db.write() as conn:
        conn.execute(delete(evidence_assessments))


def test_R9_3_an_assessment_can_redirect_an_item_and_name_its_claim(ctx: Context) -> None:
    """Platform evidence supports neither side until an agent says whom it supports; an
    item about another claim than the one weighed is set aside."""
    w = make_world(ctx)
    number = w.open(reason="damaged_in_transit")
    proof = upload(ctx, AGENT, number, "carrier_proof")
    neutral = recommend(ctx, number)
    assert neutral.evidence[0].party is Party.PLATFORM
    assert neutral.evidence[0].supports is Side.NEUTRAL
    svc.assess_evidence(
        ctx,
        AGENT,
        number,
        proof,
        relevant=True,
        credible=True,
        supports=Side.BUYER,
        claim=Issue.DAMAGED,
        note="The carrier's note records a crushed box.",
    )
    for_buyer = recommend(ctx, number)
    assert for_buyer.evidence[0].supports is Side.BUYER
    assert for_buyer.recommendation.buyer_support > neutral.recommendation.buyer_support
    other_claim = recommend(ctx, number, issue=Issue.WRONG_ITEM)
    assert refs(other_claim.recommendation.ignored) == [f"E{proof}"]


def test_R9_3_only_platform_agents_assess_evidence(ctx: Context) -> None:
    w = make_world(ctx)
    number = w.open(reason="defect")
    photo = upload(ctx, w.buyer, number, "photo")
    other_case = w.open(reason="defect")
    elsewhere = upload(ctx, w.buyer, other_case, "photo")
    args = {"relevant": True, "credible": False, "supports": Side.BUYER, "note": "Forged."}
    for party in (w.buyer, w.merchant):
        with pytest.raises(Forbidden) as refused:
            svc.assess_evidence(ctx, party, number, photo, **args)  # type: ignore[arg-type]
        assert refused.value.code == "judgment.agents_only"
    for stranger in (Actor.buyer(w.other_buyer_id), Actor.merchant(w.other_shop_id)):
        with pytest.raises(NotFound) as hidden:
            svc.assess_evidence(ctx, stranger, number, photo, **args)  # type: ignore[arg-type]
        assert hidden.value.code == "case.not_found"
    with pytest.raises(NotFound) as wrong_case:
        svc.assess_evidence(ctx, AGENT, number, elsewhere, **args)  # type: ignore[arg-type]
    assert wrong_case.value.code == "evidence.not_found"
    for bad in ({"note": "   "}, {"supports": "everyone"}, {"claim": "bad_vibes"}):
        with pytest.raises(ValidationFailed):
            svc.assess_evidence(ctx, AGENT, number, photo, **{**args, **bad})  # type: ignore[arg-type]
    with ctx.db.read() as conn:
        assert conn.execute(evidence_assessments.select()).first() is None
    assert all(e.credible for e in recommend(ctx, number).evidence)


# --------------------------------------------------------------------------- R9.3 rounds
def test_R9_3_a_merchant_silent_past_its_deadline_is_held_liable(ctx: Context) -> None:
    w = make_world(ctx)
    number = w.open(reason="defect")
    silent = recommend(ctx, number, merchant_responded=False).recommendation
    assert silent.decided_for is Side.BUYER and refs(silent.factors) == ["J-merchant-silent"]
    assert recommend(ctx, number).recommendation.decided_for is Side.MERCHANT


def test_R9_3_the_agents_view_applies_the_latest_intervention_rounds_deadlines(
    ctx: Context, clock: FakeClock
) -> None:
    w = make_world(ctx)
    number = w.open(reason="defect")
    opened = ctx.now()
    upload(ctx, w.buyer, number, "photo")
    insert_round(
        ctx,
        number,
        response_due=opened + timedelta(hours=24),
        evidence_due=opened + timedelta(hours=48),
    )
    # inside the merchant's 24 hours it is not yet silent
    inside = svc.recommendation_for(ctx, AGENT, number)
    assert inside.in_intervention and inside.result.facts.merchant_responded
    clock.advance(hours=49)
    late = upload(ctx, w.buyer, number, "video")
    after = svc.recommendation_for(ctx, AGENT, number).result
    assert not after.facts.merchant_responded
    assert after.recommendation.rules == ("J-merchant-silent",)
    assert {e.id: e.in_time for e in after.evidence}[f"E{late}"] is False
    for party in (w.buyer, w.merchant):
        with pytest.raises(Forbidden):
            svc.recommendation_for(ctx, party, number)
    with pytest.raises(NotFound):
        svc.recommendation_for(ctx, Actor.buyer(w.other_buyer_id), number)


# --------------------------------------------------------------------------- R10.3
def test_R10_3_force_majeure_report_exempts_late_shipment_for_a_stored_case(
    ctx: Context,
) -> None:
    w = make_world(ctx)
    now = ctx.now()
    number = order(
        w,
        ship_by=now - timedelta(days=4),
        shipped_at=now - timedelta(days=3),
        signed_at=now - timedelta(days=1),
        region="CN-BJ",
    )
    case = w.open(order=number, type=CaseType.REFUND_ONLY, reason="late_shipment")
    late = recommend(ctx, case)
    assert late.facts.shipped_late and late.facts.issue is Issue.LATE_SHIPMENT
    assert not late.signals.force_majeure_approved
    assert late.recommendation.decided_for is Side.BUYER
    assert "J-late-shipment" in late.recommendation.rules

    today = now.date()
    report = reports.file_force_majeure(
        ctx,
        Actor.merchant(w.shop_id),
        shop_code(ctx, w.shop_id),
        kind=reports.EventKind.SNOWSTORM,
        regions=["CN-BJ"],
        starts_on=today - timedelta(days=6),
        ends_on=today,
        description="Roads closed by snow; carriers not collecting.",
    )
    reports.review_force_majeure(ctx, AGENT, report.id, approve=True)
    exempt = recommend(ctx, case)
    assert exempt.signals.force_majeure_approved
    assert exempt.recommendation.rules == ("J-force-majeure",)
    assert exempt.recommendation.decided_for is Side.MERCHANT
    assert exempt.recommendation.basis == J.BASIS_RULE


def test_R10_2_shipped_late_compares_the_first_parcel_with_ship_by(ctx: Context) -> None:
    w = make_world(ctx)
    now = ctx.now()
    due = now - timedelta(days=4)

    def shipped(hours_after_due: int) -> bool:
        number = order(w, ship_by=due)
        orders.record_fulfilment(
            ctx,
            ORDER_SYSTEM,
            number,
            shipped_at=due + timedelta(hours=hours_after_due),
            carrier="SF",
            tracking_number=f"SF{1_300_000_000_000 + next(_seq)}",
        )
        orders.record_fulfilment(ctx, ORDER_SYSTEM, number, signed_at=now - timedelta(hours=2))
        case = w.open(order=number, type=CaseType.REFUND_ONLY, reason="late_shipment")
        return recommend(ctx, case).facts.shipped_late

    assert shipped(hours_after_due=6) is True
    assert shipped(hours_after_due=-6) is False
    # no promised ship-by time: never late
    case = w.open(type=CaseType.REFUND_ONLY, reason="late_shipment")
    assert recommend(ctx, case).facts.shipped_late is False


def test_R10_3_buyer_risk_from_confirmed_report_leans_to_merchant(ctx: Context) -> None:
    w = make_world(ctx)
    profile = ctx.profiles.current["douyin"]
    assert profile.judgment is not None and profile.risk is not None
    # a fulfilment claim: not a request a confirmed report rejects (R15.2)
    number = w.open(reason="damaged_in_transit")
    upload(ctx, w.buyer, number, "photo")
    before = recommend(ctx, number)
    report = reports.file_buyer_report(
        ctx,
        Actor.merchant(w.shop_id),
        shop_code(ctx, w.shop_id),
        reason="Claims every parcel arrives crushed.",
        case_numbers=[number],
    )
    reports.review_buyer_report(ctx, AGENT, report.id, confirm=True)
    after = recommend(ctx, number)

    level = profile.risk.confirmed_report_level
    assert after.signals.buyer_risk is level
    with ctx.db.read() as conn:
        assert risk_svc.assess_in(conn, profile, w.buyer_id, ctx.now()).level is level
    lean = factor(after.recommendation.factors, "buyer_risk")
    assert lean.toward is Side.MERCHANT
    assert lean.weight == profile.judgment.signals.risk_weights[level]
    assert after.recommendation.balance < before.recommendation.balance
    assert after.recommendation.decided_for is Side.MERCHANT


def test_R10_3_the_shops_merchant_liable_rulings_of_the_last_30_days_are_its_complaints(
    ctx: Context,
) -> None:
    w = make_world(ctx)
    now = ctx.now()
    ruled = [w.open(reason="defect") for _ in range(5)]
    for number in ruled[:3]:
        insert_ruling(ctx, number, "merchant", now - timedelta(days=2))
    insert_ruling(ctx, ruled[3], "merchant", now - timedelta(days=31))  # too old
    insert_ruling(ctx, ruled[4], "buyer", now - timedelta(days=1))  # not the merchant's
    number = w.open(reason="defect")
    got = recommend(ctx, number)
    assert got.signals.shop_complaints == 3
    assert got.signals.shop_orders == 6  # every order above was paid within 30 days
    signal = factor(got.recommendation.factors, "shop_complaints")
    assert (signal.toward, signal.params["count"]) == (Side.BUYER, 3)


def test_R10_3_positive_review_rate_is_a_hook_for_the_caller(ctx: Context) -> None:
    w = make_world(ctx)
    number = w.open(reason="defect")
    assert recommend(ctx, number).signals.positive_review_rate is None
    low = recommend(ctx, number, positive_review_rate=0.4)
    assert low.signals.positive_review_rate == 0.4
    assert factor(low.recommendation.factors, "positive_review_rate").toward is Side.BUYER


# --------------------------------------------------------------------------- facts
def test_R16_2_a_missed_intercept_on_the_timeline_leans_to_the_buyer(ctx: Context) -> None:
    w = make_world(ctx)
    number = w.order(signed_ago=None)
    tracking = f"SF{1_200_000_000_000 + next(_seq)}"
    orders.record_fulfilment(
        ctx, ORDER_SYSTEM, number, shipped_at=ctx.now(), carrier="SF", tracking_number=tracking
    )
    case = w.open(order=number, type=CaseType.REFUND_ONLY, reason="stuck_in_transit")
    assert recommend(ctx, case).facts.intercept_missed is False
    from aftersales.services import cases as cases_svc

    cases_svc.approve_refund(ctx, w.merchant, case)
    got = recommend(ctx, case, issue=Issue.NOT_RECEIVED)
    assert got.facts.intercept_missed is True
    assert "J-intercept-missed" in got.recommendation.rules
    assert got.recommendation.decision.liability is Liability.MERCHANT


def test_R4_a_request_whose_window_had_closed_at_opening_is_decided_for_the_merchant(
    ctx: Context,
) -> None:
    """The window is re-checked at opening against the order's records as they stand: a
    signing date corrected to before the no-reason window puts the request outside it."""
    w = make_world(ctx)
    number = w.open(reason="changed_mind")
    assert recommend(ctx, number).facts.in_window is True
    with ctx.db.write() as conn:
        case = case_store.load_case(conn, number)
        assert case is not None
        catalog_store.set_order_dates(conn, case.order_id, signed_at=ctx.now() - timedelta(days=30))
    got = recommend(ctx, number)
    assert got.facts.in_window is False
    assert got.recommendation.rules == ("J-out-of-window",)
    assert got.recommendation.decided_for is Side.MERCHANT


def test_R4_a_refund_before_shipment_stays_in_window_once_the_order_ships(ctx: Context) -> None:
    w = make_world(ctx)
    number = w.order(shipped=False)
    case = w.open(order=number, type=CaseType.REFUND_UNSHIPPED, reason="ordered_by_mistake")
    orders.record_fulfilment(ctx, ORDER_SYSTEM, number, shipped_at=ctx.now())
    assert recommend(ctx, case).facts.in_window is True


def test_R3_every_reason_code_has_a_default_claim_and_the_agent_may_name_another(
    ctx: Context,
) -> None:
    assert set(J.REASON_ISSUES) == set(REASONS)
    assert set(J.ISSUE_LABELS) == set(Issue)
    w = make_world(ctx)
    number = w.open(reason="defect")
    upload(ctx, w.buyer, number, "photo")
    upload(ctx, w.buyer, number, "video")
    policy = ctx.profiles.current["douyin"].judgment
    assert policy is not None
    serious = recommend(ctx, number).recommendation
    minor = recommend(ctx, number, issue=Issue.MINOR_DEFECT)
    assert minor.facts.issue is Issue.MINOR_DEFECT
    assert serious.buyer_succeeds and minor.recommendation.buyer_succeeds
    for got, rule_id in ((serious, "J-serious-defect"), (minor.recommendation, "J-minor-defect")):
        allocation = rule(policy, rule_id).allocation
        assert allocation is not None and rule_id in got.rules
        assert got.decision.liability is allocation.liability


def test_R16_3_shipping_insurance_and_the_requested_amount_come_from_the_records(
    ctx: Context,
) -> None:
    w = make_world(ctx)
    number = f"JI{next(_seq):08d}"
    w.push(
        number=number,
        shipped_at=ctx.now() - timedelta(days=3),
        signed_at=ctx.now() - timedelta(days=1),
        shipping_insurance=True,
    )
    case = w.open(order=number, reason="changed_mind", amount=8_000)
    got = recommend(ctx, case)
    assert got.facts.shipping_insurance is True
    assert got.facts.requested.amount == 8_000
    assert got.facts.signed_at is not None and got.facts.days_after_signing == 1
    assert "J-seven-day-insured" in got.recommendation.rules


# --------------------------------------------------------------------------- R10.5
def test_R10_5_the_snapshot_is_json_and_lists_what_decided_it(ctx: Context) -> None:
    w = make_world(ctx)
    number = w.open(reason="defect")
    photo = upload(ctx, w.buyer, number, "photo")
    upload(ctx, w.merchant, number, "qc_record")
    svc.assess_evidence(
        ctx, AGENT, number, photo, relevant=False, credible=True, supports="buyer", note="Off."
    )
    got = recommend(ctx, number)
    snap = json.loads(json.dumps(got.to_json()))
    rec = got.recommendation
    assert snap["decision"] == {
        "liability": rec.decision.liability.value,
        "remedy": rec.decision.remedy.value,
        "freight_payer": rec.decision.freight_payer.value,
        "return_risk": rec.decision.return_risk.value,
    }
    assert (snap["decided_for"], snap["basis"], snap["confidence"]) == (
        rec.decided_for.value,
        rec.basis,
        rec.confidence,
    )
    assert snap["supports"] == {"buyer": rec.buyer_support, "merchant": rec.merchant_support}
    keys = {"kind", "ref", "clause", "toward", "weight", "message", "params"}
    assert snap["factors"] and all(set(f) == keys for f in snap["factors"] + snap["ignored"])
    assert [f["ref"] for f in snap["ignored"]] == [f"E{photo}"]
    assert snap["facts"]["issue"] == got.facts.issue.value
    assert [e["id"] for e in snap["evidence"]] == [e.id for e in got.evidence]
    assert snap["signals"]["buyer_risk"] == got.signals.buyer_risk.value


def test_R10_5_factors_read_in_zh_CN_and_en(ctx: Context) -> None:
    w = make_world(ctx)
    number = w.open(reason="defect")
    upload(ctx, w.buyer, number, "photo")
    rec = recommend(ctx, number, merchant_responded=True).recommendation
    evidence = next(f for f in rec.factors if f.kind is J.FactorKind.EVIDENCE)
    en = svc.render_factor(evidence, "en")
    zh = svc.render_factor(evidence, "zh-CN")
    assert "buyer" in en and "Photo" in en and "{" not in en
    assert en != zh and "{" not in zh
    assert not any(code in zh for code in ("buyer", "photo", "Photo"))
    silent = recommend(ctx, number, merchant_responded=False).recommendation.factors[0]
    assert "J-merchant-silent" in svc.render_factor(silent, "zh_CN")
