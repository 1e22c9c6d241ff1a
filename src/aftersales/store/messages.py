"""Case messages (append-only) and the shops' reply templates (R5.7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from aftersales.store.records import every, one
from aftersales.store.schema import case_messages, cases, reply_templates

PUBLISHED = "published"
HELD = "held"


# --------------------------------------------------------------------------- messages
def insert_message(
    conn: Connection,
    *,
    case_id: int,
    author_kind: str,
    account_id: int | None,
    body: str,
    status: str,
    flags: list[dict[str, Any]],
    revises_id: int | None,
    template_id: int | None,
    now: datetime,
) -> int:
    return int(
        conn.execute(
            insert(case_messages)
            .values(
                case_id=case_id,
                author_kind=author_kind,
                account_id=account_id,
                body=body,
                status=status,
                flags=flags,
                revises_id=revises_id,
                template_id=template_id,
                created_at=now,
            )
            .returning(case_messages.c.id)
        ).scalar_one()
    )


# --------------------------------------------------------------------------- records
@dataclass(frozen=True, slots=True)
class Message:
    """One message of a case's R5.7 conversation (append-only; an edit is a new one that
    ``revises_id`` the held message)."""

    id: int
    case_id: int
    author_kind: str
    account_id: int | None
    body: str
    status: str
    flags: list[Any]
    revises_id: int | None
    template_id: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Template:
    """A shop's reply template (archived, never deleted)."""

    id: int
    shop_id: int
    title: str
    body: str
    created_at: datetime
    archived_at: datetime | None


@dataclass(frozen=True, slots=True)
class FirstReply:
    """A case of the shop and its first published shop message (None: not yet)."""

    id: int
    number: str
    created_at: datetime
    profile_id: str
    profile_version: int
    first_reply_at: datetime | None


@dataclass(frozen=True, slots=True)
class BuyerMessageReply:
    """A published buyer message and the first published shop message after it."""

    id: int
    case_id: int
    created_at: datetime
    number: str
    profile_id: str
    profile_version: int
    replied_at: datetime | None


def message_by_id(conn: Connection, message_id: int) -> Message | None:
    row = conn.execute(select(case_messages).where(case_messages.c.id == message_id)).first()
    return one(Message, row)


def revision_of(conn: Connection, message_id: int) -> Message | None:
    """The message that edits (supersedes) a held one, if any."""
    return one(
        Message,
        conn.execute(select(case_messages).where(case_messages.c.revises_id == message_id)).first(),
    )


def messages_of_case(conn: Connection, case_id: int) -> list[Message]:
    q = (
        select(case_messages)
        .where(case_messages.c.case_id == case_id)
        .order_by(case_messages.c.created_at, case_messages.c.id)
    )
    return every(Message, conn.execute(q))


# --------------------------------------------------------------------------- statistics
def first_shop_replies(
    conn: Connection, shop_id: int, start: datetime, end: datetime
) -> list[FirstReply]:
    """Cases of the shop opened in ``[start, end)``, each with its first published shop
    message (``first_reply_at`` None when the shop has not written yet)."""
    m = case_messages
    first = (
        select(func.min(m.c.created_at))
        .where(
            and_(
                m.c.case_id == cases.c.id,
                m.c.author_kind == "merchant",
                m.c.status == PUBLISHED,
            )
        )
        .scalar_subquery()
    )
    q = (
        select(
            cases.c.id,
            cases.c.number,
            cases.c.created_at,
            cases.c.profile_id,
            cases.c.profile_version,
            first.label("first_reply_at"),
        )
        .where(
            and_(cases.c.shop_id == shop_id, cases.c.created_at >= start, cases.c.created_at < end)
        )
        .order_by(cases.c.created_at, cases.c.id)
    )
    return every(FirstReply, conn.execute(q))


def buyer_messages_with_replies(
    conn: Connection, shop_id: int, start: datetime, end: datetime
) -> list[BuyerMessageReply]:
    """Published buyer messages posted in ``[start, end)`` on the shop's cases, each with
    the time of the first published shop message after it (``replied_at``, or None)."""
    m = case_messages
    r = case_messages.alias("reply")
    replied = (
        select(func.min(r.c.created_at))
        .where(
            and_(
                r.c.case_id == m.c.case_id,
                r.c.author_kind == "merchant",
                r.c.status == PUBLISHED,
                or_(
                    r.c.created_at > m.c.created_at,
                    and_(r.c.created_at == m.c.created_at, r.c.id > m.c.id),
                ),
            )
        )
        .scalar_subquery()
    )
    q = (
        select(
            m.c.id,
            m.c.case_id,
            m.c.created_at,
            cases.c.number,
            cases.c.profile_id,
            cases.c.profile_version,
            replied.label("replied_at"),
        )
        .join(cases, cases.c.id == m.c.case_id)
        .where(
            and_(
                cases.c.shop_id == shop_id,
                m.c.author_kind == "buyer",
                m.c.status == PUBLISHED,
                m.c.created_at >= start,
                m.c.created_at < end,
            )
        )
        .order_by(m.c.created_at, m.c.id)
    )
    return every(BuyerMessageReply, conn.execute(q))


# --------------------------------------------------------------------------- templates
def insert_template(conn: Connection, *, shop_id: int, title: str, body: str, now: datetime) -> int:
    return int(
        conn.execute(
            insert(reply_templates)
            .values(shop_id=shop_id, title=title, body=body, created_at=now, archived_at=None)
            .returning(reply_templates.c.id)
        ).scalar_one()
    )


def template_by_id(conn: Connection, template_id: int) -> Template | None:
    row = conn.execute(select(reply_templates).where(reply_templates.c.id == template_id)).first()
    return one(Template, row)


def templates_of_shop(conn: Connection, shop_id: int, *, include_archived: bool) -> list[Template]:
    q = select(reply_templates).where(reply_templates.c.shop_id == shop_id)
    if not include_archived:
        q = q.where(reply_templates.c.archived_at.is_(None))
    return every(Template, conn.execute(q.order_by(reply_templates.c.id)))


def archive_template(conn: Connection, template_id: int, now: datetime) -> None:
    """Archive (never delete): only a live template changes."""
    conn.execute(
        update(reply_templates)
        .where(and_(reply_templates.c.id == template_id, reply_templates.c.archived_at.is_(None)))
        .values(archived_at=now)
    )
