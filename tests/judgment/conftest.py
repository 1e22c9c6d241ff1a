"""Builders for judgment tests: a dispute's facts, evidence and signals. No database."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aftersales.domain.case_types import CaseType
from aftersales.domain.judgment import DisputeFacts, EvidenceFact, Signals
from aftersales.domain.money import Money
from aftersales.domain.policy import EvidenceKind, Issue, Judgment, Party, Profile, Side
from aftersales.domain.reasons import reason
from aftersales.profiles import load_profiles

REPORTED = datetime(2026, 11, 5, 4, 0, tzinfo=UTC)


def facts(
    reason_code: str = "defect",
    issue: Issue = Issue.SERIOUS_DEFECT,
    *,
    case_type: CaseType = CaseType.RETURN_REFUND,
    days_after_signing: int | None = 1,
    **kw: Any,
) -> DisputeFacts:
    """A dispute over a 129.00 CNY kettle, reported ``days_after_signing`` after signing."""
    signed = None if days_after_signing is None else REPORTED - timedelta(days=days_after_signing)
    base = DisputeFacts(
        case_type=case_type,
        reason_code=reason_code,
        reason_group=reason(reason_code).group,
        issue=issue,
        requested=Money(12_900, "CNY"),
        reported_at=REPORTED,
        signed_at=signed,
    )
    return dataclasses.replace(base, **kw)


def ev(
    party: Party,
    kind: EvidenceKind,
    supports: Side | None = None,
    ref: str | None = None,
    **kw: Any,
) -> EvidenceFact:
    """An item from ``party`` supporting that party (or ``supports``)."""
    side = supports or (Side.MERCHANT if party is Party.MERCHANT else Side.BUYER)
    return EvidenceFact(
        id=ref or f"{party.value}-{kind.value}", party=party, kind=kind, supports=side, **kw
    )


QUIET = Signals()  # no reviews known, no complaints, a low-risk buyer


@pytest.fixture(scope="session")
def douyin() -> Profile:
    return load_profiles()["douyin"]


@pytest.fixture(scope="session")
def policy(douyin: Profile) -> Judgment:
    assert douyin.judgment is not None
    return douyin.judgment
