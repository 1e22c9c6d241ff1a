"""R15.2: a buyer's risk level, for the checks that use it (R7.1 express refund, R10.3
judgment) and for platform agents who look a buyer up.

:func:`assess_in` runs inside the caller's transaction with the profile the caller
decides under. :func:`buyer_risk` is the agents' view: it reads the buyer as of now, in
the context of the buyer's most recently paid order (so "many units of one item" and
"earlier paid orders" read as they would for a request on that order), under the
*current* version of that order's shop's profile. A buyer without orders is read under
the deployment's default profile (``AFTERSALES_DEFAULT_PROFILE``). Buyers are not a
shop's to see: anyone but a platform agent or admin is answered as if the buyer did not
exist (404).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from aftersales.domain import risk
from aftersales.domain.errors import NotFound
from aftersales.domain.i18n import N_
from aftersales.domain.policy import Profile, RiskRules
from aftersales.domain.reasons import REASONS
from aftersales.services.actors import Actor, is_agent, require_case_reading
from aftersales.services.context import Context
from aftersales.store import catalog as catalog_store
from aftersales.store import risk as store


@dataclass(frozen=True, slots=True)
class RiskView:
    """A buyer's risk as a platform agent sees it: the assessment, the facts it was made
    from, and the profile (and order) it was made under."""

    buyer_ref: str
    assessment: risk.RiskAssessment
    facts: risk.BuyerFacts
    rules: RiskRules
    profile_id: str
    profile_version: int
    order_number: str | None  # the order assessed: the buyer's latest, if any
    assessed_at: datetime


def rules_of(profile: Profile) -> RiskRules:
    """The profile's R15.2 rules. Every shipped profile has them from version 4; a frozen
    copy of an older version does not, and the caller should pass the current version."""
    if profile.risk is None:
        raise ValueError(f"profile {profile.id} v{profile.version} has no [risk] rules")
    return profile.risk


def _kinds(profile: Profile, rules: RiskRules) -> store.RequestKinds:
    return store.RequestKinds(
        merchant_side_reasons=sorted(
            r.code for r in REASONS.values() if profile.is_merchant_side(r.group)
        ),
        goods_claim_reasons=sorted(
            r.code for r in REASONS.values() if r.group in risk.GOODS_CLAIM_GROUPS
        ),
        imagery=[k.value for k in risk.GOODS_IMAGERY],
        vague_max_chars=rules.vague_description_max_chars,
    )


def facts_in(
    conn: Connection,
    profile: Profile,
    buyer_id: int,
    now: datetime,
    order_id: int | None = None,
) -> risk.BuyerFacts:
    """The R15.2 facts about a buyer at ``now``, in the caller's transaction; with
    ``order_id``, as for a request on that order (which must be the buyer's)."""
    rules = rules_of(profile)
    if order_id is not None and store.order_buyer(conn, order_id) != buyer_id:
        raise ValueError(f"order {order_id} is not buyer {buyer_id}'s")
    facts = store.buyer_facts(
        conn,
        buyer_id,
        now=now,
        since=now - timedelta(days=rules.refund_history_days),
        order_id=order_id,
        kinds=_kinds(profile, rules),
    )
    if facts is None:
        raise ValueError(f"no buyer {buyer_id}")
    return facts


def assess_in(
    conn: Connection,
    profile: Profile,
    buyer_id: int,
    now: datetime,
    order_id: int | None = None,
) -> risk.RiskAssessment:
    """R15.2: the buyer's risk level at ``now`` under ``profile``, inside the caller's
    transaction (R7.1's express-refund check passes the case's order as ``order_id``)."""
    return risk.assess(facts_in(conn, profile, buyer_id, now, order_id), rules_of(profile))


def _not_found(buyer_ref: str) -> NotFound:
    return NotFound("buyer.not_found", N_("Buyer {ref} not found."), ref=buyer_ref)


def _profile_for(ctx: Context, profile_id: str | None) -> Profile:
    """The current version of the shop's profile, else the default profile."""
    for pid in (profile_id, ctx.settings.default_profile):
        profile = ctx.profiles.current.get(pid) if pid else None
        if profile is not None and profile.risk is not None:
            return profile
    raise ValueError("no policy profile with [risk] rules")


def buyer_risk(ctx: Context, actor: Actor, buyer_ref: str) -> RiskView:
    """R15.2: a buyer's risk level and why, for platform agents and admins only (anyone
    else: 404, exactly as for a buyer that does not exist)."""
    if not is_agent(actor):
        raise _not_found(buyer_ref)
    require_case_reading(actor)
    now = ctx.now()
    with ctx.db.read() as conn:
        buyer_id = catalog_store.buyer_id_by_ref(conn, buyer_ref)
        if buyer_id is None:
            raise _not_found(buyer_ref)
        latest = store.latest_order(conn, buyer_id)
        shop = catalog_store.get_shop(conn, latest.shop_id) if latest else None
        profile = _profile_for(ctx, shop.profile_id if shop else None)
        order_id = latest.id if latest else None
        facts = facts_in(conn, profile, buyer_id, now, order_id)
    rules = rules_of(profile)
    return RiskView(
        buyer_ref=buyer_ref,
        assessment=risk.assess(facts, rules),
        facts=facts,
        rules=rules,
        profile_id=profile.id,
        profile_version=profile.version,
        order_number=latest.number if latest else None,
        assessed_at=now,
    )
