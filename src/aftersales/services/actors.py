"""Who is acting. Full accounts and permissions arrive with the API issue (R1); services
already check that an actor only sees its own cases."""

from __future__ import annotations

from dataclasses import dataclass

from aftersales.domain.case import Case
from aftersales.domain.case_types import ActorKind
from aftersales.domain.errors import NotFound
from aftersales.domain.i18n import N_


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    id: str | None = None  # account id, worker id, carrier code
    shop_id: int | None = None  # merchant accounts
    buyer_id: int | None = None  # buyers
    strategy: str | None = None  # automation strategy acting for a merchant (R6)

    @classmethod
    def buyer(cls, buyer_id: int) -> Actor:
        return cls(ActorKind.BUYER, f"buyer:{buyer_id}", buyer_id=buyer_id)

    @classmethod
    def merchant(cls, shop_id: int, account: str = "main") -> Actor:
        return cls(ActorKind.MERCHANT, f"shop:{shop_id}:{account}", shop_id=shop_id)

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(ActorKind.SYSTEM, name)

    @classmethod
    def carrier(cls, name: str = "carrier") -> Actor:
        return cls(ActorKind.CARRIER, name)

    @classmethod
    def platform(cls, agent: str) -> Actor:
        return cls(ActorKind.PLATFORM, agent)


def can_see(actor: Actor, case: Case) -> bool:
    if actor.kind is ActorKind.BUYER:
        return case.buyer_id == actor.buyer_id
    if actor.kind is ActorKind.MERCHANT:
        return case.shop_id == actor.shop_id
    return True  # platform, carrier integration, system


def require_visible(actor: Actor, case: Case | None, number: str) -> Case:
    """A case the actor may not see answers exactly like one that does not exist."""
    if case is None or not can_see(actor, case):
        raise NotFound("case.not_found", N_("Case {number} not found."), number=number)
    return case
