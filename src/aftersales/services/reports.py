"""R15 reports: a shop files force-majeure reports (报备中心, R15.1) and malicious-buyer
reports (举报中心, R15.2); a platform agent reviews each once.

Who may do what. Filing: a shop's main account, or a sub-account granted
``handle_aftersales`` (a token with ``cases:write``). Reading: the shop's own accounts
that handle after-sales see the shop's reports; platform agents and admins see every
report. Reviewing: platform agents and admins only; the reporting shop sees its report
and is refused (403); anyone else is answered as if it did not exist (404).

A review is set once: the row goes from ``pending`` to its outcome with a compare-and-set
update, and a second review is a Conflict. An approved force-majeure report answers
:func:`force_majeure_covers` (the judgment's ``force_majeure_approved`` signal, via
:func:`force_majeure_for_order`). A confirmed malicious-buyer report counts in the buyer's
risk level (``services.risk``) and rejects the buyer's matching requests at the shop
(:func:`review_buyer_report`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from aftersales.domain.accounts import AccountKind, Permission, Scope
from aftersales.domain.case import Command
from aftersales.domain.case_types import Action, ActorKind, State
from aftersales.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.domain.policy import Profile, ReportRules
from aftersales.domain.reasons import REASONS
from aftersales.services import engine
from aftersales.services.actors import (
    Actor,
    is_agent,
    owns_shop,
    reader_shop,
    require_permission,
    require_scope,
    shop_not_found,
    visible_shop,
)
from aftersales.services.context import Context
from aftersales.store import cases as case_store
from aftersales.store import catalog as catalog_store
from aftersales.store import reports as store
from aftersales.store.records import known

MAX_PAGE = 200
DESCRIPTION_MAX = 2000
NOTE_MAX = 2000
REGION_MAX = 40
# Letters, digits, CJK ideographs, and inner ". _ -" or spaces: "CN-BJ", "北京", "Hebei".
REGION_PATTERN = r"^[0-9A-Za-z一-鿿][0-9A-Za-z一-鿿._ -]*$"
_REGION = re.compile(REGION_PATTERN)
MAX_EVIDENCE = 50
MAX_REGIONS = 200  # the API's hard cap; the profile's limit is lower


class EventKind(StrEnum):
    """R15.1: what happened."""

    EPIDEMIC = "epidemic"
    SNOWSTORM = "snowstorm"
    FLOOD = "flood"
    TYPHOON = "typhoon"
    EARTHQUAKE = "earthquake"
    OTHER = "other"


class FmStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class BuyerReportStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class ForceMajeureView:
    id: int
    shop_code: str
    kind: EventKind
    regions: list[str]
    starts_on: date
    ends_on: date
    description: str
    status: FmStatus
    filed_by: str
    created_at: datetime
    reviewed_at: datetime | None
    reviewed_by: str | None
    review_note: str | None


@dataclass(frozen=True, slots=True)
class BuyerReportView:
    id: int
    shop_code: str
    buyer_ref: str
    reason: str
    case_numbers: list[str]
    evidence_ids: list[int]
    status: BuyerReportStatus
    filed_by: str | None
    created_at: datetime
    reviewed_at: datetime | None
    reviewed_by: str | None
    review_note: str | None
    rejected_cases: list[str]  # R15.2: the requests the confirmation rejected


# --------------------------------------------------------------------------- helpers
def rules_of(profile: Profile) -> ReportRules:
    if profile.reports is None:
        raise ValueError(f"profile {profile.id} v{profile.version} has no [reports] rules")
    return profile.reports


def _require_filer(conn: Connection, actor: Actor, shop_code: str) -> Any:
    """A shop's own account that handles after-sales (404 for other shops; 403 for the
    platform and for sub-accounts without the permission)."""
    if actor.kind not in (ActorKind.MERCHANT, ActorKind.PLATFORM):
        raise shop_not_found(shop_code)
    shop = visible_shop(conn, actor, shop_code)
    if actor.kind is not ActorKind.MERCHANT:
        raise Forbidden("report.shop_only", N_("Only the shop files its reports."), rule="R15")
    require_scope(actor, Scope.CASES_WRITE)
    require_permission(actor, Permission.HANDLE_AFTERSALES)
    return shop


def _require_reviewer(actor: Actor, shop_id: int, not_found: NotFound) -> None:
    """Platform agents and admins review; the reporting shop is refused (403); anyone
    else sees no report (404)."""
    if is_agent(actor):
        require_scope(actor, Scope.CASES_WRITE)
        return
    if owns_shop(actor, shop_id):
        raise Forbidden(
            "report.agents_only", N_("Only a platform agent reviews reports."), rule="R15"
        )
    raise not_found


def _fm_not_found(report_id: int) -> NotFound:
    return NotFound("report.not_found", N_("Report {id} not found."), id=report_id)


def _note(note: str) -> str:
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise ValidationFailed(
            "report.note_too_long", N_("The note is too long."), field="note", max=NOTE_MAX
        )
    return note


def _text(value: str, field: str) -> str:
    value = value.strip()
    if not value:
        raise ValidationFailed(
            "report.description_missing", N_("Describe what happened."), field=field
        )
    if len(value) > DESCRIPTION_MAX:
        raise ValidationFailed(
            "report.description_too_long",
            N_("The description is too long."),
            field=field,
            max=DESCRIPTION_MAX,
        )
    return value


def _profile(ctx: Context, conn: Connection, shop_row: Any, now: datetime) -> Profile:
    return ctx.profiles.current_for(conn, shop_row.profile_id, now)


def _local_day(moment: datetime, tz: str) -> date:
    return moment.astimezone(ZoneInfo(tz)).date()


def _region_key(region: str) -> str:
    return region.strip().casefold()


# --------------------------------------------------------------------------- R15.1
def _fm_view(conn: Connection, row: store.ForceMajeureReport) -> ForceMajeureView:
    return ForceMajeureView(
        id=row.id,
        shop_code=catalog_store.shop_code(conn, row.shop_id),
        kind=EventKind(row.kind),
        regions=list(row.regions),
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        description=row.description,
        status=FmStatus(row.status),
        filed_by=row.filed_by,
        created_at=row.created_at,
        reviewed_at=row.reviewed_at,
        reviewed_by=row.reviewed_by,
        review_note=row.review_note,
    )


def file_force_majeure(
    ctx: Context,
    actor: Actor,
    shop_code: str,
    *,
    kind: EventKind,
    regions: Sequence[str],
    starts_on: date,
    ends_on: date,
    description: str,
) -> ForceMajeureView:
    """R15.1: the shop reports an event in some regions over some days (its local dates,
    both inclusive); it waits for an agent's review."""
    now = ctx.now()
    with ctx.db.write() as conn:
        shop = _require_filer(conn, actor, shop_code)
        rules = rules_of(_profile(ctx, conn, shop, now))
        cleaned: list[str] = []
        for region in regions:
            value = region.strip()
            if not _REGION.fullmatch(value):
                raise ValidationFailed(
                    "report.region_invalid",
                    N_("{region} is not a region code."),
                    field="regions",
                    region=region,
                )
            if _region_key(value) not in {_region_key(r) for r in cleaned}:
                cleaned.append(value)
        if not cleaned or len(cleaned) > rules.force_majeure_max_regions:
            raise ValidationFailed(
                "report.regions_count",
                N_("Name between 1 and {max} regions."),
                field="regions",
                rule="R15.1",
                max=rules.force_majeure_max_regions,
            )
        if ends_on < starts_on:
            raise ValidationFailed(
                "report.window_reversed",
                N_("The last day comes before the first."),
                field="ends_on",
                rule="R15.1",
            )
        if (ends_on - starts_on).days + 1 > rules.force_majeure_max_days:
            raise ValidationFailed(
                "report.window_too_long",
                N_("A report covers at most {days} days."),
                field="ends_on",
                rule="R15.1",
                days=rules.force_majeure_max_days,
            )
        today = _local_day(now, shop.timezone)
        if starts_on < today - timedelta(days=rules.force_majeure_backdate_days):
            raise ValidationFailed(
                "report.window_too_old",
                N_("A report may start at most {days} days before it is filed."),
                field="starts_on",
                rule="R15.1",
                days=rules.force_majeure_backdate_days,
            )
        report_id = store.insert_force_majeure(
            conn,
            shop_id=shop.id,
            kind=EventKind(kind).value,
            regions=cleaned,
            starts_on=starts_on,
            ends_on=ends_on,
            description=_text(description, "description"),
            filed_by=actor.id or "",
            now=now,
        )
        return _fm_view(conn, known(store.force_majeure(conn, report_id)))


