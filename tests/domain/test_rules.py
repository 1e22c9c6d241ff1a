"""R3-R5: rule clauses of merchant handling, money, tracking, refusals and edits.

Every number comes from the profile object under test, never from the rulebook text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from aftersales.domain import machine
from aftersales.domain.case import Case, CaseLine, Command, CounterOffer, Facts, Outcome
from aftersales.domain.case_types import Action, ActorKind, CaseType, DeadlineKind, State
from aftersales.domain.errors import DomainError, IllegalTransition, ValidationFailed
from aftersales.domain.money import Money
from aftersales.domain.policy import EvidenceKind, ProductFlag, Profile, RefusalCode
from aftersales.profiles import load_profiles

if TYPE_CHECKING:
    from tests.domain.conftest import Builder

A = Action
BUYER, MERCHANT, CARRIER, SYSTEM = (
    ActorKind.BUYER,
    ActorKind.MERCHANT,
    ActorKind.CARRIER,
    ActorKind.SYSTEM,
)
WHOLE_ORDER = (CaseLine(1, 1), CaseLine(2, 2))  # every unit of the default order
KETTLE_ONLY = (CaseLine(1, 1),)


def open_case(
    b: Builder,
    case_type: CaseType,
    reason_code: str,
    *,
    lines: tuple[CaseLine, ...] = KETTLE_ONLY,
    requested: int | None = None,
    facts: Facts | None = None,
    now: datetime | None = None,
) -> tuple[Outcome, Facts]:
    """Open a request through ``machine.open_case`` (R2): the whole amount paid for the
    lines unless told otherwise."""
    facts = facts or b.facts(b.order_for(case_type))
    if requested is None:
        if case_type in (CaseType.EXCHANGE, CaseType.RESHIP):
            requested = 0
        else:
            requested = machine.max_refundable(
                facts.order, lines, case_type, reason_code, b.profile, facts.already_refunded
            ).amount
    req = machine.OpenRequest(case_type, lines, reason_code, b.money(requested), "详见照片")
    out = machine.open_case(req, facts, {}, b.profile, now or b.now, "AS2026110500001", 7, 42)
    return out, facts


def act(
    b: Builder, case: Case, facts: Facts, action: Action, actor: ActorKind, at: datetime, **kw
) -> Outcome:
    return machine.apply(case, Command(action, actor, **kw), facts, b.profile, at)


# --------------------------------------------------------------------------- R5.1
@pytest.mark.parametrize("case_type", [CaseType.REFUND_UNSHIPPED, CaseType.REFUND_ONLY])
def test_R5_1_merchant_timeout_refunds_a_refund_request(
    build: Builder, case_type: CaseType
) -> None:
    reason_code = build.default_reason[case_type]
    opened, facts = open_case(build, case_type, reason_code)
    hours = build.profile.handling.merchant_response_hours
    assert opened.deadline is not None
    assert opened.deadline.kind is DeadlineKind.MERCHANT_RESPONSE
    assert opened.deadline.due_at == build.now + timedelta(hours=hours)

    due = opened.deadline.due_at
    out = act(build, opened.case, facts, A.MERCHANT_TIMEOUT, SYSTEM, due)

    assert out.to_state is State.REFUNDED
    assert out.rule == "R5.1"
    assert out.refund is not None
    assert out.refund.amount == opened.case.requested
    assert out.refund.rule == "R5.1"
    assert out.refund.decided_at == due
    assert out.case.deadline_kind is None and out.deadline is None


@pytest.mark.parametrize("case_type", [CaseType.RETURN_REFUND, CaseType.EXCHANGE])
def test_R5_1_merchant_timeout_approves_a_return_with_the_shop_address(
    build: Builder, case_type: CaseType
) -> None:
    opened, facts = open_case(build, case_type, build.default_reason[case_type])
    assert opened.deadline is not None
    due = opened.deadline.due_at

    out = act(build, opened.case, facts, A.MERCHANT_TIMEOUT, SYSTEM, due)

    assert out.to_state is State.AWAITING_RETURN
    assert out.case.return_address == facts.shop_return_address != ""
    assert out.refund is None
    assert out.deadline is not None
    assert out.deadline.kind is DeadlineKind.RETURN_SHIPMENT
    assert out.deadline.due_at == due + timedelta(
        days=build.profile.handling.buyer_ship_return_days
    )


def test_R5_1_timeout_cannot_approve_a_return_without_a_shop_address(build: Builder) -> None:
    case = build.case(CaseType.RETURN_REFUND)
    facts = build.facts(build.order(), shop_return_address="")
    with pytest.raises(ValidationFailed) as err:
        act(build, case, facts, A.MERCHANT_TIMEOUT, SYSTEM, build.due(case))
    assert err.value.rule == "R5.1"


def test_R5_1_merchant_approval_may_name_another_return_address(build: Builder) -> None:
    case = build.case(CaseType.RETURN_REFUND)
    facts = build.facts(build.order())
    out = act(
        build, case, facts, A.APPROVE_RETURN, MERCHANT, build.now, return_address="杭州退货仓"
    )
    assert out.case.return_address == "杭州退货仓"


# --------------------------------------------------------------------------- R5.2
def test_R5_2_refund_never_exceeds_paid_for_lines(build: Builder) -> None:
    case = build.case(CaseType.RETURN_REFUND, reason_code="changed_mind", lines=KETTLE_ONLY)
    facts = build.facts(build.order())
    paid = facts.order.line(1).paid  # type: ignore[union-attr]
    assert build.cap(case, facts) == paid  # a part of the order: no freight

    with pytest.raises(ValidationFailed) as err:
        act(build, case, facts, A.APPROVE_REFUND, MERCHANT, build.now, amount=paid + build.money(1))
    assert err.value.rule == "R5.2"
    assert err.value.code == "amount.exceeds_paid"
    assert err.value.params["field"] == "amount"  # an input value: 422 naming it

    out = act(build, case, facts, A.APPROVE_REFUND, MERCHANT, build.now, amount=paid)
    assert out.refund is not None and out.refund.amount == paid


def test_R5_2_opening_above_what_was_paid_is_refused(build: Builder) -> None:
    facts = build.facts(build.order())
    cap = machine.max_refundable(
        facts.order, KETTLE_ONLY, CaseType.REFUND_ONLY, "defect", build.profile, build.money(0)
    )
    with pytest.raises(ValidationFailed) as err:
        open_case(build, CaseType.REFUND_ONLY, "defect", requested=cap.amount + 1, facts=facts)
    assert err.value.rule == "R5.2"
    assert err.value.params["field"] == "amount"
    opened, _ = open_case(build, CaseType.REFUND_ONLY, "defect", requested=cap.amount)
    assert opened.case.requested == cap


@pytest.mark.parametrize(
    ("case_type", "reason_code", "lines", "with_freight"),
    [
        pytest.param(CaseType.REFUND_ONLY, "defect", WHOLE_ORDER, True, id="whole-merchant_side"),
        pytest.param(
            CaseType.RETURN_REFUND, "wrong_item", WHOLE_ORDER, True, id="whole-fulfilment"
        ),
        pytest.param(
            CaseType.RETURN_REFUND, "changed_mind", WHOLE_ORDER, False, id="whole-no_reason"
        ),
        pytest.param(CaseType.REFUND_ONLY, "other", WHOLE_ORDER, False, id="whole-other"),
        pytest.param(CaseType.REFUND_ONLY, "defect", KETTLE_ONLY, False, id="part-merchant_side"),
        pytest.param(
            CaseType.REFUND_ONLY,
            "defect",
            (CaseLine(1, 1), CaseLine(2, 1)),
            False,
            id="one_unit_short-merchant_side",
        ),
        pytest.param(
            CaseType.REFUND_UNSHIPPED,
            "ordered_by_mistake",
            WHOLE_ORDER,
            True,
            id="unshipped-whole-no_reason",
        ),
        pytest.param(
            CaseType.REFUND_UNSHIPPED,
            "ordered_by_mistake",
            KETTLE_ONLY,
            False,
            id="unshipped-part",
        ),
    ],
)
def test_R5_2_freight_only_for_the_whole_order_with_merchant_side_reason_or_unshipped(
    build: Builder,
    case_type: CaseType,
    reason_code: str,
    lines: tuple[CaseLine, ...],
    with_freight: bool,
) -> None:
    order = build.order_for(case_type)
    assert build.profile.handling.freight_refundable
    lines_paid = sum(
        (order.line(cl.order_line_id).paid_for(cl.quantity) for cl in lines),  # type: ignore[union-attr]
        build.money(0),
    )
    cap = machine.max_refundable(
        order, lines, case_type, reason_code, build.profile, build.money(0)
    )
    assert cap == (lines_paid + order.freight if with_freight else lines_paid)
    if lines == WHOLE_ORDER and with_freight:
        assert cap == order.total_paid


def test_R5_2_freight_never_refunded_when_the_profile_says_so(build: Builder) -> None:
    profile = build.profile.model_copy(
        update={"handling": build.profile.handling.model_copy(update={"freight_refundable": False})}
    )
    order = build.order()
    cap = machine.max_refundable(
        order, WHOLE_ORDER, CaseType.REFUND_ONLY, "defect", profile, build.money(0)
    )
    assert cap == order.total_paid - order.freight


def test_R5_2_refunds_already_made_on_the_order_lower_the_cap(build: Builder) -> None:
    order = build.order()
    already = order.total_paid - build.money(1_000)
    cap = machine.max_refundable(
        order, KETTLE_ONLY, CaseType.REFUND_ONLY, "defect", build.profile, already
    )
    assert cap == build.money(1_000)


def test_R5_2_counter_offer_accept_without_return_refunds_offer_amount(build: Builder) -> None:
    opened, facts = open_case(build, CaseType.RETURN_REFUND, "defect")
    offer = build.money(opened.case.requested.amount * 6 // 10)
    t1 = build.now + timedelta(hours=3)
    offered = act(
        build, opened.case, facts, A.COUNTER_OFFER, MERCHANT, t1, amount=offer, note="六折退款"
    )
    assert offered.to_state is State.AWAITING_BUYER
    assert offered.deadline is not None
    assert offered.deadline.kind is DeadlineKind.BUYER_OFFER_RESPONSE
    assert offered.deadline.due_at == t1 + timedelta(
        hours=build.profile.handling.buyer_offer_response_hours
    )

    t2 = t1 + timedelta(hours=1)
    out = act(build, offered.case, facts, A.ACCEPT_OFFER, BUYER, t2)

    assert out.to_state is State.REFUNDED
    assert out.refund is not None
    assert out.refund.amount == offer != opened.case.requested
    assert out.case.agreed == offer


def test_R5_2_counter_offer_with_return_refunds_offer_amount_after_receipt(
    build: Builder,
) -> None:
    opened, facts = open_case(build, CaseType.RETURN_REFUND, "not_as_described")
    offer = build.money(opened.case.requested.amount - 2_000)
    t = build.now + timedelta(hours=2)
    case = act(
        build,
        opened.case,
        facts,
        A.COUNTER_OFFER,
        MERCHANT,
        t,
        amount=offer,
        return_required=True,
    ).case
    accepted = act(build, case, facts, A.ACCEPT_OFFER, BUYER, t + timedelta(hours=1))
    assert accepted.to_state is State.AWAITING_RETURN
    assert accepted.case.return_address == facts.shop_return_address
    case = accepted.case
    for action, actor, kw in (
        (A.SHIP_RETURN, BUYER, {"carrier": "SF", "tracking_number": "SF1234567890123"}),
        (A.RETURN_DELIVERED, CARRIER, {}),
        (A.CONFIRM_RECEIPT, MERCHANT, {}),
        (A.REFUND, MERCHANT, {}),
    ):
        t += timedelta(hours=5)
        out = act(build, case, facts, action, actor, t, **kw)
        case = out.case
    assert case.state is State.REFUNDED
    assert out.refund is not None and out.refund.amount == offer


def test_R5_2_counter_offer_above_paid_refused(build: Builder) -> None:
    case = build.case(CaseType.REFUND_ONLY)
    facts = build.facts(build.order())
    cap = build.cap(case, facts)
    with pytest.raises(ValidationFailed) as err:
        act(build, case, facts, A.COUNTER_OFFER, MERCHANT, build.now, amount=cap + build.money(1))
    assert err.value.rule == "R5.2"
    with pytest.raises(ValidationFailed) as err2:
        act(build, case, facts, A.COUNTER_OFFER, MERCHANT, build.now)
    assert err2.value.rule == "R5.2"


def test_R5_2_counter_offer_cannot_ask_to_return_goods_never_shipped(build: Builder) -> None:
    case = build.case(CaseType.REFUND_UNSHIPPED)
    facts = build.facts(build.order(shipped=False))
    with pytest.raises(ValidationFailed) as err:
        act(
            build,
            case,
            facts,
            A.COUNTER_OFFER,
            MERCHANT,
            build.now,
            amount=build.money(1_000),
            return_required=True,
        )
    assert err.value.rule == "R5.2"


def test_R5_2_buyer_silent_on_counter_offer_closes(build: Builder) -> None:
    case = build.case(CaseType.REFUND_ONLY, State.AWAITING_BUYER)
    due = build.due(case)
    out = act(build, case, build.facts(build.order()), A.BUYER_OFFER_TIMEOUT, SYSTEM, due)
    assert out.to_state is State.CLOSED and out.refund is None


def test_R5_2_refund_currency_must_match_the_order(build: Builder) -> None:
    case = build.case(CaseType.REFUND_ONLY)
    facts = build.facts(build.order())
    other = "USD" if build.profile.currency != "USD" else "EUR"
    with pytest.raises(DomainError) as err:
        act(
            build,
            case,
            facts,
            A.APPROVE_REFUND,
            MERCHANT,
            build.now,
            amount=Money(100, other),
        )
    assert err.value.rule == "R5.2"


# --------------------------------------------------------------------------- R5.3
@pytest.mark.parametrize(
    ("carrier", "number"),
    [
        pytest.param("SF", "SF123", id="sf-too-short"),
        pytest.param("SF", "1234567890123", id="sf-missing-prefix"),
        pytest.param("ZTO", "SF1234567890123", id="zto-with-sf-number"),
        pytest.param("DHL-XYZ", "1234567890", id="unknown-carrier"),
    ],
)
def test_R5_3_bad_tracking_format_refused(build: Builder, carrier: str, number: str) -> None:
    case = build.case(CaseType.RETURN_REFUND, State.AWAITING_RETURN)
    facts = build.facts(build.order())
    with pytest.raises(ValidationFailed) as err:
        act(
            build,
            case,
            facts,
            A.SHIP_RETURN,
            BUYER,
            build.now,
            carrier=carrier,
            tracking_number=number,
        )
    assert err.value.rule == "R5.3"


def test_R5_3_missing_tracking_refused(build: Builder) -> None:
    case = build.case(CaseType.RETURN_REFUND, State.AWAITING_RETURN)
    with pytest.raises(ValidationFailed) as err:
        act(build, case, build.facts(build.order()), A.SHIP_RETURN, BUYER, build.now, carrier="SF")
    assert err.value.rule == "R5.3"


def test_R5_3_pasted_tracking_number_is_normalised(build: Builder) -> None:
    case = build.case(CaseType.RETURN_REFUND, State.AWAITING_RETURN)
    out = act(
        build,
        case,
        build.facts(build.order()),
        A.SHIP_RETURN,
        BUYER,
        build.now,
        carrier="sf",
        tracking_number="sf 1234-5678-90123",
    )
    assert out.case.return_shipment is not None
    assert out.case.return_shipment.carrier == "SF"
    assert out.case.return_shipment.tracking_number == "SF1234567890123"
    assert out.case.return_shipment.shipped_at == build.now


def test_R5_3_tracking_reused_on_another_case_refused(build: Builder) -> None:
    case = build.case(CaseType.RETURN_REFUND, State.AWAITING_RETURN)
    facts = build.facts(build.order(), tracking_in_use=True)
    carrier, number = build.sf_tracking
    with pytest.raises(IllegalTransition) as err:
        act(
            build,
            case,
            facts,
            A.SHIP_RETURN,
            BUYER,
            build.now,
            carrier=carrier,
            tracking_number=number,
        )
    assert err.value.rule == "R5.3"
    assert err.value.code == "tracking.reused"


def test_R5_3_replacement_tracking_is_validated_too(build: Builder) -> None:
    case = build.case(CaseType.RESHIP, State.AWAITING_RESHIP)
    with pytest.raises(ValidationFailed) as err:
        act(
            build,
            case,
            build.facts(build.order()),
            A.SHIP_REPLACEMENT,
            MERCHANT,
            build.now,
            carrier="SF",
            tracking_number="12345",
        )
    assert err.value.rule == "R5.3"


def test_R5_3_return_not_shipped_in_time_closes(build: Builder) -> None:
    opened, facts = open_case(build, CaseType.RETURN_REFUND, "changed_mind")
    approved = act(build, opened.case, facts, A.APPROVE_RETURN, MERCHANT, build.now)
    assert approved.deadline is not None
    due = approved.deadline.due_at
    assert due == build.now + timedelta(days=build.profile.handling.buyer_ship_return_days)
    out = act(build, approved.case, facts, A.RETURN_SHIP_TIMEOUT, SYSTEM, due)
    assert out.to_state is State.CLOSED
    assert out.refund is None and out.case.closed_at == due


# --------------------------------------------------------------------------- R5.4
def test_R5_4_receipt_deadline_keeps_running_after_confirm_receipt(build: Builder) -> None:
    case = build.case(
        CaseType.RETURN_REFUND, State.RETURN_SHIPPED, deadline_kind=None, deadline_at=None
    )
    facts = build.facts(build.order())
    t1 = build.now
    delivered = act(build, case, facts, A.RETURN_DELIVERED, CARRIER, t1)
    hours = build.profile.handling.merchant_receipt_hours
    assert delivered.to_state is State.RETURN_DELIVERED
    assert delivered.deadline is not None
    assert delivered.deadline.kind is DeadlineKind.MERCHANT_RECEIPT
    assert delivered.deadline.due_at == t1 + timedelta(hours=hours)
    assert delivered.keep_deadline is False

    t2 = t1 + timedelta(hours=hours - 1)
    confirmed = act(build, delivered.case, facts, A.CONFIRM_RECEIPT, MERCHANT, t2)

    assert confirmed.to_state is State.RETURN_RECEIVED
    assert confirmed.keep_deadline is True
    assert confirmed.deadline is not None
    assert confirmed.deadline.kind is DeadlineKind.MERCHANT_RECEIPT
    assert confirmed.deadline.due_at == delivered.deadline.due_at
    assert confirmed.case.deadline_at == delivered.case.deadline_at

    # ... and when it runs out the refund is made automatically.
    due = confirmed.deadline.due_at
    refunded = act(build, confirmed.case, facts, A.RECEIPT_TIMEOUT, SYSTEM, due)
    assert refunded.to_state is State.REFUNDED
    assert refunded.rule == "R5.4"
    assert refunded.refund is not None
    assert refunded.refund.amount == case.requested


def test_R5_4_delivered_return_refunds_automatically_on_timeout(build: Builder) -> None:
    case = build.case(CaseType.RETURN_REFUND, State.RETURN_DELIVERED)
    out = act(build, case, build.facts(build.order()), A.RECEIPT_TIMEOUT, SYSTEM, build.due(case))
    assert out.to_state is State.REFUNDED
    assert out.refund is not None and out.refund.rule == "R5.4"


# --------------------------------------------------------------------------- R5.5
def _after_receipt_code(b: Builder, case: Case, facts: Facts) -> RefusalCode:
    code = b.refusal_code_for(
        "after_receipt",
        case.reason,
        facts.order,
        case.lines,
        evidence_kind=EvidenceKind.CARRIER_PROOF,
    )
    assert code.evidence_required and code.rule == "R5.5"
    return code


@pytest.mark.parametrize("state", [State.RETURN_DELIVERED, State.RETURN_RECEIVED])
def test_R5_5_refusal_after_receipt_without_proof_refused(build: Builder, state: State) -> None:
    case = build.case(CaseType.RETURN_REFUND, state)
    facts = build.facts(build.order())
    code = _after_receipt_code(build, case, facts)

    with pytest.raises(IllegalTransition) as err:
        act(build, case, facts, A.REFUSE_REFUND, MERCHANT, build.now, refusal_code=code.code)
    assert err.value.rule == "R5.5"
    assert err.value.code == "refusal.evidence_missing"

    assert err.value.params["field"] == "evidence_ids"

    # Evidence of other kinds proves nothing for this code: refused naming the field.
    wrong = tuple(k for k in EvidenceKind if k not in code.evidence_kinds)
    with pytest.raises(ValidationFailed) as err:
        act(
            build,
            case,
            facts,
            A.REFUSE_REFUND,
            MERCHANT,
            build.now,
            refusal_code=code.code,
            evidence=(*code.evidence_kinds, *wrong),
        )
    assert err.value.rule == "R5.5"
    assert (err.value.code, err.value.params["field"]) == (
        "refusal.evidence_wrong_kind",
        "evidence_ids",
    )


def test_R5_5_refusal_needs_a_code_of_the_profile_for_the_stage(build: Builder) -> None:
    case = build.case(CaseType.RETURN_REFUND, State.RETURN_RECEIVED)
    facts = build.facts(build.order())
    with pytest.raises(ValidationFailed) as err:
        act(build, case, facts, A.REFUSE_REFUND, MERCHANT, build.now)
    assert err.value.rule == "R5.5"
    with pytest.raises(ValidationFailed) as err:
        act(build, case, facts, A.REFUSE_REFUND, MERCHANT, build.now, refusal_code="because")
    assert err.value.rule == "R5.5"
    review_only = next(c for c in build.profile.refusal_codes if c.stages == ("review",))
    with pytest.raises(ValidationFailed) as err:
        act(
            build,
            case,
            facts,
            A.REFUSE_REFUND,
            MERCHANT,
            build.now,
            refusal_code=review_only.code,
            evidence=review_only.evidence_kinds,
        )
    assert err.value.rule == "R5.5"


def test_R5_5_refusal_with_carrier_proof_lands_in_rejected(build: Builder) -> None:
    case = build.case(CaseType.RETURN_REFUND, State.RETURN_RECEIVED)
    facts = build.facts(build.order())
    code = _after_receipt_code(build, case, facts)

    out = act(
        build,
        case,
        facts,
        A.REFUSE_REFUND,
        MERCHANT,
        build.now,
        refusal_code=code.code,
        evidence=(EvidenceKind.CARRIER_PROOF,),
        note="外箱破损有签收凭证",
    )

    assert out.to_state is State.REJECTED
    assert out.rule == "R5.5"
    assert out.refund is None
    assert out.case.refusal_code == code.code
    assert out.case.refusal_note == "外箱破损有签收凭证"
    assert out.case.rejected_at == build.now
    assert out.deadline is not None
    assert out.deadline.kind is DeadlineKind.RESUBMIT_WINDOW
    assert out.deadline.due_at == build.now + timedelta(
        hours=build.profile.handling.resubmit_window_hours
    )


def test_R5_5_review_refusal_code_limited_to_its_reason_groups(build: Builder) -> None:
    code = next(c for c in build.profile.refusal_codes if c.code == "no_quality_issue")
    case = build.case(CaseType.RETURN_REFUND, reason_code="changed_mind")
    assert "no_reason" not in code.reason_groups
    with pytest.raises(ValidationFailed) as err:
        act(
            build,
            case,
            build.facts(build.order()),
            A.REJECT,
            MERCHANT,
            build.now,
            refusal_code=code.code,
            evidence=code.evidence_kinds,
        )
    assert err.value.rule == code.rule


# --------------------------------------------------------------------------- R4.4
DISALLOWED = [c.code for c in load_profiles()["douyin"].refusal_codes if not c.allowed]


def _refuse(
    b: Builder, case: Case, facts: Facts, code: str, evidence: Iterable[EvidenceKind] = ()
) -> Outcome:
    action = A.REJECT if case.state is State.AWAITING_MERCHANT else A.REFUSE_REFUND
    return act(b, case, facts, action, MERCHANT, b.now, refusal_code=code, evidence=tuple(evidence))


@pytest.mark.parametrize("state", [State.AWAITING_MERCHANT, State.RETURN_RECEIVED])
def test_R4_4_package_opened_is_not_a_refusal_ground(build: Builder, state: State) -> None:
    code = build.profile.refusal_code("package_opened")
    assert code is not None and code.allowed is False
    case = build.case(CaseType.RETURN_REFUND, state, reason_code="changed_mind")
    with pytest.raises(ValidationFailed) as err:
        _refuse(build, case, build.facts(build.order()), code.code, list(EvidenceKind))
    assert err.value.rule == "R4.4"
    assert err.value.code == "refusal.ground_not_allowed"


@pytest.mark.parametrize("code", DISALLOWED)
@pytest.mark.parametrize("state", [State.AWAITING_MERCHANT, State.RETURN_RECEIVED])
def test_R4_4_grounds_the_profile_disallows_are_refused(
    build: Builder, code: str, state: State
) -> None:
    case = build.case(CaseType.RETURN_REFUND, state, reason_code="changed_mind")
    rc = build.profile.refusal_code(code)
    assert rc is not None
    with pytest.raises(ValidationFailed) as err:
        _refuse(build, case, build.facts(build.order()), code, list(EvidenceKind))
    assert err.value.rule == rc.rule


@pytest.mark.parametrize("state", [State.AWAITING_MERCHANT, State.RETURN_RECEIVED])
def test_R4_4_unsealed_hygiene_refusal_needs_seal_sensitive_product(
    build: Builder, state: State
) -> None:
    code = build.profile.refusal_code("unsealed_hygiene_goods")
    assert code is not None and code.requires_product_flag is ProductFlag.SEAL_SENSITIVE
    evidence = build.evidence_for(code)

    plain = build.order()
    case = build.case(CaseType.RETURN_REFUND, state, order=plain, reason_code="changed_mind")
    with pytest.raises(ValidationFailed) as err:
        _refuse(build, case, build.facts(plain), code.code, evidence)
    assert err.value.rule == "R4.4"
    assert err.value.code == "refusal.product_flag_missing"

    masks = build.product(3, "补水面膜 10 片装", flags={ProductFlag.SEAL_SENSITIVE})
    sealed = build.order(lines=[build.line(1, masks, quantity=1, unit_price=8_900)])
    case = build.case(CaseType.RETURN_REFUND, state, order=sealed, reason_code="changed_mind")
    out = _refuse(build, case, build.facts(sealed), code.code, evidence)
    assert out.to_state is State.REJECTED
    assert out.case.refusal_code == code.code

    # only against seven-day no-reason requests: a defect claim cannot be refused this way
    defect = build.case(CaseType.RETURN_REFUND, state, order=sealed, reason_code="defect")
    with pytest.raises(ValidationFailed) as err:
        _refuse(build, defect, build.facts(sealed), code.code, evidence)
    assert err.value.rule == "R4.4"


# --------------------------------------------------------------------------- R5.6
def test_R5_6_tiktok_edit_limit_two(build_tiktok: Builder, build: Builder) -> None:
    b = build_tiktok
    limit = b.profile.handling.max_buyer_edits
    assert limit is not None
    case = b.case(CaseType.RETURN_REFUND, reason_code="defect")
    facts = b.facts(b.order())
    t = b.now
    for n in range(limit):
        t += timedelta(minutes=10)
        case = act(b, case, facts, A.EDIT_REQUEST, BUYER, t, description=f"第 {n + 1} 次修改").case
        assert case.edits == n + 1
    with pytest.raises(IllegalTransition) as err:
        act(b, case, facts, A.EDIT_REQUEST, BUYER, t, description="再改一次")
    assert err.value.rule == "R5.6"

    # douyin sets no limit
    assert build.profile.handling.max_buyer_edits is None
    case = build.case(CaseType.RETURN_REFUND, reason_code="defect")
    facts = build.facts(build.order())
    for n in range(limit + 3):
        case = act(build, case, facts, A.EDIT_REQUEST, BUYER, build.now, description=str(n)).case
    assert case.edits == limit + 3


def test_R5_6_resubmit_after_window_refused(build_tiktok: Builder, build: Builder) -> None:
    b = build_tiktok
    hours = b.profile.handling.resubmit_window_hours
    facts = b.facts(b.order())
    late = b.case(
        CaseType.RETURN_REFUND, State.REJECTED, rejected_at=b.now - timedelta(hours=hours)
    )
    with pytest.raises(IllegalTransition) as err:
        act(b, late, facts, A.RESUBMIT, BUYER, b.now, description="补充证据")
    assert err.value.rule == "R5.6"

    in_time = b.case(
        CaseType.RETURN_REFUND,
        State.REJECTED,
        rejected_at=b.now - timedelta(hours=hours, seconds=-1),
    )
    out = act(b, in_time, facts, A.RESUBMIT, BUYER, b.now, description="补充证据")
    assert out.to_state is State.AWAITING_MERCHANT
    assert out.case.refusal_code is None and out.case.rejected_at is None
    assert out.deadline is not None and out.deadline.kind is DeadlineKind.MERCHANT_RESPONSE

    # douyin's window is longer: the same late resubmission is still in time there
    assert build.profile.handling.resubmit_window_hours > hours
    case = build.case(
        CaseType.RETURN_REFUND, State.REJECTED, rejected_at=build.now - timedelta(hours=hours)
    )
    out = act(build, case, build.facts(build.order()), A.RESUBMIT, BUYER, build.now)
    assert out.to_state is State.AWAITING_MERCHANT


def test_R5_6_rejected_request_lapses_when_not_resubmitted(build: Builder) -> None:
    case = build.case(CaseType.RETURN_REFUND, State.REJECTED)
    out = act(build, case, build.facts(build.order()), A.RESUBMIT_TIMEOUT, SYSTEM, build.due(case))
    assert out.to_state is State.CLOSED and out.refund is None


# --------------------------------------------------------------------------- R3.3
def test_R3_3_first_reason_frozen_after_edit(build: Builder) -> None:
    opened, facts = open_case(build, CaseType.RETURN_REFUND, "defect")
    assert opened.case.first_reason == "defect"
    edited = act(
        build,
        opened.case,
        facts,
        A.EDIT_REQUEST,
        BUYER,
        build.now + timedelta(hours=1),
        reason="not_as_described",
    )
    assert edited.case.reason == "not_as_described"
    assert edited.case.first_reason == "defect"
    assert "first_reason" not in edited.changes
    assert edited.changes["reason"] == ("defect", "not_as_described")

    rejected = dataclasses.replace(
        edited.case, state=State.REJECTED, rejected_at=build.now + timedelta(hours=2)
    )
    resubmitted = act(
        build,
        rejected,
        facts,
        A.RESUBMIT,
        BUYER,
        build.now + timedelta(hours=3),
        reason="function_failure",
    )
    assert resubmitted.case.reason == "function_failure"
    assert resubmitted.case.first_reason == "defect"


def test_R3_1_edit_to_an_unknown_reason_refused(build: Builder) -> None:
    case = build.case(CaseType.RETURN_REFUND)
    with pytest.raises(ValidationFailed) as err:
        act(
            build,
            case,
            build.facts(build.order()),
            A.EDIT_REQUEST,
            BUYER,
            build.now,
            reason="bored",
        )
    assert err.value.rule == "R3.1"


def test_R4_1_edit_to_no_reason_outside_its_window_refused(build: Builder) -> None:
    """An edit is checked against the window of its new reason (R4.1 vs R4.2)."""
    w = build.profile.windows
    assert w.guarantee_days > w.no_reason_days + 1
    order = build.order(signed_at=build.now - timedelta(days=w.no_reason_days + 2))
    case = build.case(CaseType.RETURN_REFUND, order=order, reason_code="defect")
    with pytest.raises(IllegalTransition) as err:
        act(
            build, case, build.facts(order), A.EDIT_REQUEST, BUYER, build.now, reason="changed_mind"
        )
    assert err.value.rule == "R4.1"


# --------------------------------------------------------------------------- R5.2, R2: edits
def test_R5_2_reason_edit_cannot_leave_the_requested_amount_above_what_is_refundable(
    build: Builder,
) -> None:
    """An edit re-checks the amount against the cap of its NEW reason, also when it names no
    new amount."""
    # Whole order, defect: the request may include freight (R5.2) ...
    opened, facts = open_case(build, CaseType.REFUND_ONLY, "defect", lines=WHOLE_ORDER)
    assert opened.case.requested == facts.order.total_paid
    # ... a no-reason request may not.
    cap = build.cap(dataclasses.replace(opened.case, reason="changed_mind"), facts)
    assert cap == facts.order.total_paid - facts.order.freight
    with pytest.raises(IllegalTransition) as err:
        act(build, opened.case, facts, A.EDIT_REQUEST, BUYER, build.now, reason="changed_mind")
    assert (err.value.code, err.value.rule) == ("amount.exceeds_paid", "R5.2")

    # Lowering the amount to the new cap in the same edit is accepted ...
    edited = act(
        build,
        opened.case,
        facts,
        A.EDIT_REQUEST,
        BUYER,
        build.now,
        reason="changed_mind",
        amount=cap,
    ).case
    assert (edited.reason, edited.requested) == ("changed_mind", cap)
    # ... and the system timeout can still refund the request (R5.1).
    out = act(build, edited, facts, A.MERCHANT_TIMEOUT, SYSTEM, build.due(edited))
    assert out.to_state is State.REFUNDED
    assert out.refund is not None and out.refund.amount == cap


def test_R5_2_accepting_an_offer_checks_the_offer_amount(build: Builder) -> None:
    """The buyer accepts the offered amount: that amount, not the one requested, is checked
    against what remains refundable and refunded."""
    # Whole order refund for a defect: requested includes freight.
    order = build.order()
    case = build.case(
        CaseType.REFUND_ONLY,
        State.AWAITING_BUYER,
        order=order,
        lines=WHOLE_ORDER,
        reason_code="defect",
    )
    assert case.requested == order.total_paid
    offer = build.money(case.requested.amount // 2)
    case = dataclasses.replace(case, offer=CounterOffer(offer, False, "五折"))
    # Since the offer, part of the order was refunded elsewhere; the offer still fits.
    facts = build.facts(order, already_refunded=case.requested.amount - offer.amount)
    assert offer <= build.cap(case, facts) < case.requested

    out = act(build, case, facts, A.ACCEPT_OFFER, BUYER, build.now)

    assert out.to_state is State.REFUNDED
    assert out.refund is not None and out.refund.amount == offer


@pytest.mark.parametrize("case_type", [CaseType.EXCHANGE, CaseType.RESHIP])
@pytest.mark.parametrize("amount", [-500, 500, 10**9], ids=["negative", "some", "huge"])
def test_R2_exchange_or_reship_edit_cannot_name_an_amount(
    build: Builder, case_type: CaseType, amount: int
) -> None:
    opened, facts = open_case(build, case_type, build.default_reason[case_type])
    assert opened.case.requested.amount == 0
    with pytest.raises(ValidationFailed) as err:
        act(
            build,
            opened.case,
            facts,
            A.EDIT_REQUEST,
            BUYER,
            build.now,
            amount=build.money(amount),
        )
    assert (err.value.code, err.value.rule) == ("amount.goods_only", "R2")


@pytest.mark.parametrize("case_type", [CaseType.EXCHANGE, CaseType.RESHIP])
def test_R2_exchange_or_reship_edit_may_restate_a_zero_amount(
    build: Builder, case_type: CaseType
) -> None:
    opened, facts = open_case(build, case_type, build.default_reason[case_type])
    out = act(
        build,
        opened.case,
        facts,
        A.EDIT_REQUEST,
        BUYER,
        build.now,
        amount=build.money(0),
        description="尺码换成 L",
    )
    assert out.to_state is State.AWAITING_MERCHANT
    assert out.case.requested == build.money(0)
    assert out.case.description == "尺码换成 L"


def test_R5_2_accepting_an_offer_above_what_is_refundable_is_refused(build: Builder) -> None:
    """The other half of the offer check: accepting can never refund more than remains."""
    order = build.order()
    case = build.case(CaseType.REFUND_ONLY, State.AWAITING_BUYER, order=order)
    assert case.offer is not None
    facts = build.facts(order, already_refunded=order.total_paid.amount - 1)
    try:
        out = act(build, case, facts, A.ACCEPT_OFFER, BUYER, build.now)
    except DomainError as exc:
        assert exc.rule == "R5.2"
        return
    assert out.refund is not None
    assert out.refund.amount <= build.cap(case, facts)


def _profile_with(profile: Profile, **handling: object) -> Profile:
    return profile.model_copy(update={"handling": profile.handling.model_copy(update=handling)})


def test_R5_6_edit_limit_zero_means_no_edits(build: Builder) -> None:
    profile = _profile_with(build.profile, max_buyer_edits=0)
    case = build.case(CaseType.RETURN_REFUND)
    with pytest.raises(IllegalTransition) as err:
        machine.apply(
            case,
            Command(A.EDIT_REQUEST, BUYER, description="x"),
            build.facts(build.order()),
            profile,
            build.now,
        )
    assert err.value.rule == "R5.6"


def test_R5_6_resubmit_is_not_limited_by_the_edit_limit(build_tiktok: Builder) -> None:
    """A resubmission after a refusal is a new request for the same lines, not an edit."""
    b = build_tiktok
    limit = b.profile.handling.max_buyer_edits
    assert limit is not None
    opened, facts = open_case(b, CaseType.RETURN_REFUND, "defect")
    case, t = opened.case, b.now
    for n in range(limit):
        t += timedelta(minutes=10)
        case = act(b, case, facts, A.EDIT_REQUEST, BUYER, t, description=f"第 {n + 1} 次修改").case
    assert case.edits == limit
    code = b.refusal_code_for("review", case.reason, facts.order, case.lines)
    t += timedelta(hours=1)
    rejected = act(
        b,
        case,
        facts,
        A.REJECT,
        MERCHANT,
        t,
        refusal_code=code.code,
        evidence=b.evidence_for(code),
    ).case
    assert rejected.state is State.REJECTED

    t += timedelta(hours=1)
    out = act(
        b, rejected, facts, A.RESUBMIT, BUYER, t, reason="function_failure", description="重新申请"
    )

    assert out.to_state is State.AWAITING_MERCHANT
    assert out.rule == "R5.6"
    assert out.case.reason == "function_failure"
    # A new request gets its own edits: the count starts again and the buyer may edit.
    assert out.case.edits == 0
    again = act(
        b, out.case, facts, A.EDIT_REQUEST, BUYER, t + timedelta(minutes=5), description="补充说明"
    )
    assert again.case.edits == 1


def test_R5_6_resubmit_is_checked_like_a_new_request(build: Builder) -> None:
    """The resubmitted reason and amount must still hold: the cap of a no-reason request
    has no freight (R5.2)."""
    opened, facts = open_case(build, CaseType.REFUND_ONLY, "defect", lines=WHOLE_ORDER)
    assert opened.case.requested == facts.order.total_paid
    code = build.refusal_code_for("review", "defect", facts.order, WHOLE_ORDER)
    t = build.now + timedelta(hours=1)
    rejected = act(
        build,
        opened.case,
        facts,
        A.REJECT,
        MERCHANT,
        t,
        refusal_code=code.code,
        evidence=build.evidence_for(code),
    ).case
    cap = build.cap(dataclasses.replace(rejected, reason="changed_mind"), facts)
    assert cap < rejected.requested

    t += timedelta(hours=1)
    with pytest.raises(IllegalTransition) as err:
        act(build, rejected, facts, A.RESUBMIT, BUYER, t, reason="changed_mind")
    assert (err.value.code, err.value.rule) == ("amount.exceeds_paid", "R5.2")
    out = act(build, rejected, facts, A.RESUBMIT, BUYER, t, reason="changed_mind", amount=cap)
    assert out.to_state is State.AWAITING_MERCHANT
    assert out.case.requested == cap


# --------------------------------------------------------------------------- R5 deadlines
# Once a deadline is due, the party that had to act before it may no longer act: the
# timeout decides. The other party may still act; a timeout never fires early.
JUST = timedelta(seconds=1)


def _profile_delay(profile: Profile, kind: DeadlineKind) -> timedelta:
    """How long each deadline runs, read from the profile (R5.1-R5.6, R2.4, R16.1, R11.1,
    R12.2)."""
    if kind is DeadlineKind.RULING_EXECUTION:  # R11.1: the profile's [intervention]
        assert profile.intervention is not None
        return timedelta(hours=profile.intervention.execution_hours)
    if kind is DeadlineKind.APPEAL_WINDOW:  # R12.2: the profile's [appeals]
        assert profile.appeals is not None
        return timedelta(hours=profile.appeals.buyer_window_hours)
    h = profile.handling
    return {
        DeadlineKind.MERCHANT_RESPONSE: timedelta(hours=h.merchant_response_hours),
        DeadlineKind.BUYER_OFFER_RESPONSE: timedelta(hours=h.buyer_offer_response_hours),
        DeadlineKind.RETURN_SHIPMENT: timedelta(days=h.buyer_ship_return_days),
        DeadlineKind.MERCHANT_RECEIPT: timedelta(hours=h.merchant_receipt_hours),
        DeadlineKind.REPLACEMENT_CONFIRM: timedelta(days=h.replacement_auto_confirm_days),
        DeadlineKind.RESUBMIT_WINDOW: timedelta(hours=h.resubmit_window_hours),
        DeadlineKind.PARCEL_RETURN: timedelta(  # R16.1
            hours=profile.logistics.returned_parcel_timeout_hours if profile.logistics else 0
        ),
    }[kind]


def test_R5_1_merchant_cannot_act_after_the_response_deadline_passed(build: Builder) -> None:
    opened, facts = open_case(build, CaseType.RETURN_REFUND, "defect")
    case = opened.case
    hours = build.profile.handling.merchant_response_hours
    due = build.due(case)
    assert due == build.now + timedelta(hours=hours)
    code = build.refusal_code_for("review", case.reason, facts.order, case.lines)
    merchant_moves: dict[Action, dict[str, object]] = {
        A.APPROVE_REFUND: {},
        A.APPROVE_RETURN: {},
        A.COUNTER_OFFER: {"amount": build.money(case.requested.amount // 2)},
        A.REJECT: {"refusal_code": code.code, "evidence": build.evidence_for(code)},
    }
    assert set(machine.available_actions(case, MERCHANT)) == set(merchant_moves)

    for action, kw in merchant_moves.items():
        in_time = act(build, case, facts, action, MERCHANT, due - JUST, **kw)
        assert in_time.from_state is State.AWAITING_MERCHANT
        for late in (due, due + timedelta(hours=hours)):
            with pytest.raises(IllegalTransition) as err:
                act(build, case, facts, action, MERCHANT, late, **kw)
            assert (err.value.code, err.value.rule) == ("deadline.passed", "R5.1")

    # The system decides for the merchant instead.
    out = act(build, case, facts, A.MERCHANT_TIMEOUT, SYSTEM, due)
    assert out.to_state is State.AWAITING_RETURN


def test_R5_1_buyer_may_still_cancel_after_the_merchant_deadline_passed(build: Builder) -> None:
    opened, facts = open_case(build, CaseType.REFUND_ONLY, "defect")
    hours = build.profile.handling.merchant_response_hours
    due = build.due(opened.case)
    assert due == build.now + timedelta(hours=hours)
    with pytest.raises(IllegalTransition) as err:
        act(build, opened.case, facts, A.APPROVE_REFUND, MERCHANT, due)
    assert err.value.code == "deadline.passed"

    for late in (due, due + timedelta(hours=hours)):
        out = act(build, opened.case, facts, A.CANCEL, BUYER, late)
        assert out.to_state is State.CLOSED
        assert out.refund is None
        assert out.case.closed_at == late


def test_R5_3_buyer_cannot_ship_after_the_return_deadline_passed(build: Builder) -> None:
    opened, facts = open_case(build, CaseType.RETURN_REFUND, "changed_mind")
    approved_at = build.now + timedelta(hours=1)
    approved = act(build, opened.case, facts, A.APPROVE_RETURN, MERCHANT, approved_at).case
    days = build.profile.handling.buyer_ship_return_days
    due = build.due(approved)
    assert due == approved_at + timedelta(days=days)
    carrier, number = build.sf_tracking
    tracking = {"carrier": carrier, "tracking_number": number}

    shipped = act(build, approved, facts, A.SHIP_RETURN, BUYER, due - JUST, **tracking)
    assert shipped.to_state is State.RETURN_SHIPPED
    for late in (due, due + timedelta(days=days)):
        with pytest.raises(IllegalTransition) as err:
            act(build, approved, facts, A.SHIP_RETURN, BUYER, late, **tracking)
        assert (err.value.code, err.value.rule) == ("deadline.passed", "R5.3")

    out = act(build, approved, facts, A.RETURN_SHIP_TIMEOUT, SYSTEM, due)
    assert out.to_state is State.CLOSED and out.refund is None


@pytest.mark.parametrize("confirmed", [False, True], ids=["delivered", "receipt_confirmed"])
def test_R5_4_merchant_cannot_refuse_after_the_receipt_deadline_passed(
    build: Builder, confirmed: bool
) -> None:
    shipped = build.case(
        CaseType.RETURN_REFUND, State.RETURN_SHIPPED, deadline_kind=None, deadline_at=None
    )
    facts = build.facts(build.order())
    hours = build.profile.handling.merchant_receipt_hours
    case = act(build, shipped, facts, A.RETURN_DELIVERED, CARRIER, build.now).case
    due = build.due(case)
    assert due == build.now + timedelta(hours=hours)
    if confirmed:
        later = build.now + timedelta(hours=1)
        case = act(build, case, facts, A.CONFIRM_RECEIPT, MERCHANT, later).case
        assert build.due(case) == due  # the clock keeps running
    code = _after_receipt_code(build, case, facts)
    refusal: dict[str, object] = {
        "refusal_code": code.code,
        "evidence": (EvidenceKind.CARRIER_PROOF,),
    }

    refused = act(build, case, facts, A.REFUSE_REFUND, MERCHANT, due - JUST, **refusal)
    assert refused.to_state is State.REJECTED
    for late in (due, due + timedelta(hours=hours)):
        with pytest.raises(IllegalTransition) as err:
            act(build, case, facts, A.REFUSE_REFUND, MERCHANT, late, **refusal)
        assert (err.value.code, err.value.rule) == ("deadline.passed", "R5.4")

    out = act(build, case, facts, A.RECEIPT_TIMEOUT, SYSTEM, due)
    assert out.to_state is State.REFUNDED
    assert out.refund is not None and out.refund.rule == "R5.4"


def test_R2_4_buyer_may_still_confirm_a_replacement_after_the_auto_confirm_time(
    build: Builder,
) -> None:
    """Nobody is late for the replacement confirmation: it only completes the case."""
    case = build.case(CaseType.RESHIP, State.REPLACEMENT_SHIPPED)
    assert case.replacement_shipment is not None
    days = build.profile.handling.replacement_auto_confirm_days
    due = build.due(case)
    assert due == case.replacement_shipment.shipped_at + timedelta(days=days)
    out = act(build, case, build.facts(build.order()), A.CONFIRM_REPLACEMENT, BUYER, due + JUST)
    assert out.to_state is State.COMPLETED


# Every state holding a deadline, with each request type its timeout applies to.
TIMEOUT_CASES = [
    (t, s)
    for s, kind in machine.STATE_DEADLINES.items()
    for t in CaseType
    if machine.transition_for(s, machine.DEADLINE_ACTIONS[kind], t) is not None
]
TIMEOUT_MOVES = [pytest.param(t, s, id=f"{t.value}-{s.value}") for t, s in TIMEOUT_CASES]


def test_R5_every_timeout_action_is_covered() -> None:
    timeouts = {a for a in Action if a.value.endswith("_timeout")}
    assert set(machine.DEADLINE_ACTIONS.values()) == timeouts
    covered = {machine.DEADLINE_ACTIONS[machine.STATE_DEADLINES[s]] for _, s in TIMEOUT_CASES}
    assert covered == timeouts


@pytest.mark.parametrize(("case_type", "state"), TIMEOUT_MOVES)
def test_R5_timeouts_are_refused_before_the_deadline_is_due(
    build: Builder, case_type: CaseType, state: State
) -> None:
    kind = machine.STATE_DEADLINES[state]
    action = machine.DEADLINE_ACTIONS[kind]
    row = machine.transition_for(state, action, case_type)
    assert row is not None and row.actor is SYSTEM
    case = build.case(case_type, state)
    facts = build.facts(build.order_for(case_type))
    due = build.due(case)
    assert due == build.entered_at(case) + _profile_delay(build.profile, kind)

    with pytest.raises(IllegalTransition) as err:
        act(build, case, facts, action, SYSTEM, due - JUST)
    assert err.value.code == "deadline.not_due"

    out = act(build, case, facts, action, SYSTEM, due)
    assert out.to_state in row.targets
    assert out.rule == row.rule


def test_R5_a_timeout_needs_its_own_deadline_on_the_case(build: Builder) -> None:
    facts = build.facts(build.order())
    long_after = build.now + timedelta(days=build.profile.windows.legal_cap_days)
    no_deadline = build.case(CaseType.REFUND_ONLY, deadline_kind=None, deadline_at=None)
    other_kind = build.case(
        CaseType.REFUND_ONLY,
        deadline_kind=DeadlineKind.RETURN_SHIPMENT,
        deadline_at=build.now - timedelta(days=1),
    )
    for case in (no_deadline, other_kind):
        with pytest.raises(IllegalTransition) as err:
            act(build, case, facts, A.MERCHANT_TIMEOUT, SYSTEM, long_after)
        assert err.value.code == "deadline.not_due"


# --------------------------------------------------------------------------- R5.2 offers
@pytest.mark.parametrize("case_type", [CaseType.REFUND_UNSHIPPED, CaseType.RESHIP])
def test_R5_2_counter_offer_cannot_ask_for_a_return_the_buyer_cannot_make(
    build: Builder, case_type: CaseType
) -> None:
    """Before shipment nothing can come back; on a reship the buyer is missing goods."""
    b = build
    opened, facts = open_case(b, case_type, DEFAULT_OFFER_REASON[case_type])
    with pytest.raises(ValidationFailed) as err:
        act(
            b,
            opened.case,
            facts,
            A.COUNTER_OFFER,
            MERCHANT,
            b.now,
            amount=b.money(100),
            return_required=True,
        )
    assert (err.value.code, err.value.rule) == ("offer.return_not_possible", "R5.2")
    out = act(b, opened.case, facts, A.COUNTER_OFFER, MERCHANT, b.now, amount=b.money(100))
    assert out.to_state is State.AWAITING_BUYER


DEFAULT_OFFER_REASON = {
    CaseType.REFUND_UNSHIPPED: "ordered_by_mistake",
    CaseType.RESHIP: "missing_item",
}


@pytest.mark.parametrize("case_type", list(CaseType))
def test_R2_every_state_reachable_from_the_table_is_reachable_per_type(
    case_type: CaseType,
) -> None:
    reach = machine.reachable_states(case_type)
    assert State.AWAITING_MERCHANT in reach and State.CLOSED in reach
    assert (State.AWAITING_RETURN in reach) == (case_type in machine.RETURN_OFFER_TYPES)
    assert (State.COMPLETED in reach) == (case_type in (CaseType.EXCHANGE, CaseType.RESHIP))


@pytest.mark.parametrize("state", [State.AWAITING_MERCHANT, State.RETURN_RECEIVED])
def test_R4_4_an_unsealed_goods_refusal_rests_on_proof_of_the_unsealing(
    build: Builder, state: State
) -> None:
    """The shop's evidence items (the service resolved their ids to kinds) must show the
    unsealing; a chat log proves nothing here, and no proof is refused too, under R4.4."""
    masks = build.product(3, "补水面膜 10 片装", flags={ProductFlag.SEAL_SENSITIVE})
    sealed = build.order(lines=[build.line(1, masks, quantity=1, unit_price=8_900)])
    case = build.case(CaseType.RETURN_REFUND, state, order=sealed, reason_code="changed_mind")
    for evidence, error in (([EvidenceKind.CHAT_LOG], ValidationFailed), ([], IllegalTransition)):
        with pytest.raises(error) as err:
            _refuse(build, case, build.facts(sealed), "unsealed_hygiene_goods", evidence)
        assert err.value.rule == "R4.4"
        assert err.value.params["field"] == "evidence_ids"
    out = _refuse(build, case, build.facts(sealed), "unsealed_hygiene_goods", [EvidenceKind.PHOTO])
    assert out.to_state is State.REJECTED
