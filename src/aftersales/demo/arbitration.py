"""The demo's disputes (R9–R12): interventions in different stages, with their evidence,
rulings and appeals, and a command to see each."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, timedelta

from aftersales.demo.common import Clock, DemoSummary, Hint, open_request, png, proof_ids
from aftersales.domain.case_types import CaseType
from aftersales.domain.i18n import N_
from aftersales.domain.policy import (
    EvidenceKind,
    FreightPayer,
    Liability,
    Remedy,
)
from aftersales.jobs.deadlines import DeadlineWorker
from aftersales.services import cases as svc
from aftersales.services import evidence, interventions
from aftersales.services.actors import Actor
from aftersales.services.context import Context


def arbitration_demo(
    ctx: Context,
    clock: Clock,
    real_now: datetime,
    shop_ids: list[tuple[int, str]],
    buyer_ids: list[int],
    new_order: Callable[..., str],
    worker: DeadlineWorker,
    summary: DemoSummary,
) -> list[Hint]:
    """R9-R12: disputes in every stage of arbitration. Returns what to look at: one
    intervention waits in the agent queue with both sides' evidence, ready to be ruled."""

    agent = Actor.platform("平台小二 agent-7")
    other_agent = Actor.platform("平台小二 agent-9")
    profile = ctx.profiles.current["douyin"]
    rules = profile.intervention
    assert rules is not None
    notes: list[Hint] = []

    def upload(actor: Actor, number: str, kind: str, text: str) -> None:
        evidence.upload_evidence(
            ctx,
            actor,
            number,
            kind=kind,
            filename=f"{kind}.png",
            content_type="image/png",
            content=io.BytesIO(png()),
            description=text,
        )

    def disputed(
        shop: tuple[int, str],
        buyer: int,
        start: datetime,
        ctype: CaseType = CaseType.RETURN_REFUND,
        reason: str = "defect",
    ) -> str:
        """A request the merchant rejects, taken to the platform by the buyer with a photo;
        the merchant answers with its own evidence."""
        clock.now = start
        unshipped = ctype is CaseType.REFUND_UNSHIPPED
        order = new_order(shop, buyer, "paid" if unshipped else "signed", start)
        amount = 0 if ctype in (CaseType.EXCHANGE, CaseType.RESHIP) else 12_000
        number = open_request(ctx, buyer, order, ctype, reason, amount)
        merchant = Actor.merchant(shop[0], "客服小美")
        clock.now += timedelta(hours=2)
        quality = reason == "defect"
        proof = [EvidenceKind.QC_RECORD if quality else EvidenceKind.CHAT_LOG]
        svc.reject(
            ctx,
            merchant,
            number,
            refusal_code="no_quality_issue" if quality else "buyer_agreed_to_cancel",
            note="质检合格 passed our QC" if quality else "买家已同意撤销 buyer agreed",
            evidence_ids=proof_ids(ctx, merchant, number, proof),
        )
        clock.now += timedelta(hours=1)
        upload(Actor.buyer(buyer), number, "photo", "问题照片 the problem")
        interventions.escalate(
            ctx, Actor.buyer(buyer), number, statement="商家拒绝，请平台处理 refused, please decide"
        )
        clock.now += timedelta(hours=3)
        upload(merchant, number, "qc_record", "出库质检记录 QC record at dispatch")
        interventions.respond(
            ctx, merchant, number, response="出库前已质检 inspected before dispatch"
        )
        return number

    def ruling(liability: Liability, remedy: Remedy) -> interventions.RulingInput:
        buyer_wins = remedy is not Remedy.REJECT
        return interventions.RulingInput(
            reasons="买家证据成立 the buyer's evidence holds"
            if buyer_wins
            else "照片与商品不符 the photo shows another item",
            accept=False,
            liability=liability,
            remedy=remedy,
            freight_payer=FreightPayer.MERCHANT if buyer_wins else FreightPayer.NONE,
            return_risk=liability if buyer_wins else Liability.NONE,
            override_reason="演示裁决 demo ruling",
        )

    def count(number: str) -> None:
        view = svc.get_case(ctx, agent, number)
        per_type = summary.cases.setdefault(view.case.type.value, {})
        per_type[view.case.state.value] = per_type.get(view.case.state.value, 0) + 1

    span = timedelta(hours=rules.evidence_hours + 6)
    douyin_shop, tiktok_shop = shop_ids[1], shop_ids[-1]
    reasons = {
        CaseType.REFUND_UNSHIPPED: "ordered_by_mistake",
        CaseType.REFUND_ONLY: "defect",
        CaseType.RETURN_REFUND: "defect",
        CaseType.EXCHANGE: "defect",
        CaseType.RESHIP: "missing_item",
    }
    # 1. Waiting for an agent: both sides' evidence in, the evidence deadline passed.
    waiting = disputed(douyin_shop, buyer_ids[4], real_now - span)
    count(waiting)
    notes.append(Hint("queue"))
    notes.append(Hint(f"intervention show {waiting}", N_("R9.3 evidence, R10 recommendation")))
    notes.append(
        Hint(
            f"intervention rule {waiting} --accept --reasons 'evidence reviewed'",
            N_("R10.5 rule as recommended"),
        )
    )
    # Every request type in intervention, awaiting execution and (tiktok) ruled.
    for k, (ctype, reason_code) in enumerate(reasons.items()):
        buyer = buyer_ids[k % len(buyer_ids)]
        start = real_now - span - timedelta(minutes=10 * (k + 1))
        count(disputed(douyin_shop, buyer, start, ctype, reason_code))
        executing = disputed(douyin_shop, buyer, start, ctype, reason_code)
        clock.now = start + span
        interventions.rule(ctx, agent, executing, ruling(Liability.MERCHANT, Remedy.FULL_REFUND))
        count(executing)
        if tiktok_shop[0] != douyin_shop[0]:
            lost = disputed(tiktok_shop, buyer, start, ctype, reason_code)
            clock.now = start + span
            interventions.rule(ctx, other_agent, lost, ruling(Liability.BUYER, Remedy.REJECT))
            count(lost)
    notes.append(Hint("case list --state ruled", N_("R12.2 tiktok buyers may appeal")))
    # 2. Ruled for the buyer; the merchant did not execute: pay-first (R11.2).
    exec_hours = timedelta(hours=rules.execution_hours)
    paid_first = disputed(douyin_shop, buyer_ids[5], real_now - span - exec_hours - span)
    clock.now += span
    interventions.rule(ctx, agent, paid_first, ruling(Liability.MERCHANT, Remedy.FULL_REFUND))
    clock.now += exec_hours + timedelta(minutes=5)
    worker.run_until_idle()
    notes.append(Hint(f"case show {paid_first}", N_("R11.2 pay-first after the ruling")))
    # 3. The merchant appealed that ruling (R12.1): waiting for another agent.
    clock.now += timedelta(hours=1)
    merchant = Actor.merchant(douyin_shop[0], "店长 owner")
    upload(merchant, paid_first, "document", "面料检测报告 fabric test report")
    newest = evidence.list_evidence(ctx, merchant, paid_first)[-1].id
    interventions.appeal(
        ctx,
        merchant,
        paid_first,
        grounds="new_evidence",
        statement="检测报告证明面料合格 the test report shows the fabric is sound",
        evidence=[newest],
    )
    count(paid_first)
    notes.append(Hint(f"intervention show {paid_first}", N_("R12.1 appeal pending")))
    return notes