def list_force_majeure(
    ctx: Context,
    actor: Actor,
    *,
    shop_code: str | None = None,
    status: FmStatus | None = None,
    limit: int = 50,
) -> list[ForceMajeureView]:
    """A shop's own reports; the platform's every shop's (newest first)."""
    with ctx.db.read() as conn:
        shop_id = reader_shop(conn, actor, shop_code)
        rows = store.force_majeure_rows(
            conn,
            shop_id=shop_id,
            status=status.value if status else None,
            limit=min(max(limit, 1), MAX_PAGE),
        )
        return [_fm_view(conn, r) for r in rows]


def review_force_majeure(
    ctx: Context, actor: Actor, report_id: int, *, approve: bool, note: str = ""
) -> ForceMajeureView:
    """R15.1: an agent approves or rejects the report, once."""
    now = ctx.now()
    with ctx.db.write() as conn:
        row = store.force_majeure(conn, report_id)
        if row is None:
            raise _fm_not_found(report_id)
        _require_reviewer(actor, row.shop_id, _fm_not_found(report_id))
        status = FmStatus.APPROVED if approve else FmStatus.REJECTED
        if not store.review_force_majeure(
            conn, report_id, status.value, note=_note(note), by=actor.id or "", now=now
        ):
            raise _already_reviewed(report_id)
        return _fm_view(conn, known(store.force_majeure(conn, report_id)))


