"""R9, R11, R12: when the platform takes a dispute, its deadlines, and who may appeal.

Pure: the service looks the facts up (flags the platform recorded, the case's history)
and asks these functions; every number comes from the profile's ``[intervention]`` and
``[appeals]`` tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from aftersales.domain.calendar import end_of_local_day, workdays_after
from aftersales.domain.errors import IllegalTransition, ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.domain.policy import AppealRules, InterventionRules, Profile


class Refusal(StrEnum):
    """R9.2: why the platform does not take a case."""

    OFF_PLATFORM = "off_platform"  # the order was not placed on the platform
    OUT_OF_WINDOW = "out_of_window"  # the request, or the ask, is outside its window
    SETTLED = "settled"  # the parties settled it (a withdrawn intervention, R9.4)
    RESOLVED = "resolved"  # the request is already resolved
    NOT_ACTUAL_CONSUMER = "not_actual_consumer"  # the buyer is not the actual consumer
    INVALID_TRANSACTION = "invalid_transaction"  # the transaction is invalid
    LEGAL_PROCEEDINGS = "legal_proceedings"  # legal proceedings have started


REFUSAL_MESSAGES: dict[Refusal, str] = {
    Refusal.OFF_PLATFORM: N_("The order was not placed on the platform."),
    Refusal.OUT_OF_WINDOW: N_("The request is outside its window for platform intervention."),
    Refusal.SETTLED: N_("The parties already settled this request."),
    Refusal.RESOLVED: N_("This request is already resolved."),
    Refusal.NOT_ACTUAL_CONSUMER: N_("The buyer is not the actual consumer."),
    Refusal.INVALID_TRANSACTION: N_("The transaction is invalid."),
    Refusal.LEGAL_PROCEEDINGS: N_("Legal proceedings have started on this dispute."),
}

# The flags an agent records against an order or a case (``dispute_flags``), by refusal.
FLAG_KINDS: tuple[Refusal, ...] = (
    Refusal.OFF_PLATFORM,
    Refusal.INVALID_TRANSACTION,
    Refusal.NOT_ACTUAL_CONSUMER,
    Refusal.LEGAL_PROCEEDINGS,
)


@dataclass(frozen=True, slots=True)
class EscalationFacts:
    """What the service found about a request whose party asks the platform to step in."""

    resolved: bool  # the request is in a final state
    in_window: bool  # R4: the request was inside its window when raised
    dispute_started_at: datetime | None  # the refusal, refund refusal or counter-offer
    flags: frozenset[Refusal]  # recorded by the platform (off platform, invalid, ...)
    settled: bool  # an earlier intervention was withdrawn after a settlement (R9.4)


def refusals(facts: EscalationFacts, rules: InterventionRules, now: datetime) -> list[Refusal]:
    """R9.2: every reason the platform does not take this request (empty: it does)."""
    out: list[Refusal] = []
    for flag in (Refusal.OFF_PLATFORM, Refusal.INVALID_TRANSACTION, Refusal.NOT_ACTUAL_CONSUMER):
        if flag in facts.flags:
            out.append(flag)
    late = facts.dispute_started_at is not None and now >= facts.dispute_started_at + timedelta(
        hours=rules.escalate_within_hours
    )
    if not facts.in_window or late:
        out.append(Refusal.OUT_OF_WINDOW)
    if facts.settled:
        out.append(Refusal.SETTLED)
    if facts.resolved:
        out.append(Refusal.RESOLVED)
    if Refusal.LEGAL_PROCEEDINGS in facts.flags:
        out.append(Refusal.LEGAL_PROCEEDINGS)
    return out


def check_escalation(facts: EscalationFacts, rules: InterventionRules, now: datetime) -> None:
    """R9.2: refuse, naming the first reason (all of them are in ``reasons``)."""
    found = refusals(facts, rules, now)
    if found:
        raise IllegalTransition(
            f"intervention.{found[0].value}",
            REFUSAL_MESSAGES[found[0]],
            rule="R9.2",
            reasons=", ".join(r.value for r in found),
        )


@dataclass(frozen=True, slots=True)
class Deadlines:
    merchant_response_due: datetime  # R9.3: 24 h, or 2 h when urgent
    evidence_due: datetime  # R9.3: 48 h after opening
    ruling_due: datetime  # the agent queue: rule within this


def deadlines(rules: InterventionRules, opened_at: datetime, urgent: bool) -> Deadlines:
    hours = rules.urgent_response_hours if urgent else rules.merchant_response_hours
    evidence_due = opened_at + timedelta(hours=rules.evidence_hours)
    return Deadlines(
        opened_at + timedelta(hours=hours),
        evidence_due,
        evidence_due + timedelta(hours=rules.ruling_hours),
    )


def urgent_response_due(
    rules: InterventionRules, marked_at: datetime, current: datetime
) -> datetime:
    """R9.3: marking urgent gives the merchant ``urgent_response_hours`` from now, never
    more time than it already had."""
    return min(current, marked_at + timedelta(hours=rules.urgent_response_hours))


def merchant_responded(responded_at: datetime | None, due: datetime, now: datetime) -> bool:
    """R9.3: a merchant that did not respond before its deadline is held liable: it
    responded late, or has not responded and the deadline has passed. One still inside
    its deadline is not (yet) silent."""
    if responded_at is not None:
        return responded_at <= due
    return now < due


# ------------------------------------------------------------------------------ R12
class Grounds(StrEnum):
    """R12.1: an appeal brings new evidence or claims a misjudgment."""

    NEW_EVIDENCE = "new_evidence"
    MISJUDGMENT = "misjudgment"


def merchant_appeal_due(profile: Profile, rules: AppealRules, ruled_at: datetime) -> datetime:
    """R12.1: ``merchant_window_workdays`` working days after the ruling's local day, on
    the profile's calendar (statutory holidays and make-up workdays count as such); the
    appeal is on time before the end of that day."""
    last = workdays_after(
        ruled_at, rules.merchant_window_workdays, profile.calendar, profile.timezone
    )
    return end_of_local_day(last, profile.timezone)


def appeal_decide_by(profile: Profile, rules: AppealRules, filed_at: datetime) -> datetime:
    """The agent queue's deadline for deciding an appeal: ``decision_workdays`` working
    days after it was filed."""
    last = workdays_after(filed_at, rules.decision_workdays, profile.calendar, profile.timezone)
    return end_of_local_day(last, profile.timezone)


def check_merchant_appeal(
    rules: AppealRules,
    *,
    due: datetime,
    now: datetime,
    grounds: Grounds,
    new_evidence: Sequence[int],
    statement: str,
) -> None:
    """R12.1: on time, with new evidence or a stated misjudgment."""
    if now >= due:
        raise IllegalTransition(
            "appeal.window_closed",
            N_("The time to appeal this ruling ended at {due}."),
            rule="R12.1",
            due=due.isoformat(),
        )
    if grounds is Grounds.NEW_EVIDENCE and not new_evidence:
        raise ValidationFailed(
            "appeal.evidence_missing",
            N_("An appeal on new evidence names evidence added after the ruling."),
            rule="R12.1",
            field="evidence",
        )
    if grounds is Grounds.MISJUDGMENT and not statement.strip():
        raise ValidationFailed(
            "appeal.statement_missing",
            N_("An appeal claiming a misjudgment says what was misjudged."),
            rule="R12.1",
            field="statement",
        )


def check_buyer_appeal(rules: AppealRules, appeals_so_far: int) -> None:
    """R12.2: buyers appeal only where the marketplace lets them, at most
    ``buyer_max_appeals`` times per case (one per ruling: the state machine)."""
    if rules.buyer_max_appeals == 0:
        raise IllegalTransition(
            "appeal.buyers_do_not_appeal",
            N_("Buyers do not appeal rulings on this marketplace."),
            rule="R12.2",
        )
    if appeals_so_far >= rules.buyer_max_appeals:
        raise IllegalTransition(
            "appeal.limit_reached",
            N_("This request was already appealed {limit} times."),
            rule="R12.2",
            limit=rules.buyer_max_appeals,
        )
