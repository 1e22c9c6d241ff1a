"""R5.3/R16: carrier tracking formats, and the R16 rows of the transition table.

One valid and one invalid sample per carrier; the domain needs no database.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from aftersales.domain import machine
from aftersales.domain.case import Command, DeadlinePlan
from aftersales.domain.case_types import Action, ActorKind, CaseType, DeadlineKind, State
from aftersales.domain.errors import IllegalTransition, ValidationFailed
from aftersales.domain.logistics import CARRIERS, normalise_tracking, validate_tracking

if TYPE_CHECKING:
    from tests.domain.conftest import Builder

# carrier -> (a valid number, a number of the wrong shape for that carrier)
SAMPLES: dict[str, tuple[str, str]] = {
    "SF": ("SF1234567890123", "SF12345"),  # SF + 12-13 digits
    "ZTO": ("731234567890", "431234567890"),  # 5x/6x/7x + 10 (+2) digits
    "YTO": ("YT1234567890123", "YT12345"),  # YT + 13-15 digits
    "STO": ("7712345678901", "9912345678901"),  # 77/88/55/66/22/33/44 + 11 digits
    "YUNDA": ("3112345678901", "3212345678901"),  # 31/43/46/42/10 + 11 (+2) digits
    "JD": ("JDVA12345678901", "JD12345"),  # JD + 11-13 letters or digits
    "EMS": ("EA123456789CN", "EA123456789US"),  # E?#########CN or 1 + 12 digits
    "JT": ("JT1234567890123", "JT123456789012"),  # JT + 13 digits
    "OTHER": ("ABC12345", "AB1"),  # generic: 8-30 letters or digits
}


def test_R5_3_every_carrier_has_samples() -> None:
    assert set(SAMPLES) == set(CARRIERS)


@pytest.mark.parametrize("carrier", sorted(SAMPLES))
def test_R5_3_a_valid_tracking_number_passes_its_carrier_format(carrier: str) -> None:
    valid, _ = SAMPLES[carrier]
    assert validate_tracking(carrier, valid) == (carrier, valid)
    # as buyers paste it: lower case, spaces and dashes
    pasted = "-".join([valid[:4].lower(), valid[4:]]) + " "
    assert validate_tracking(carrier.lower(), pasted) == (carrier, valid)


@pytest.mark.parametrize("carrier", sorted(SAMPLES))
def test_R5_3_an_invalid_tracking_number_is_refused_naming_the_field(carrier: str) -> None:
    _, invalid = SAMPLES[carrier]
    with pytest.raises(ValidationFailed) as err:
        validate_tracking(carrier, invalid)
    assert err.value.code == "tracking.bad_format"
    assert (err.value.rule, err.value.params["field"]) == ("R5.3", "tracking_number")


def test_R5_3_ems_domestic_numeric_form_passes() -> None:
    assert validate_tracking("EMS", "1123456789012") == ("EMS", "1123456789012")


def test_R5_3_an_unknown_carrier_is_refused_naming_the_carrier_field() -> None:
    with pytest.raises(ValidationFailed) as err:
        validate_tracking("DHLX", "SF1234567890123")
    assert (err.value.rule, err.value.params["field"]) == ("R5.3", "carrier")


def test_R5_3_normalising_strips_spaces_and_dashes() -> None:
    assert normalise_tracking(" sf-1234 5678 90123 ") == "SF1234567890123"


# --------------------------------------------------------------------------- R16 rows
def test_R16_1_a_returning_parcel_holds_the_profile_timeout(build: Builder) -> None:
    case = build.case(CaseType.REFUND_ONLY, State.AWAITING_MERCHANT)
    facts = build.facts(build.order_for(CaseType.REFUND_ONLY))
    out = machine.apply(
        case,
        Command(Action.PARCEL_UNDELIVERABLE, ActorKind.CARRIER),
        facts,
        build.profile,
        build.now,
    )
    assert out.to_state is State.PARCEL_RETURNING
    assert out.rule == "R16.1"
    assert build.profile.logistics is not None
    assert out.deadline == DeadlinePlan(
        DeadlineKind.PARCEL_RETURN,
        build.now + timedelta(hours=build.profile.logistics.returned_parcel_timeout_hours),
    )


def test_R16_2_asking_for_an_intercept_keeps_the_merchant_clock(build: Builder) -> None:
    case = build.case(CaseType.REFUND_UNSHIPPED, State.AWAITING_MERCHANT)
    facts = dataclasses.replace(
        build.facts(build.order_for(CaseType.REFUND_UNSHIPPED)),
        interceptable_parcel=("SF", "SF1234567890123"),
    )
    out = machine.apply(
        case, Command(Action.REQUEST_INTERCEPT, ActorKind.MERCHANT), facts, build.profile, build.now
    )
    assert out.to_state is State.AWAITING_MERCHANT and out.rule == "R16.2"
    assert out.keep_deadline and out.case.deadline_at == case.deadline_at
    assert out.changes["intercept"] == (
        None,
        {"carrier": "SF", "tracking_number": "SF1234567890123", "rule": "R16.2"},
    )


def test_R16_2_no_intercept_without_a_parcel_travelling(build: Builder) -> None:
    case = build.case(CaseType.REFUND_UNSHIPPED, State.AWAITING_MERCHANT)
    facts = build.facts(build.order_for(CaseType.REFUND_UNSHIPPED))
    with pytest.raises(IllegalTransition) as err:
        machine.apply(
            case,
            Command(Action.REQUEST_INTERCEPT, ActorKind.MERCHANT),
            facts,
            build.profile,
            build.now,
        )
    assert (err.value.code, err.value.rule) == ("intercept.no_parcel", "R16.2")


def test_R16_2_a_merchant_refund_that_skipped_a_possible_intercept_is_marked(
    build: Builder,
) -> None:
    case = build.case(CaseType.REFUND_UNSHIPPED, State.AWAITING_MERCHANT)
    base = build.facts(build.order_for(CaseType.REFUND_UNSHIPPED))
    approve = Command(Action.APPROVE_REFUND, ActorKind.MERCHANT)
    travelling = dataclasses.replace(base, interceptable_parcel=("SF", "SF1234567890123"))

    missed = machine.apply(case, approve, travelling, build.profile, build.now)
    assert missed.changes["intercept_missed"][1] == {
        "carrier": "SF",
        "tracking_number": "SF1234567890123",
        "rule": "R16.2",
    }
    # attempted, no parcel, or intercepts not offered: nothing counts against the merchant
    attempted = dataclasses.replace(travelling, intercept_attempted=True)
    assert (
        "intercept_missed"
        not in machine.apply(case, approve, attempted, build.profile, build.now).changes
    )
    assert (
        "intercept_missed"
        not in machine.apply(case, approve, base, build.profile, build.now).changes
    )
    assert build.profile.logistics is not None
    off = build.profile.model_copy(
        update={
            "logistics": build.profile.logistics.model_copy(update={"intercept_enabled": False})
        }
    )
    assert (
        "intercept_missed" not in machine.apply(case, approve, travelling, off, build.now).changes
    )