def _already_reviewed(report_id: int) -> Conflict:
    return Conflict(
        "report.already_reviewed",
        N_("Report {id} has already been reviewed."),
        rule="R15",
        id=report_id,
    )


def force_majeure_covers(conn: Connection, shop_id: int, region: str, moment: datetime) -> bool:
    """R15.1: an approved report of the shop names ``region`` (case and surrounding white
    space ignored) and its window holds ``moment``'s date in the shop's time zone (first
    and last day both inclusive). Pending and rejected reports cover nothing."""
    shop = catalog_store.get_shop(conn, shop_id)
    if shop is None or not region.strip():
        return False
    key = _region_key(region)
    day = _local_day(moment, shop.timezone)
    return any(
        key in {_region_key(r) for r in row.regions}
        for row in store.approved_windows(conn, shop_id, day)
    )


def force_majeure_for_order(conn: Connection, order_id: int) -> bool:
    """R10.3's ``Signals.force_majeure_approved`` for a case on this order: an approved
    report covers the order's region when shipment was due (``ship_by``; without one,
    when it was paid). An order without a region is never covered."""
    order = catalog_store.load_order(conn, order_id)
    if order is None or not order.region:
        return False
    due = order.ship_by or order.paid_at
    return force_majeure_covers(conn, order.shop_id, order.region, due)


# --------------------------------------------------------------------------- R15.2
def _br_not_found(report_id: int) -> NotFound:
    return NotFound("report.not_found", N_("Report {id} not found."), id=report_id)


def _buyer_not_found(ref: str) -> NotFound:
    return NotFound("buyer.not_found", N_("Buyer {ref} not found."), ref=ref)


def _br_view(conn: Connection, row: store.BuyerReport) -> BuyerReportView:
    evidence = row.evidence or {}
    return BuyerReportView(
        id=row.id,
        shop_code=catalog_store.shop_code(conn, row.shop_id),
        buyer_ref=catalog_store.buyer_ref(conn, row.buyer_id) or "",
        reason=row.reason,
        case_numbers=list(evidence.get("cases", [])),
        evidence_ids=[int(i) for i in evidence.get("evidence", [])],
        status=BuyerReportStatus(row.status),
        filed_by=row.filed_by,
        created_at=row.created_at,
        reviewed_at=row.reviewed_at,
        reviewed_by=row.reviewed_by,
        review_note=row.review_note,
        rejected_cases=list(row.rejected_cases or []),
    )


