"""R3: the reason taxonomy. Codes are stable; labels are Babel message ids (zh_CN in the
catalog). Which groups are merchant-side is policy (R3.2), read from the profile."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from aftersales.domain.errors import ValidationFailed
from aftersales.domain.i18n import N_


class ReasonGroup(StrEnum):
    NO_REASON = "no_reason"
    QUALITY = "quality"
    MISMATCH = "mismatch"
    FULFILMENT = "fulfilment"
    LOGISTICS = "logistics"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    group: ReasonGroup
    label: str  # English message id; translated through the catalog


_REASONS: tuple[Reason, ...] = (
    Reason("changed_mind", ReasonGroup.NO_REASON, N_("Changed my mind")),
    Reason("ordered_by_mistake", ReasonGroup.NO_REASON, N_("Ordered by mistake")),
    Reason("no_longer_needed", ReasonGroup.NO_REASON, N_("No longer needed")),
    Reason("defect", ReasonGroup.QUALITY, N_("Quality defect")),
    Reason("function_failure", ReasonGroup.QUALITY, N_("Does not work")),
    Reason("counterfeit", ReasonGroup.QUALITY, N_("Counterfeit")),
    Reason("completely_broken", ReasonGroup.QUALITY, N_("Completely broken")),
    Reason("not_as_described", ReasonGroup.MISMATCH, N_("Not as described")),
    Reason("size_colour_mismatch", ReasonGroup.MISMATCH, N_("Size or colour differs from listing")),
    Reason("wrong_item", ReasonGroup.FULFILMENT, N_("Wrong item sent")),
    Reason("missing_item", ReasonGroup.FULFILMENT, N_("Missing item or part")),
    Reason("damaged_in_transit", ReasonGroup.FULFILMENT, N_("Damaged in transit")),
    Reason("not_received", ReasonGroup.LOGISTICS, N_("Parcel not received")),
    Reason("stuck_in_transit", ReasonGroup.LOGISTICS, N_("Stuck in transit")),
    Reason("lost_in_transit", ReasonGroup.LOGISTICS, N_("Lost in transit")),
    Reason("late_shipment", ReasonGroup.LOGISTICS, N_("Shipped late")),
    Reason("other", ReasonGroup.OTHER, N_("Other")),
)

REASONS: dict[str, Reason] = {r.code: r for r in _REASONS}

GROUP_LABELS: dict[ReasonGroup, str] = {
    ReasonGroup.NO_REASON: N_("Seven-day no-reason"),
    ReasonGroup.QUALITY: N_("Quality"),
    ReasonGroup.MISMATCH: N_("Not as described"),
    ReasonGroup.FULFILMENT: N_("Fulfilment"),
    ReasonGroup.LOGISTICS: N_("Logistics"),
    ReasonGroup.OTHER: N_("Other"),
}


def reason(code: str) -> Reason:
    """Look up a reason code (R3.1) or refuse it, naming the field."""
    try:
        return REASONS[code]
    except KeyError:
        raise ValidationFailed(
            "reason.unknown",
            N_("Unknown reason code {code}."),
            rule="R3.1",
            field="reason",
            code=code,
        ) from None
