"""The vocabulary of the case state machine: request types, states, actions, actors.

State names stay close to the platforms' public codes (Douyin ``aftersale_status``,
TikTok Shop return status) so imports can map onto them.
"""

from __future__ import annotations

from enum import StrEnum


class CaseType(StrEnum):
    """R2: the five request types."""

    REFUND_UNSHIPPED = "refund_unshipped"  # 未发货仅退款
    REFUND_ONLY = "refund_only"  # 已发货仅退款
    RETURN_REFUND = "return_refund"  # 退货退款
    EXCHANGE = "exchange"  # 换货
    RESHIP = "reship"  # 补寄


class State(StrEnum):
    AWAITING_MERCHANT = "awaiting_merchant"  # 待商家处理
    AWAITING_BUYER = "awaiting_buyer"  # 待买家处理 (counter-offer)
    AWAITING_RETURN = "awaiting_return"  # 待买家退货
    RETURN_SHIPPED = "return_shipped"  # 买家已退货, in transit
    RETURN_DELIVERED = "return_delivered"  # 待商家收货
    RETURN_RECEIVED = "return_received"  # 商家已收货
    AWAITING_RESHIP = "awaiting_reship"  # 待商家补寄
    REPLACEMENT_SHIPPED = "replacement_shipped"  # 待买家收货 (exchange/reship)
    REJECTED = "rejected"  # 商家拒绝
    REFUNDED = "refunded"  # 退款成功
    COMPLETED = "completed"  # 换货/补寄成功
    CLOSED = "closed"  # 售后关闭
    PARCEL_RETURNING = "parcel_returning"  # 包裹退回中 (R16.1: failed, refused, intercepted)
    IN_INTERVENTION = "in_intervention"  # 平台介入中 (R9)
    AWAITING_EXECUTION = "awaiting_execution"  # 待商家执行裁决 (R11.1)
    RULED = "ruled"  # 已裁决: the buyer lost; open for the buyer's appeal (R12.2)

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset({State.REFUNDED, State.COMPLETED, State.CLOSED})


class ActorKind(StrEnum):
    BUYER = "buyer"
    MERCHANT = "merchant"
    PLATFORM = "platform"
    CARRIER = "carrier"
    SYSTEM = "system"  # deadlines, automation


class Action(StrEnum):
    # buyer
    OPEN = "open"  # the initial arrow; not a row of the table
    EDIT_REQUEST = "edit_request"
    ACCEPT_OFFER = "accept_offer"
    SHIP_RETURN = "ship_return"
    RESUBMIT = "resubmit"
    CANCEL = "cancel"
    CONFIRM_REPLACEMENT = "confirm_replacement"
    # merchant
    APPROVE_REFUND = "approve_refund"
    APPROVE_RETURN = "approve_return"
    APPROVE_RESHIP = "approve_reship"
    COUNTER_OFFER = "counter_offer"
    REJECT = "reject"
    CONFIRM_RECEIPT = "confirm_receipt"
    REFUND = "refund"
    REFUSE_REFUND = "refuse_refund"
    SHIP_REPLACEMENT = "ship_replacement"
    # carrier
    RETURN_DELIVERED = "return_delivered"
    # system (deadlines)
    MERCHANT_TIMEOUT = "merchant_timeout"
    BUYER_OFFER_TIMEOUT = "buyer_offer_timeout"
    RETURN_SHIP_TIMEOUT = "return_ship_timeout"
    RECEIPT_TIMEOUT = "receipt_timeout"
    REPLACEMENT_CONFIRM_TIMEOUT = "replacement_confirm_timeout"
    RESUBMIT_TIMEOUT = "resubmit_timeout"
    # system (automatic decisions at opening)
    REGIONAL_AUTO_REFUND = "regional_auto_refund"  # R8.2
    # R16: the order's outbound parcel comes back to the merchant
    PARCEL_UNDELIVERABLE = "parcel_undeliverable"  # carrier: delivery failed or refused (R16.1)
    PARCEL_INTERCEPTED = "parcel_intercepted"  # carrier: intercepted on request (R16.2)
    PARCEL_RETURNED = "parcel_returned"  # carrier: back at the merchant (R16.1)
    PARCEL_RETURN_TIMEOUT = "parcel_return_timeout"  # system (R16.1)
    REQUEST_INTERCEPT = "request_intercept"  # merchant (R16.2)
    # timeline entries that are not moves of the machine (the state stays)
    EXPRESS_REFUND = "express_refund"  # R7.1: the platform advanced the refund
    EXPRESS_REFUND_DECLINED = "express_refund_declined"  # R7.1: a condition failed
    WAREHOUSE_INSPECTION = "warehouse_inspection"  # the warehouse reported the return
    EVIDENCE_ADDED = "evidence_added"  # R9.3: a side (or the platform) added evidence
    # R9-R12: platform intervention, rulings and appeals
    ESCALATE = "escalate"  # buyer asks the platform to step in (R9.1)
    MERCHANT_ESCALATE = "merchant_escalate"  # the merchant asks (R9.1)
    WITHDRAW_INTERVENTION = "withdraw_intervention"  # buyer, after settling (R9.4)
    LEGAL_PROCEEDINGS = "legal_proceedings"  # platform: ends the intervention (R9.2)
    RULE = "rule"  # platform: the ruling (R10.4)
    EXECUTION_TIMEOUT = "execution_timeout"  # system: pay-first compensation (R11.2)
    APPEAL = "appeal"  # buyer appeals a ruling against them (R12.2)
    APPEAL_WINDOW_TIMEOUT = "appeal_window_timeout"  # system: no appeal came (R12.2)
    RULING_OVERTURNED = "ruling_overturned"  # platform: the merchant's appeal won (R12.1)
    # timeline entries of an intervention that are not moves of the machine
    INTERVENTION_RESPONSE = "intervention_response"  # the merchant responded (R9.3)
    INTERVENTION_URGENT = "intervention_urgent"  # the platform marked it urgent (R9.3)
    INTERVENTION_ASSIGNED = "intervention_assigned"  # an agent took it (queue)
    MERCHANT_APPEAL = "merchant_appeal"  # the merchant appealed a ruling (R12.1)
    APPEAL_DECIDED = "appeal_decided"  # a merchant appeal was decided (R12.1)
    EVIDENCE_ASSESSED = "evidence_assessed"  # R9.3: an agent assessed an evidence item


class DeadlineKind(StrEnum):
    MERCHANT_RESPONSE = "merchant_response"  # R5.1
    BUYER_OFFER_RESPONSE = "buyer_offer_response"  # R5.2
    RETURN_SHIPMENT = "return_shipment"  # R5.3
    MERCHANT_RECEIPT = "merchant_receipt"  # R5.4
    REPLACEMENT_CONFIRM = "replacement_confirm"
    RESUBMIT_WINDOW = "resubmit_window"  # R5.6
    PARCEL_RETURN = "parcel_return"  # R16.1
    RULING_EXECUTION = "ruling_execution"  # R11.1
    APPEAL_WINDOW = "appeal_window"  # R12.2