def file_buyer_report(
    ctx: Context,
    actor: Actor,
    shop_code: str,
    *,
    reason: str,
    buyer_ref: str | None = None,
    case_numbers: Sequence[str] = (),
    evidence_ids: Sequence[int] = (),
) -> BuyerReportView:
    """R15.2: the shop reports a buyer it sold to, named by ``buyer_ref`` or by the first
    of ``case_numbers`` (the buyer's cases at the shop); the evidence named must be on the
    buyer's cases at the shop. A buyer the shop never sold to is answered 404."""
    now = ctx.now()
    with ctx.db.write() as conn:
        shop = _require_filer(conn, actor, shop_code)
        numbers = list(dict.fromkeys(case_numbers))
        ids = list(dict.fromkeys(evidence_ids))
        if len(numbers) > MAX_EVIDENCE or len(ids) > MAX_EVIDENCE:
            raise ValidationFailed(
                "report.evidence_too_many",
                N_("Name at most {max} cases and {max} evidence items."),
                field="evidence_ids",
                max=MAX_EVIDENCE,
            )
        if buyer_ref is not None:
            buyer_id = catalog_store.buyer_id_by_ref(conn, buyer_ref)
            if buyer_id is None or not store.sold_to(conn, shop.id, buyer_id):
                raise _buyer_not_found(buyer_ref)
        elif numbers:
            case = case_store.load_case(conn, numbers[0])
            if case is None or case.shop_id != shop.id:
                raise NotFound("case.not_found", N_("Case {number} not found."), number=numbers[0])
            buyer_id = case.buyer_id
        else:
            raise ValidationFailed(
                "report.buyer_missing",
                N_("Name the buyer or one of their cases."),
                field="buyer",
                rule="R15.2",
            )
        for number in set(numbers) - store.case_numbers_of(conn, shop.id, buyer_id, numbers):
            raise NotFound("case.not_found", N_("Case {number} not found."), number=number)
        for item in set(ids) - store.evidence_ids_of(conn, shop.id, buyer_id, ids):
            raise NotFound("evidence.not_found", N_("Evidence {id} not found."), id=item)
        report_id = store.insert_buyer_report(
            conn,
            shop_id=shop.id,
            buyer_id=buyer_id,
            reason=_text(reason, "reason"),
            evidence={"cases": numbers, "evidence": ids},
            filed_by=actor.id or "",
            now=now,
        )
        return _br_view(conn, known(store.buyer_report(conn, report_id)))


def list_buyer_reports(
    ctx: Context,
    actor: Actor,
    *,
    shop_code: str | None = None,
    status: BuyerReportStatus | None = None,
    limit: int = 50,
) -> list[BuyerReportView]:
    """A shop's own reports; the platform's every shop's (newest first)."""
    with ctx.db.read() as conn:
        shop_id = reader_shop(conn, actor, shop_code)
        rows = store.buyer_report_rows(
            conn,
            shop_id=shop_id,
            status=status.value if status else None,
            limit=min(max(limit, 1), MAX_PAGE),
        )
        return [_br_view(conn, r) for r in rows]


def matching_reasons(rules: ReportRules) -> list[str]:
    """R15.2: the reason codes whose requests a confirmed report rejects."""
    return sorted(r.code for r in REASONS.values() if r.group in rules.malicious_reason_groups)


def review_buyer_report(
    ctx: Context, actor: Actor, report_id: int, *, confirm: bool, note: str = ""
) -> BuyerReportView:
    """R15.2: an agent confirms or rejects the report, once. Confirmed: the buyer's risk
    level rises (``services.risk`` counts confirmed reports) and every request of the
    buyer at the reporting shop still awaiting the merchant whose current reason is in the
    profile's ``reports.malicious_reason_groups`` is rejected, as the shop, with the
    refusal code ``reports.malicious_refusal_code``; each timeline entry names R15.2 and
    the report. Rejected: nothing else changes."""
    now = ctx.now()
    with ctx.db.write() as conn:
        row = store.buyer_report(conn, report_id)
        if row is None:
            raise _br_not_found(report_id)
        _require_reviewer(actor, row.shop_id, _br_not_found(report_id))
        if row.status != BuyerReportStatus.PENDING.value:
            raise _already_reviewed(report_id)
        note = _note(note)
        rejected: list[str] = []
        if confirm:
            shop = catalog_store.get_shop(conn, row.shop_id)
            assert shop is not None
            rules = rules_of(ctx.profiles.current_for(conn, shop.profile_id, now))
            shop_actor = Actor(
                ActorKind.MERCHANT,
                f"report:{report_id}",
                shop_id=row.shop_id,
                account_kind=AccountKind.MERCHANT,
            )
            for number in store.matching_pending(
                conn,
                row.shop_id,
                row.buyer_id,
                state=State.AWAITING_MERCHANT.value,
                reasons=matching_reasons(rules),
            ):
                case = case_store.load_case(conn, number)
                assert case is not None
                cmd = Command(
                    Action.REJECT,
                    ActorKind.MERCHANT,
                    refusal_code=rules.malicious_refusal_code,
                    note=f"R15.2 report {report_id}",
                )
                engine.move(
                    ctx,
                    conn,
                    shop_actor,
                    case,
                    cmd,
                    None,
                    now,
                    extra_changes={"report": report_id},
                    rule="R15.2",
                )
                rejected.append(number)
        status = BuyerReportStatus.CONFIRMED if confirm else BuyerReportStatus.REJECTED
        if not store.review_buyer_report(
            conn,
            report_id,
            status.value,
            note=note,
            by=actor.id or "",
            now=now,
            rejected_cases=rejected,
        ):
            raise _already_reviewed(report_id)
        return _br_view(conn, known(store.buyer_report(conn, report_id)))
