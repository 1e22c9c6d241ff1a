"""Labels (English message ids, translated through the catalog) for types, states, actions."""

from __future__ import annotations

from aftersales.domain.i18n import N_

TYPE_LABELS: dict[str, str] = {
    "refund_unshipped": N_("Refund before shipment"),
    "refund_only": N_("Refund only"),
    "return_refund": N_("Return and refund"),
    "exchange": N_("Exchange"),
    "reship": N_("Reship missing item"),
}

STATE_LABELS: dict[str, str] = {
    "awaiting_merchant": N_("Awaiting merchant"),
    "awaiting_buyer": N_("Awaiting buyer (counter-offer)"),
    "awaiting_return": N_("Awaiting return shipment"),
    "return_shipped": N_("Return in transit"),
    "return_delivered": N_("Return delivered"),
    "return_received": N_("Return received"),
    "awaiting_reship": N_("Awaiting reship"),
    "replacement_shipped": N_("Replacement shipped"),
    "rejected": N_("Rejected"),
    "refunded": N_("Refunded"),
    "completed": N_("Completed"),
    "closed": N_("Closed"),
    "parcel_returning": N_("Parcel returning to the merchant"),
    "in_intervention": N_("Platform intervention"),
    "awaiting_execution": N_("Awaiting the merchant's execution of the ruling"),
    "ruled": N_("Ruled for the merchant (open for appeal)"),
}

ACTION_LABELS: dict[str, str] = {
    "open": N_("Request opened"),
    "edit_request": N_("Request edited"),
    "accept_offer": N_("Counter-offer accepted"),
    "ship_return": N_("Return shipped"),
    "resubmit": N_("Request resubmitted"),
    "cancel": N_("Request withdrawn"),
    "confirm_replacement": N_("Replacement received"),
    "approve_refund": N_("Refund approved"),
    "approve_return": N_("Return approved"),
    "approve_reship": N_("Reship approved"),
    "counter_offer": N_("Counter-offer made"),
    "reject": N_("Request rejected"),
    "confirm_receipt": N_("Return receipt confirmed"),
    "refund": N_("Refunded"),
    "refuse_refund": N_("Refund refused after receipt"),
    "ship_replacement": N_("Replacement shipped"),
    "return_delivered": N_("Return delivered by carrier"),
    "merchant_timeout": N_("Merchant did not respond in time"),
    "buyer_offer_timeout": N_("Buyer did not answer the counter-offer"),
    "return_ship_timeout": N_("Buyer did not ship the return in time"),
    "receipt_timeout": N_("Merchant did not handle the return in time"),
    "replacement_confirm_timeout": N_("Replacement receipt confirmed automatically"),
    "resubmit_timeout": N_("Window for a new request lapsed"),
    "regional_auto_refund": N_("Refunded automatically without return (regional rule)"),
    "parcel_undeliverable": N_("Parcel not delivered or refused: returning to the merchant"),
    "parcel_intercepted": N_("Parcel intercepted: returning to the merchant"),
    "parcel_returned": N_("Parcel back at the merchant"),
    "parcel_return_timeout": N_("Parcel did not come back in time: refunded"),
    "request_intercept": N_("Logistics intercept requested"),
    "express_refund": N_("Express refund: the platform refunded in advance"),
    "express_refund_declined": N_("Express refund not granted"),
    "warehouse_inspection": N_("Warehouse reported the returned goods"),
    "evidence_added": N_("Evidence added"),
    "escalate": N_("Buyer asked the platform to step in"),
    "merchant_escalate": N_("Merchant asked the platform to step in"),
    "withdraw_intervention": N_("Intervention withdrawn after a settlement"),
    "legal_proceedings": N_("Closed: legal proceedings started"),
    "rule": N_("Platform ruling"),
    "execution_timeout": N_("Ruling not executed in time: the platform paid first"),
    "appeal": N_("Buyer appealed the ruling"),
    "appeal_window_timeout": N_("Appeal window lapsed"),
    "ruling_overturned": N_("Ruling overturned on the merchant's appeal"),
    "intervention_response": N_("Merchant responded to the intervention"),
    "intervention_urgent": N_("Intervention marked urgent"),
    "intervention_assigned": N_("Intervention assigned to an agent"),
    "merchant_appeal": N_("Merchant appealed the ruling"),
    "appeal_decided": N_("Appeal decided"),
    "evidence_assessed": N_("Evidence assessed by the platform"),
}

# R9.3: what each kind of evidence is, with an example (the evidence templates).
EVIDENCE_KIND_LABELS: dict[str, str] = {
    "photo": N_("Photo: the goods, the defect or the label, in focus"),
    "video": N_("Video: the goods and the problem, in one take"),
    "unboxing_video": N_("Unboxing video: from the sealed parcel and its label to the goods"),
    "carrier_proof": N_("Carrier proof: the carrier's stamped note of the parcel's state"),
    "qc_record": N_("QC record: the inspection record of the goods as shipped"),
    "chat_log": N_("Chat log: screenshots of the conversation with the other side"),
    "document": N_("Document: the listing, an invoice or a certificate"),
    "force_majeure_approval": N_("Force-majeure approval: the approved report"),
    "logistics_record": N_("Logistics record: the carrier's tracking history"),
}

ACTOR_LABELS: dict[str, str] = {
    "buyer": N_("buyer"),
    "merchant": N_("merchant"),
    "platform": N_("platform"),
    "carrier": N_("carrier"),
    "system": N_("system"),
}

# Error-message parameters whose values are codes with a label of their own.
PARAM_LABELS: dict[str, dict[str, str]] = {
    "type": TYPE_LABELS,
    "state": STATE_LABELS,
    "action": ACTION_LABELS,
    "expected": ACTOR_LABELS,
}
