"""R5.3 / R16: carriers and tracking-number validation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from aftersales.domain.errors import ValidationFailed
from aftersales.domain.i18n import N_


class ParcelStatus(StrEnum):
    """What a carrier reports about a parcel (R5.4, R16)."""

    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"  # 妥投
    SIGNED = "signed"  # 签收
    DELIVERY_FAILED = "delivery_failed"  # 妥投失败 (R16.1)
    REFUSED = "refused"  # 拒收 (R16.1)
    RETURNED_TO_SENDER = "returned_to_sender"  # back at the sender (R16.1)
    INTERCEPTED = "intercepted"  # 拦截成功 (R16.2)
    INTERCEPT_FAILED = "intercept_failed"  # 拦截失败 (R16.2)


DELIVERED = frozenset({ParcelStatus.DELIVERED, ParcelStatus.SIGNED})
# R16.1: the parcel did not reach the buyer and goes back to the merchant, and the reason
# a refund request opened for it on the buyer's behalf names (R16.3 freight follows it).
UNDELIVERABLE_REASONS: dict[ParcelStatus, str] = {
    ParcelStatus.DELIVERY_FAILED: "not_received",
    ParcelStatus.REFUSED: "no_longer_needed",
}


@dataclass(frozen=True, slots=True)
class Carrier:
    code: str
    name_en: str
    name_zh_CN: str
    pattern: re.Pattern[str]


CARRIERS: dict[str, Carrier] = {
    c.code: c
    for c in (
        Carrier("SF", "SF Express", "顺丰速运", re.compile(r"^SF\d{12,13}$")),
        Carrier(
            "ZTO", "ZTO Express", "中通快递", re.compile(r"^(7[0-9]|5[0-9]|6[0-9])\d{10}(\d{2})?$")
        ),
        Carrier("YTO", "YTO Express", "圆通速递", re.compile(r"^YT\d{13,15}$")),
        Carrier("STO", "STO Express", "申通快递", re.compile(r"^(77|88|55|66|22|33|44)\d{11}$")),
        Carrier(
            "YUNDA", "Yunda Express", "韵达快递", re.compile(r"^(31|43|46|42|10)\d{11}(\d{2})?$")
        ),
        Carrier("JD", "JD Logistics", "京东物流", re.compile(r"^JD[A-Z0-9]{11,13}$")),
        Carrier("EMS", "China Post EMS", "中国邮政EMS", re.compile(r"^(E[A-Z]\d{9}CN|1\d{12})$")),
        Carrier("JT", "J&T Express", "极兔速递", re.compile(r"^JT\d{13}$")),
        Carrier("OTHER", "Other carrier", "其他快递", re.compile(r"^[A-Z0-9]{8,30}$")),
    )
}


def normalise_tracking(number: str) -> str:
    """Upper-case and strip spaces and dashes, the way buyers paste numbers."""
    return re.sub(r"[\s\-]", "", number).upper()


def validate_tracking(carrier_code: str, number: str) -> tuple[str, str]:
    """Return (carrier, normalised number) or refuse with R5.3, naming the field."""
    carrier = CARRIERS.get(carrier_code.upper())
    if carrier is None:
        raise ValidationFailed(
            "tracking.unknown_carrier",
            N_("Unknown carrier {carrier}."),
            rule="R5.3",
            field="carrier",
            carrier=carrier_code,
        )
    normalised = normalise_tracking(number)
    if not carrier.pattern.match(normalised):
        raise ValidationFailed(
            "tracking.bad_format",
            N_("{number} is not a valid {carrier} tracking number."),
            rule="R5.3",
            field="tracking_number",
            number=number,
            carrier=carrier.name_en,
        )
    return carrier.code, normalised
