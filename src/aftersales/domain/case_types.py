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


class DeadlineKind(StrEnum):
    MERCHANT_RESPONSE = "merchant_response"  # R5.1
    BUYER_OFFER_RESPONSE = "buyer_offer_response"  # R5.2
    RETURN_SHIPMENT = "return_shipment"  # R5.3
    MERCHANT_RECEIPT = "merchant_receipt"  # R5.4
    REPLACEMENT_CONFIRM = "replacement_confirm"
    RESUBMIT_WINDOW = "resubmit_window"  # R5.6
    PARCEL_RETURN = "parcel_return"  # R16.1
