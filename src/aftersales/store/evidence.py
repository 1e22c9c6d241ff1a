"""Evidence items of a case (append-only rows; the files live in the blob store)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, select

from aftersales.store.records import every, one
from aftersales.store.schema import cases, evidence_items


@dataclass(frozen=True, slots=True)
class EvidenceItem:
    """An uploaded evidence file's metadata (the file is in the blob store under
    ``content_hash``)."""

    id: int
    case_id: int
    uploaded_by: str
    account_id: int | None
    party: str
    kind: str
    content_hash: str
    size: int
    media_type: str
    original_hash: str | None
    original_size: int | None
    width: int | None
    height: int | None
    filename: str
    description: str
    first_submission: bool
    created_at: datetime


def insert_item(
    conn: Connection,
    *,
    case_id: int,
    uploaded_by: str,
    account_id: int | None,
    party: str,
    kind: str,
    content_hash: str,
    size: int,
    original_hash: str,
    original_size: int,
    media_type: str,
    width: int | None,
    height: int | None,
    filename: str,
    description: str,
    first_submission: bool,
    now: datetime,
) -> int:
    return int(
        conn.execute(
            insert(evidence_items)
            .values(
                case_id=case_id,
                uploaded_by=uploaded_by,
                account_id=account_id,
                party=party,
                kind=kind,
                content_hash=content_hash,
                size=size,
                original_hash=original_hash,
                original_size=original_size,
                media_type=media_type,
                width=width,
                height=height,
                filename=filename,
                description=description,
                first_submission=first_submission,
                created_at=now,
            )
            .returning(evidence_items.c.id)
        ).scalar_one()
    )


def item_by_id(conn: Connection, item_id: int) -> EvidenceItem | None:
    row = conn.execute(select(evidence_items).where(evidence_items.c.id == item_id)).first()
    return one(EvidenceItem, row)


def items_of_case(conn: Connection, case_id: int) -> list[EvidenceItem]:
    return every(
        EvidenceItem,
        conn.execute(
            select(evidence_items)
            .where(evidence_items.c.case_id == case_id)
            .order_by(evidence_items.c.id)
        ),
    )


def count_by_party(conn: Connection, case_id: int, party: str) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(evidence_items)
            .where(evidence_items.c.case_id == case_id, evidence_items.c.party == party)
        ).scalar_one()
    )


def lock_case(conn: Connection, case_id: int) -> None:
    """Serialise uploads on one case (PostgreSQL; SQLite writers are serial already), so
    exactly one buyer item is the first submission."""
    conn.execute(select(cases.c.id).where(cases.c.id == case_id).with_for_update())
