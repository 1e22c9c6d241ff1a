"""The profile's optional tables as the machine reads them (R9, R11, R12, R16): a frozen
profile version older than a table has none, and asking it for one is a bug."""

from __future__ import annotations

from aftersales.domain.policy import (
    AppealRules,
    InterventionRules,
    LogisticsRules,
    Profile,
)


# --------------------------------------------------------------------------- R16 parcels
def logistics_rules(profile: Profile) -> LogisticsRules:
    """R16: the profile's [logistics] table (services give a frozen version older than the
    table the current version's, as they do for [messages])."""
    if profile.logistics is None:
        raise RuntimeError(f"profile {profile.id} v{profile.version} has no [logistics] table")
    return profile.logistics


def intercept_offered(profile: Profile) -> bool:
    """R16.2: whether the marketplace offers logistics intercepts at all."""
    return profile.logistics is not None and profile.logistics.intercept_enabled


def intervention_rules(profile: Profile) -> InterventionRules:
    """R9/R11: the profile's [intervention] table (services give a frozen version older
    than the table the current version's)."""
    if profile.intervention is None:
        raise RuntimeError(f"profile {profile.id} v{profile.version} has no [intervention] table")
    return profile.intervention


def appeal_rules(profile: Profile) -> AppealRules:
    """R12: the profile's [appeals] table (as :func:`intervention_rules`)."""
    if profile.appeals is None:
        raise RuntimeError(f"profile {profile.id} v{profile.version} has no [appeals] table")
    return profile.appeals


def buyer_may_appeal(profile: Profile) -> bool:
    """R12.2: whether buyers appeal rulings against them on this marketplace."""
    rules = profile.appeals
    return rules is not None and rules.buyer_max_appeals > 0 and rules.buyer_window_hours > 0


# Which remedies a ruling may give on which request types (R10.4): goods the buyer holds
