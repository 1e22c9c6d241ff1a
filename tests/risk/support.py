"""A shop and a buyer whose history the R15.2 tests build through the real services."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aftersales.domain.case_types import CaseType
from aftersales.domain.policy import EvidenceKind, Profile, RiskRules
from aftersales.services import cases as svc
from aftersales.services import orders
from aftersales.services import risk as risk_svc
from aftersales.services.actors import Actor
from aftersales.services.context import Context
from aftersales.store import catalog as catalog_store
from aftersales.store import risk as risk_store
from tests.factories import SYSTEM, make_shop

AGENT = Actor.platform("agent-7")
MUG = orders.ProductIn("MUG", "Mug")
CUP = orders.ProductIn("CUP", "Cup")
_seq = itertools.count(1)


def rules(ctx: Context, profile_id: str = "douyin") -> RiskRules:
    risk = ctx.profiles.current[profile_id].risk
    assert risk is not None
    return risk


def with_rules(profile: Profile, **changes: Any) -> Profile:
    """A copy of ``profile`` whose [risk] numbers are changed (weights merge)."""
    assert profile.risk is not None
    if "weights" in changes:
        changes["weights"] = {**profile.risk.weights, **changes["weights"]}
    return profile.model_copy(update={"risk": profile.risk.model_copy(update=changes)})


@dataclass
class Shopper:
    """One shop, one product, one buyer (with a marketplace ref) and their history."""

    ctx: Context
    shop_id: int
    product_id: int
    other_product_id: int
    buyer_id: int
    ref: str
    shop_code: str
    buyer_in: orders.BuyerIn

    @property
    def buyer(self) -> Actor:
        return Actor.buyer(self.buyer_id)

    def order(
        self, *, quantity: int = 1, other_quantity: int = 0, paid_ago: timedelta | None = None
    ) -> str:
        """A paid order, shipped and signed for yesterday (paid ``paid_ago`` before now,
        default 5 days)."""
        now = self.ctx.now()
        paid_at = now - (paid_ago or timedelta(days=5))
        number = f"RO{next(_seq):08d}"
        lines = [orders.LineIn(MUG.sku, MUG.title, quantity, 1_000, 1_000 * quantity)]
        if other_quantity:
            lines.append(
                orders.LineIn(CUP.sku, CUP.title, other_quantity, 1_000, 1_000 * other_quantity)
            )
        orders.push_order(
            self.ctx,
            SYSTEM,
            number=number,
            shop_code=self.shop_code,
            buyer=self.buyer_in,
            currency="CNY",
            paid_at=paid_at,
            shipped_at=max(paid_at, now - timedelta(days=3)),
            signed_at=max(paid_at, now - timedelta(days=1)),
            lines=lines,
        )
        return number

    def order_id(self, number: str) -> int:
        with self.ctx.db.read() as conn:
            oid = catalog_store.order_id_by_number(conn, number)
        assert oid is not None
        return oid

    def request(
        self,
        *,
        reason: str = "changed_mind",
        description: str = "Changed my mind about the colour.",
        evidence: Sequence[EvidenceKind] = (),
        order: str | None = None,
    ) -> str:
        """A return-and-refund request for one unit, on a new order unless ``order``."""
        number = order or self.order()
        with self.ctx.db.read() as conn:
            oid = catalog_store.order_id_by_number(conn, number)
            assert oid is not None
            loaded = catalog_store.load_order(conn, oid)
            assert loaded is not None
        case = svc.open_case(
            self.ctx,
            self.buyer,
            order_number=number,
            type=CaseType.RETURN_REFUND,
            lines=[svc.LineRequest(loaded.lines[0].id, 1)],
            reason=reason,
            amount=1_000,
            description=description,
            evidence=evidence,
        )
        return case.number

    def report(self, status: str = "pending", *, at: datetime | None = None) -> int:
        """A malicious-buyer report (R15.2) by the shop, reviewed into ``status``."""
        now = at or self.ctx.now()
        with self.ctx.db.write() as conn:
            rid = risk_store.insert_report(
                conn,
                shop_id=self.shop_id,
                buyer_id=self.buyer_id,
                reason="Claims every parcel arrives empty.",
                now=now,
            )
            if status != "pending":
                risk_store.set_report_status(conn, rid, status, now=now, reviewed_by="agent-7")
        return rid

    def view(self) -> risk_svc.RiskView:
        return risk_svc.buyer_risk(self.ctx, AGENT, self.ref)


def make_shopper(
    ctx: Context,
    *,
    registered_ago: timedelta | None = timedelta(days=400),
    created_ago: timedelta = timedelta(days=400),
    profile_id: str = "douyin",
) -> Shopper:
    n = next(_seq)
    now = ctx.now()
    code = f"RISK{n}"
    shop = make_shop(ctx, code, f"Risk shop {n}", return_address="1 Rd", profile_id=profile_id)
    product = orders.record_product(ctx, SYSTEM, code, MUG)
    other = orders.record_product(ctx, SYSTEM, code, CUP)
    ref = f"risk-buyer-{n}"
    buyer_in = orders.BuyerIn(
        ref,
        "Zhang San",
        f"137{n:08d}",
        registered_at=(now - registered_ago) if registered_ago is not None else None,
    )
    # The order system first announced the buyer ``created_ago`` (our own record's date,
    # what R15.2 reads when the marketplace gave no registration date), or on registering.
    first_seen = now - min(created_ago, registered_ago or created_ago)
    then = Context(ctx.db, ctx.profiles, ctx.settings, lambda: first_seen)
    buyer = orders.record_buyer(then, SYSTEM, buyer_in)
    return Shopper(ctx, shop, product, other, buyer, ref, code, buyer_in)
