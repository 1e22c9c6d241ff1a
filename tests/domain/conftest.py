"""Builders for pure domain tests: orders, cases, facts and commands. No database, no clock.

Every builder takes its time from ``Builder.now`` (an aware UTC datetime passed in by the
test) and its currency and numbers from the policy profile it was made with.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest

from aftersales.domain import machine
from aftersales.domain.case import Case, CaseLine, Command, CounterOffer, Facts, Shipment
from aftersales.domain.case_types import Action, ActorKind, CaseType, State
from aftersales.domain.catalog import Order, OrderLine, Product
from aftersales.domain.money import Money
from aftersales.domain.policy import (
    EvidenceKind,
    ProductFlag,
    Profile,
    RefusalCode,
    RegionalAutoRefund,
    Remedy,
)
from aftersales.domain.reasons import reason
from aftersales.profiles import load_profiles

# A fixed "now" for the domain (a Thursday, outside any Chinese statutory holiday).
NOW = datetime(2026, 11, 5, 4, 0, tzinfo=UTC)

SHOP_ID = 7
BUYER_ID = 42
SHOP_ADDRESS = "上海市浦东新区张江路 88 号 售后仓 200120"

# A realistic first reason per request type (R2, R3): refund before shipment for a
# mistaken order, a defect on a shipped order, a seven-day no-reason return, a wrong size
# exchanged, a missing part sent again.
DEFAULT_REASON: dict[CaseType, str] = {
    CaseType.REFUND_UNSHIPPED: "ordered_by_mistake",
    CaseType.REFUND_ONLY: "defect",
    CaseType.RETURN_REFUND: "changed_mind",
    CaseType.EXCHANGE: "size_colour_mismatch",
    CaseType.RESHIP: "missing_item",
}

# A valid SF Express number (SF + 13 digits) and a JD one (R5.3).
SF_TRACKING = ("SF", "SF1234567890123")
JD_TRACKING = ("JD", "JDVA12345678901")


@dataclass(frozen=True)
class Builder:
    """Makes realistic domain objects for one profile at one instant."""

    profile: Profile
    now: datetime = NOW

    sf_tracking: ClassVar[tuple[str, str]] = SF_TRACKING
    jd_tracking: ClassVar[tuple[str, str]] = JD_TRACKING
    shop_address: ClassVar[str] = SHOP_ADDRESS
    default_reason: ClassVar[dict[CaseType, str]] = DEFAULT_REASON

    # ------------------------------------------------------------------ money, catalog
    def money(self, amount: int) -> Money:
        return Money(amount, self.profile.currency)

    def product(
        self,
        id: int = 1,
        title: str = "不锈钢电热水壶 1.7L",
        flags: Iterable[ProductFlag] = (),
        declared_no_reason_days: int | None = None,
    ) -> Product:
        return Product(
            id=id,
            shop_id=SHOP_ID,
            sku=f"SKU-{id:04d}",
            title=title,
            flags=frozenset(flags),
            declared_no_reason_days=declared_no_reason_days,
        )

    def line(
        self,
        id: int,
        product: Product,
        quantity: int = 1,
        unit_price: int = 12_900,
        paid: int | None = None,
        downloaded: bool = False,
    ) -> OrderLine:
        return OrderLine(
            id=id,
            product=product,
            quantity=quantity,
            unit_price=self.money(unit_price),
            paid=self.money(unit_price * quantity if paid is None else paid),
            downloaded=downloaded,
        )

    def order(
        self,
        *,
        lines: list[OrderLine] | None = None,
        freight: int = 800,
        shipped: bool = True,
        signed_at: datetime | bool | None = True,
        shipping_insurance: bool = False,
    ) -> Order:
        """An order paid five days ago; shipped four days ago and signed two days ago unless
        told otherwise. ``signed_at=True`` means "signed two days before now"."""
        if lines is None:
            lines = [
                # a discounted kettle and two mugs
                self.line(1, self.product(1), quantity=1, unit_price=12_900, paid=11_900),
                self.line(2, self.product(2, "骨瓷马克杯 350ml"), quantity=2, unit_price=2_500),
            ]
        if signed_at is True:
            signed_at = self.now - timedelta(days=2) if shipped else None
        elif signed_at is False:
            signed_at = None
        return Order(
            id=1001,
            number="DY20261031000123",
            shop_id=SHOP_ID,
            buyer_id=BUYER_ID,
            currency=self.profile.currency,
            paid_at=self.now - timedelta(days=5),
            freight=self.money(freight),
            lines=lines,
            shipping_insurance=shipping_insurance,
            ship_by=self.now - timedelta(days=3),
            shipped_at=self.now - timedelta(days=4) if shipped else None,
            signed_at=signed_at,
        )

    def order_for(self, case_type: CaseType, **kw: object) -> Order:
        """An order at the stage the request type needs (R2.1: not shipped for
        refund_unshipped; signed for the others)."""
        if case_type is CaseType.REFUND_UNSHIPPED:
            kw.setdefault("shipped", False)
        return self.order(**kw)  # type: ignore[arg-type]

    def facts(
        self,
        order: Order,
        *,
        already_refunded: int = 0,
        tracking_in_use: bool = False,
        shop_return_address: str = SHOP_ADDRESS,
    ) -> Facts:
        return Facts(
            order=order,
            already_refunded=self.money(already_refunded),
            tracking_in_use=tracking_in_use,
            shop_return_address=shop_return_address,
        )

    # ------------------------------------------------------------------ cases
    def cap(self, case: Case, facts: Facts) -> Money:
        return machine.max_refundable(
            facts.order, case.lines, case.type, case.reason, self.profile, facts.already_refunded
        )

    def case(
        self,
        case_type: CaseType,
        state: State = State.AWAITING_MERCHANT,
        *,
        order: Order | None = None,
        lines: tuple[CaseLine, ...] = (CaseLine(1, 1),),
        reason_code: str | None = None,
        requested: int | None = None,
        **overrides: object,
    ) -> Case:
        """A case of ``case_type`` sitting in ``state`` with what that state implies: the
        pending deadline of the state, a counter-offer while the buyer decides, a return
        address once a return is approved, shipments once goods travel, a refusal one hour
        ago when rejected, and the ruled amount
        while a ruling for the buyer awaits execution (:meth:`ruled_for_buyer`, R11.1).

        The deadline is planned from the profile as the move into ``state`` planned it (see
        :meth:`entered_at`), so it is still running at ``now``: a party's move at ``now`` is
        in time, and a timeout fires only at :meth:`due` (R5). Overriding ``deadline_kind``
        or ``deadline_at`` keeps the override; overriding ``rejected_at`` or
        ``replacement_shipment`` moves the deadline with it."""
        order = order or self.order_for(case_type)
        rsn = reason_code or DEFAULT_REASON[case_type]
        if requested is None:
            if case_type in (CaseType.EXCHANGE, CaseType.RESHIP):
                requested = 0  # goods, not money (R2.4, R2.5)
            else:
                requested = machine.max_refundable(
                    order, lines, case_type, rsn, self.profile, self.money(0)
                ).amount
        created = self.now - timedelta(days=1)
        case = Case(
            id=501,
            number="AS2026110400017",
            shop_id=SHOP_ID,
            buyer_id=BUYER_ID,
            order_id=order.id,
            type=case_type,
            state=state,
            lines=lines,
            first_reason=rsn,
            reason=rsn,
            description="收到后发现问题，申请售后",
            requested=self.money(requested),
            profile_id=self.profile.id,
            profile_version=self.profile.version,
            created_at=created,
            updated_at=created,
        )
        if state is State.AWAITING_BUYER:
            case.offer = CounterOffer(self.money(max(requested // 2, 1)), False, "部分退款")
        if state in (
            State.AWAITING_RETURN,
            State.RETURN_SHIPPED,
            State.RETURN_DELIVERED,
            State.RETURN_RECEIVED,
        ):
            case.return_address = SHOP_ADDRESS
        if state in (State.RETURN_SHIPPED, State.RETURN_DELIVERED, State.RETURN_RECEIVED):
            case.return_shipment = Shipment("JD", JD_TRACKING[1], self.now - timedelta(hours=30))
        if state is State.REPLACEMENT_SHIPPED:
            case.replacement_shipment = Shipment(
                "SF", SF_TRACKING[1], self.now - timedelta(hours=20)
            )
        if state is State.REJECTED:
            code = self.refusal_code_for("review", rsn, order, lines)
            case.refusal_code = code.code
            case.rejected_at = self.now - timedelta(hours=1)
        if state is State.AWAITING_EXECUTION:
            case.agreed = self.ruled_for_buyer(case, self.facts(order))
        if overrides:
            case = dataclasses.replace(case, **overrides)
        kind = machine.STATE_DEADLINES.get(state)
        if kind is not None and not {"deadline_kind", "deadline_at"} & overrides.keys():
            case.deadline_kind = kind
            case.deadline_at = self.entered_at(case) + machine.deadline_delay(kind, self.profile)
        return case

    def entered_at(self, case: Case) -> datetime:
        """When ``case`` entered its state, which starts the state's deadline: the refusal
        when rejected, the replacement's dispatch once shipped, otherwise an hour before
        ``now`` (for ``awaiting_execution`` and ``ruled``: the ruling, which starts the
        execution deadline, R11.1, and the buyer's appeal window, R12.2)."""
        if case.state is State.REJECTED and case.rejected_at is not None:
            return case.rejected_at
        if case.state is State.REPLACEMENT_SHIPPED and case.replacement_shipment is not None:
            return case.replacement_shipment.shipped_at
        return self.now - timedelta(hours=1)

    def ruled_for_buyer(self, case: Case, facts: Facts) -> Money | None:
        """What a ruling for the buyer that waits for the merchant to execute it gave
        (R10.4, R11.1): a reship sends goods (no money); any other request was ruled a full
        refund of what was asked (an exchange's goods come back through the return: a
        ruling that waits for execution refunds what was paid)."""
        if case.type is CaseType.RESHIP:
            return None
        remedy = Remedy.FULL_REFUND
        return machine.ruled_amount(
            case, Command(Action.RULE, ActorKind.PLATFORM, remedy=remedy), facts, self.profile
        )

    @staticmethod
    def due(case: Case) -> datetime:
        """When the case's pending deadline is due: its timeout may fire from then on, and
        the party that had to act before it may no longer act (R5)."""
        assert case.deadline_at is not None, f"a {case.state.value} case holds no deadline"
        return case.deadline_at

    # ------------------------------------------------------------------ refusals (R5.5)
    def refusal_code_for(
        self,
        stage: str,
        reason_code: str,
        order: Order,
        lines: tuple[CaseLine, ...],
        *,
        evidence_kind: EvidenceKind | None = None,
    ) -> RefusalCode:
        """The first usable refusal code of the profile for this stage, reason and goods
        (optionally one that accepts ``evidence_kind``)."""
        group = reason(reason_code).group
        flags: set[ProductFlag] = set()
        for cl in lines:
            ol = order.line(cl.order_line_id)
            if ol is not None:
                flags |= ol.product.flags
        for code in self.profile.refusal_codes:
            if not code.allowed or stage not in code.stages:
                continue
            if code.reason_groups and group not in code.reason_groups:
                continue
            if code.requires_product_flag is not None and code.requires_product_flag not in flags:
                continue
            if evidence_kind is not None and evidence_kind not in code.evidence_kinds:
                continue
            return code
        raise LookupError(f"profile {self.profile.id} has no {stage} code for {reason_code}")

    @staticmethod
    def evidence_for(code: RefusalCode) -> tuple[EvidenceKind, ...]:
        """Enough evidence of the kinds the code asks for."""
        if not code.evidence_required:
            return ()
        need = max(code.min_evidence, 1)
        kinds = list(code.evidence_kinds)
        return tuple(kinds[i % len(kinds)] for i in range(need))

    # ------------------------------------------------------------------ commands
    @staticmethod
    def command(action: Action, actor: ActorKind, **kw: object) -> Command:
        return Command(action, actor, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def profiles() -> dict[str, Profile]:
    return load_profiles()


@pytest.fixture(scope="session")
def douyin(profiles: dict[str, Profile]) -> Profile:
    return profiles["douyin"]


@pytest.fixture(scope="session")
def tiktok(profiles: dict[str, Profile]) -> Profile:
    return profiles["tiktok"]


# R8.2: a regional auto-approval covering any amount, for orders of this region only.
TEST_REGION = "TEST_REGION"


@pytest.fixture(scope="session")
def build(douyin: Profile, tiktok: Profile) -> Builder:
    """Builders on the default (douyin) profile at ``NOW``, plus an R8.2 regional
    auto-approval for orders of ``TEST_REGION`` (no other order has a region) and tiktok's
    buyer appeals (R12.2: douyin buyers do not appeal, so no douyin case is ever ``ruled``),
    so that every row of the table can be walked (``build_douyin_appeals`` keeps douyin's
    own appeals)."""
    rules = douyin.refund_without_return
    assert rules is not None
    regional = RegionalAutoRefund(
        region=TEST_REGION, from_date="2000-01-01", min_amount=0, max_amount=10**12
    )
    update = {"auto_approval": (*rules.auto_approval, regional)}
    assert douyin.appeals is not None and tiktok.appeals is not None
    appeals = douyin.appeals.model_copy(
        update={
            "buyer_max_appeals": tiktok.appeals.buyer_max_appeals,
            "buyer_window_hours": tiktok.appeals.buyer_window_hours,
        }
    )
    profile = douyin.model_copy(
        update={
            "refund_without_return": rules.model_copy(update=update),
            "appeals": appeals,
        }
    )
    return Builder(profile)


@pytest.fixture(scope="session")
def build_douyin_appeals(build: Builder, douyin: Profile) -> Builder:
    """``build`` with douyin's own appeals: buyers do not appeal, so a ruling against the
    buyer closes the case (R12.2)."""
    return dataclasses.replace(
        build, profile=build.profile.model_copy(update={"appeals": douyin.appeals})
    )


@pytest.fixture(scope="session")
def build_tiktok(tiktok: Profile) -> Builder:
    return Builder(tiktok)
