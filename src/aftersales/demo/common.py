"""What every part of the demo shares: its clock, the summary it prints with the
commands to try, tracking numbers, the shops' codes, evidence pictures and opening a
request."""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import NamedTuple

from PIL import Image

from aftersales.domain.case_types import CaseType
from aftersales.domain.i18n import N_
from aftersales.domain.policy import (
    EvidenceKind,
)
from aftersales.i18n import translate
from aftersales.services import cases as svc
from aftersales.services import evidence, orders
from aftersales.services.actors import Actor
from aftersales.services.context import Context
from aftersales.services.demo import (
    DEMO_SHOP_PREFIX,
)


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


class Hint(NamedTuple):
    """A command to try next (without the program's name) and what it shows."""

    command: str
    shows: str | None = None  # an N_() message id


@dataclass
class DemoSummary:
    shops: int = 0
    buyers: int = 0
    products: int = 0
    orders: int = 0
    cases: dict[str, dict[str, int]] = field(default_factory=dict)
    sample: str = ""
    automated: list[Hint] = field(default_factory=list)
    arbitration: list[Hint] = field(default_factory=list)
    # `--if-empty` on a database with shops: "demo" (a demo is there) or "other" (shops of
    # someone else: no demo loaded).
    skipped: str = ""

    def render(self, locale: str, program: str) -> str:
        """What the demo did, in ``locale``; every hint runs as printed, ``program`` being
        how this CLI is started from the current directory (e.g. ``.venv/bin/aftersales``)."""
        t = partial(translate, locale=locale)
        if self.skipped:
            return t(
                N_("Demo data already present: nothing loaded.")
                if self.skipped == "demo"
                else N_("The database already has shops: no demo data loaded.")
            )
        lines = [
            t(
                N_("demo: {shops} shops, {buyers} buyers, {products} products, {orders} orders"),
                shops=self.shops,
                buyers=self.buyers,
                products=self.products,
                orders=self.orders,
            )
        ]
        for ctype, states in sorted(self.cases.items()):
            lines.append(f"  {ctype}: " + ", ".join(f"{s}={n}" for s, n in sorted(states.items())))
        hints = [(N_("try"), Hint(f"case show {self.sample}"))] if self.sample else []
        hints += [(N_("automation"), h) for h in self.automated]
        hints += [(N_("arbitration"), h) for h in self.arbitration]
        for label, hint in hints:
            line = f"{t(label)}: {program} {hint.command}"
            lines.append(f"{line}  # {t(hint.shows)}" if hint.shows else line)
        return "\n".join(lines)


_tracking = itertools.count(1)


def sf_tracking() -> dict[str, object]:
    return {"carrier": "SF", "tracking_number": f"SF{7_000_000_000_000 + next(_tracking)}"}


def shop_codes_of(stamp: str, specs: list[tuple[str, str, str, str]]) -> list[str]:
    return [f"{DEMO_SHOP_PREFIX}{i}-{stamp}" for i in range(1, len(specs) + 1)]


def png() -> bytes:
    """A 1x1 PNG for the demo's evidence photos."""
    out = io.BytesIO()
    Image.new("RGB", (1, 1), (255, 128, 0)).save(out, format="PNG")
    return out.getvalue()


def proof_ids(ctx: Context, actor: Actor, number: str, kinds: list[EvidenceKind]) -> list[int]:
    """The shop uploads one picture of each kind to the case; their ids, for a refusal."""

    return [
        evidence.upload_evidence(
            ctx,
            actor,
            number,
            kind=kind.value,
            filename=f"{kind.value}.png",
            content_type="image/png",
            content=io.BytesIO(png()),
            description="商家举证 the shop's proof",
        ).id
        for kind in kinds
    ]


def open_request(
    ctx: Context, buyer: int, order: str, ctype: CaseType, reason: str, amount: int
) -> str:
    loaded = orders.get_order(ctx, Actor.buyer(buyer), order).order
    case = svc.open_case(
        ctx,
        Actor.buyer(buyer),
        order_number=order,
        type=ctype,
        lines=[svc.LineRequest(loaded.lines[0].id, loaded.lines[0].quantity)],
        reason=reason,
        amount=amount,
        description="演示自动化 automation demo",
        evidence=[EvidenceKind.PHOTO],
    )
    return case.number
