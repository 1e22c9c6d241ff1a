"""R10.2: a realistic mix of disputes, judged by the engine, and the buyer's success rate
per family of fault.

Pure and seeded: :func:`generate` draws disputes from a ``random.Random`` (the patterns of
the seeds: counterfeit, not as described, late or wrong shipment, a refused valid
seven-day return, ignored breakage, a lost parcel not intercepted; damage found days after
signing, an influencer's over-claim, unreported force majeure; a change of mind after
use, forged photos, a request out of window). Each scenario says what happened (facts on
record, the claim, each side's evidence with its realistic gaps and noise, the signals);
the family is kept beside the dispute for the measurement and never shown to the engine,
which judges :class:`~aftersales.domain.judgment.DisputeFacts`, evidence and signals only.

``aftersales judgment base-rates [--n N] [--seed SEED]`` prints the table (the domain
reads no files: the command loads the profile).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from aftersales.domain.case_types import CaseType
from aftersales.domain.judgment import DisputeFacts, EvidenceFact, Signals, recommend
from aftersales.domain.money import Money
from aftersales.domain.policy import EvidenceKind, Issue, Judgment, Party, RiskLevel, Side
from aftersales.domain.reasons import reason

# A fixed instant the generated disputes are dated from (the domain reads no clock).
EPOCH = datetime(2026, 11, 5, 4, 0, tzinfo=UTC)
DEFAULT_SEEDS: tuple[int, ...] = (20261105, 7)
DEFAULT_N = 3000


class Family(StrEnum):
    """R10.2: who was at fault, as the generator knows it (the engine never sees it)."""

    MERCHANT = "merchant_at_fault"
    SHARED = "shared_or_unclear"
    BUYER = "buyer_at_fault"


# R10.2 targets, for the report: (lowest, highest) buyer success rate per family.
TARGETS: dict[Family, tuple[float, float]] = {
    Family.MERCHANT: (0.90, 1.0),
    Family.SHARED: (0.40, 0.60),
    Family.BUYER: (0.0, 0.10),
}


@dataclass(frozen=True, slots=True)
class Dispute:
    family: Family  # for the measurement only
    scenario: str
    facts: DisputeFacts
    evidence: tuple[EvidenceFact, ...]
    signals: Signals


class _Draw:
    """One dispute being drawn: facts, evidence and signals with realistic noise."""

    def __init__(self, rng: random.Random, number: int) -> None:
        self.rng = rng
        self.number = number
        self.items: list[EvidenceFact] = []

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def facts(
        self,
        case_type: CaseType,
        reason_code: str,
        issue: Issue,
        *,
        days_after_signing: int | None = 1,
        merchant_silent: float = 0.03,
        **flags: bool,
    ) -> DisputeFacts:
        signed = EPOCH - timedelta(days=10)
        reported = signed + timedelta(days=days_after_signing or 0, hours=self.rng.randint(1, 20))
        return DisputeFacts(
            case_type=case_type,
            reason_code=reason_code,
            reason_group=reason(reason_code).group,
            issue=issue,
            requested=Money(self.rng.randint(20, 800) * 100, "CNY"),
            reported_at=reported,
            signed_at=None if days_after_signing is None else signed,
            merchant_responded=not self.chance(merchant_silent),
            shipping_insurance=self.chance(0.3),
            **flags,
        )

    def add(
        self,
        party: Party,
        kind: EvidenceKind,
        supports: Side,
        claim: Issue | None = None,
        *,
        first: bool = False,
        credible: bool = True,
    ) -> None:
        """Add an item; a few are late or beside the point, as in real disputes."""
        self.items.append(
            EvidenceFact(
                id=f"EV{self.number:05d}-{len(self.items) + 1}",
                party=party,
                kind=kind,
                supports=supports,
                claim=claim,
                first_submission=first and party is Party.BUYER,
                relevant=not self.chance(0.04),
                credible=credible,
                in_time=not self.chance(0.04),
            )
        )

    def buyer(
        self,
        claim: Issue,
        first: Sequence[EvidenceKind],
        later: Sequence[EvidenceKind],
        *,
        p_first: float,
        p_later: float,
        p_none: float,
    ) -> None:
        """The buyer's evidence: nothing at all (p_none); otherwise each first-submission
        kind with p_first, each later kind with p_later."""
        if self.chance(p_none):
            return
        for kind in first:
            if self.chance(p_first):
                self.add(Party.BUYER, kind, Side.BUYER, claim, first=True)
        for kind in later:
            if self.chance(p_later):
                self.add(Party.BUYER, kind, Side.BUYER, claim)

    def merchant(
        self, claim: Issue, kinds: Sequence[tuple[EvidenceKind, float]], *, credible: float = 1.0
    ) -> None:
        for kind, p in kinds:
            if self.chance(p):
                self.add(Party.MERCHANT, kind, Side.MERCHANT, claim, credible=self.chance(credible))

    def signals(
        self,
        *,
        reviews: tuple[float, float],
        complaints: tuple[int, int],
        risk: tuple[float, float] = (0.12, 0.03),
        fm: bool = False,
    ) -> Signals:
        medium, high = risk
        roll = self.rng.random()
        level = (
            RiskLevel.HIGH
            if roll < high
            else RiskLevel.MEDIUM
            if roll < high + medium
            else RiskLevel.LOW
        )
        rate = self.rng.uniform(*reviews) if self.chance(0.9) else None
        return Signals(
            positive_review_rate=rate,
            shop_complaints=self.rng.randint(*complaints),
            shop_orders=self.rng.randint(300, 3000),
            buyer_risk=level,
            force_majeure_approved=fm,
        )


Built = tuple[DisputeFacts, Signals]
Scenario = Callable[[_Draw], Built]

P, V, U, C = (
    EvidenceKind.PHOTO,
    EvidenceKind.VIDEO,
    EvidenceKind.UNBOXING_VIDEO,
    EvidenceKind.CHAT_LOG,
)
D, Q, CP, L = (
    EvidenceKind.DOCUMENT,
    EvidenceKind.QC_RECORD,
    EvidenceKind.CARRIER_PROOF,
    EvidenceKind.LOGISTICS_RECORD,
)
# Shops at fault: more complaints, weaker reviews; ordinary shops: few, good.
BAD_SHOP = {"reviews": (0.5, 0.92), "complaints": (0, 40)}
SHOP = {"reviews": (0.72, 0.98), "complaints": (0, 6)}


# ------------------------------------------------------------------ merchant at fault
def counterfeit(d: _Draw) -> Built:
    f = d.facts(CaseType.RETURN_REFUND, "counterfeit", Issue.COUNTERFEIT, days_after_signing=2)
    d.buyer(Issue.COUNTERFEIT, [P], [D, C], p_first=0.95, p_later=0.4, p_none=0.04)
    d.merchant(Issue.COUNTERFEIT, [(D, 0.35)], credible=0.3)  # a purchase invoice, often fake
    return f, d.signals(**BAD_SHOP)  # type: ignore[arg-type]


def not_as_described(d: _Draw) -> Built:
    f = d.facts(CaseType.RETURN_REFUND, "not_as_described", Issue.NOT_AS_DESCRIBED)
    d.buyer(Issue.NOT_AS_DESCRIBED, [P, C], [V], p_first=0.9, p_later=0.3, p_none=0.04)
    d.merchant(Issue.NOT_AS_DESCRIBED, [(P, 0.3)])
    return f, d.signals(**BAD_SHOP)  # type: ignore[arg-type]


def late_shipment(d: _Draw) -> Built:
    f = d.facts(CaseType.REFUND_ONLY, "late_shipment", Issue.LATE_SHIPMENT, shipped_late=True)
    d.buyer(Issue.LATE_SHIPMENT, [C], [], p_first=0.5, p_later=0, p_none=0.3)
    d.merchant(Issue.LATE_SHIPMENT, [(C, 0.2)])
    return f, d.signals(**SHOP)  # type: ignore[arg-type]


def wrong_item(d: _Draw) -> Built:
    f = d.facts(CaseType.RETURN_REFUND, "wrong_item", Issue.WRONG_ITEM, days_after_signing=0)
    d.buyer(Issue.WRONG_ITEM, [P], [U], p_first=0.95, p_later=0.4, p_none=0.04)
    d.merchant(Issue.WRONG_ITEM, [(Q, 0.25)], credible=0.6)  # a packing photo of another order
    return f, d.signals(**SHOP)  # type: ignore[arg-type]


def refused_seven_day_return(d: _Draw) -> Built:
    f = d.facts(
        CaseType.RETURN_REFUND,
        "changed_mind",
        Issue.CHANGED_MIND,
        days_after_signing=d.rng.randint(0, 6),
    )
    d.buyer(Issue.CHANGED_MIND, [P], [], p_first=0.5, p_later=0, p_none=0.2)
    # Refused on grounds that are themselves refused (opened package, activation: R4.4).
    for _ in range(d.rng.choice((0, 1, 1))):
        d.items.append(
            EvidenceFact(
                f"EV{d.number:05d}-m{len(d.items)}",
                Party.MERCHANT,
                C,
                Side.MERCHANT,
                Issue.CHANGED_MIND,
                relevant=False,
            )
        )
    return f, d.signals(**SHOP)  # type: ignore[arg-type]


def ignored_breakage(d: _Draw) -> Built:
    f = d.facts(
        CaseType.RETURN_REFUND,
        "damaged_in_transit",
        Issue.DAMAGED,
        days_after_signing=d.rng.randint(0, 1),
    )
    d.buyer(Issue.DAMAGED, [P, U], [CP], p_first=0.85, p_later=0.3, p_none=0.04)
    d.merchant(Issue.DAMAGED, [(Q, 0.3)])
    return f, d.signals(**SHOP)  # type: ignore[arg-type]


def lost_not_intercepted(d: _Draw) -> Built:
    f = d.facts(
        CaseType.REFUND_ONLY,
        "lost_in_transit",
        Issue.LOST_IN_TRANSIT,
        days_after_signing=None,
        parcel_lost=True,
        intercept_missed=True,
    )
    d.buyer(Issue.LOST_IN_TRANSIT, [C], [], p_first=0.5, p_later=0, p_none=0.4)
    d.add(Party.PLATFORM, L, Side.BUYER, Issue.LOST_IN_TRANSIT)
    return f, d.signals(**SHOP)  # type: ignore[arg-type]


# ------------------------------------------------------------------ shared or unclear
def damage_found_later(d: _Draw) -> Built:
    f = d.facts(
        CaseType.RETURN_REFUND,
        "damaged_in_transit",
        Issue.DAMAGED,
        days_after_signing=d.rng.randint(3, 6),
    )
    d.buyer(Issue.DAMAGED, [P], [V], p_first=0.85, p_later=0.5, p_none=0.08)
    d.merchant(Issue.DAMAGED, [(Q, 0.55), (P, 0.3)])  # outbound QC photos
    return f, d.signals(**SHOP)  # type: ignore[arg-type]


def influencer_overclaim(d: _Draw) -> Built:
    f = d.facts(CaseType.RETURN_REFUND, "not_as_described", Issue.PROMOTION_MISMATCH)
    d.buyer(Issue.PROMOTION_MISMATCH, [V, C], [P], p_first=0.6, p_later=0.4, p_none=0.08)
    # The listing says what the goods are; the influencer's words are not the shop's.
    d.merchant(Issue.PROMOTION_MISMATCH, [(D, 0.85), (C, 0.4), (Q, 0.3)])
    return f, d.signals(**SHOP)  # type: ignore[arg-type]


def unreported_force_majeure(d: _Draw) -> Built:
    f = d.facts(CaseType.REFUND_ONLY, "late_shipment", Issue.LATE_SHIPMENT, shipped_late=True)
    d.buyer(Issue.LATE_SHIPMENT, [C], [], p_first=0.5, p_later=0, p_none=0.3)
    # A snowstorm or lockdown notice, and a chat telling the buyer: but no approved report.
    d.merchant(Issue.LATE_SHIPMENT, [(D, 0.8), (C, 0.5), (L, 0.4)])
    return f, d.signals(**SHOP)  # type: ignore[arg-type]


# ------------------------------------------------------------------ buyer at fault
def used_then_changed_mind(d: _Draw) -> Built:
    f = d.facts(
        CaseType.RETURN_REFUND,
        "changed_mind",
        Issue.CHANGED_MIND,
        days_after_signing=d.rng.randint(2, 6),
        merchant_silent=0.01,
    )
    d.buyer(Issue.CHANGED_MIND, [P], [], p_first=0.4, p_later=0, p_none=0.3)
    # R5.5: the returned goods, filmed on opening the return parcel, and photos of wear.
    # A refusal after receipt needs that proof (R5.5), so the merchant has one or the other.
    d.merchant(Issue.CHANGED_MIND, [(U, 1.0)] if d.chance(0.75) else [(CP, 1.0)])
    d.merchant(Issue.CHANGED_MIND, [(P, 0.85)])
    return f, d.signals(**SHOP, risk=(0.25, 0.1))  # type: ignore[arg-type]


def forged_photos(d: _Draw) -> Built:
    issue = d.rng.choice((Issue.SERIOUS_DEFECT, Issue.DAMAGED, Issue.NOT_AS_DESCRIBED))
    code = {
        Issue.SERIOUS_DEFECT: "defect",
        Issue.DAMAGED: "damaged_in_transit",
        Issue.NOT_AS_DESCRIBED: "not_as_described",
    }[issue]
    f = d.facts(
        CaseType.RETURN_REFUND,
        code,
        issue,
        days_after_signing=d.rng.randint(0, 5),
        merchant_silent=0.01,
    )
    # The forgery is caught (metadata, the merchant's originals) most of the time.
    d.add(Party.BUYER, P, Side.BUYER, issue, first=True, credible=not d.chance(0.8))
    d.merchant(issue, [(Q, 0.7), (U, 0.5), (P, 0.5)])
    return f, d.signals(**SHOP, risk=(0.35, 0.4))  # type: ignore[arg-type]


def out_of_window(d: _Draw) -> Built:
    code, issue = d.rng.choice(
        (("changed_mind", Issue.CHANGED_MIND), ("defect", Issue.MINOR_DEFECT))
    )
    f = d.facts(
        CaseType.RETURN_REFUND,
        code,
        issue,
        days_after_signing=d.rng.randint(20, 120),
        in_window=False,
        merchant_silent=0.01,
    )
    d.buyer(issue, [P], [], p_first=0.8, p_later=0, p_none=0.1)
    return f, d.signals(**SHOP)  # type: ignore[arg-type]


SCENARIOS: dict[Family, tuple[tuple[str, Scenario], ...]] = {
    Family.MERCHANT: (
        ("counterfeit", counterfeit),
        ("not_as_described", not_as_described),
        ("late_shipment", late_shipment),
        ("wrong_item", wrong_item),
        ("refused_seven_day_return", refused_seven_day_return),
        ("ignored_breakage", ignored_breakage),
        ("lost_not_intercepted", lost_not_intercepted),
    ),
    Family.SHARED: (
        ("damage_found_days_after_signing", damage_found_later),
        ("influencer_overclaim", influencer_overclaim),
        ("unreported_force_majeure", unreported_force_majeure),
    ),
    Family.BUYER: (
        ("changed_mind_after_use", used_then_changed_mind),
        ("forged_photos", forged_photos),
        ("out_of_window", out_of_window),
    ),
}


def generate(n: int, rng: random.Random) -> list[Dispute]:
    """``n`` disputes, the three families in equal shares, scenarios evenly within each."""
    families = list(Family)
    out: list[Dispute] = []
    for i in range(n):
        family = families[i % len(families)]
        name, scenario = rng.choice(SCENARIOS[family])
        draw = _Draw(rng, i)
        facts, signals = scenario(draw)
        out.append(Dispute(family, name, facts, tuple(draw.items), signals))
    return out


@dataclass(frozen=True, slots=True)
class Rate:
    disputes: int
    buyer_wins: int

    @property
    def rate(self) -> float:
        return self.buyer_wins / self.disputes if self.disputes else 0.0


@dataclass(frozen=True, slots=True)
class Measurement:
    n: int
    seed: int
    families: dict[Family, Rate]
    scenarios: dict[str, Rate]


def measure(policy: Judgment, n: int = DEFAULT_N, seed: int = DEFAULT_SEEDS[0]) -> Measurement:
    """R10.2: the buyer's success rate per family on ``n`` disputes drawn with ``seed``."""
    fam: dict[Family, list[int]] = {f: [0, 0] for f in Family}
    scen: dict[str, list[int]] = {}
    for dispute in generate(n, random.Random(seed)):
        won = recommend(dispute.facts, dispute.evidence, dispute.signals, policy).buyer_succeeds
        for tally in (fam[dispute.family], scen.setdefault(dispute.scenario, [0, 0])):
            tally[0] += 1
            tally[1] += int(won)
    return Measurement(
        n,
        seed,
        {f: Rate(*t) for f, t in fam.items()},
        {s: Rate(*t) for s, t in scen.items()},
    )


def table(m: Measurement) -> str:
    lines = [
        f"R10.2 base rates: n={m.n}, seed={m.seed}",
        f"{'family / scenario':<36} {'disputes':>8} {'buyer wins':>10} {'rate':>7}",
    ]
    for family in Family:
        r = m.families[family]
        low, high = TARGETS[family]
        lines.append(
            f"{family.value:<36} {r.disputes:>8} {r.buyer_wins:>10} {r.rate:>7.1%}"
            f"   target {low:.0%}-{high:.0%}"
        )
        for name, _ in SCENARIOS[family]:
            s = m.scenarios.get(name, Rate(0, 0))
            lines.append(f"  {name:<34} {s.disputes:>8} {s.buyer_wins:>10} {s.rate:>7.1%}")
    return "\n".join(lines)
