"""Events for webhooks, written to the outbox in the caller's transaction.

An event exists if and only if the change it announces committed; the dispatcher
(``aftersales.jobs.outbox``) delivers it later, so a crash between the commit and the
HTTP call loses nothing. ``event_id`` is what receivers deduplicate on.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from aftersales.domain.case import Case
from aftersales.store import catalog as catalog_store
from aftersales.store import outbox


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


def emit(
    conn: Connection,
    type: str,
    *,
    shop_id: int | None,
    case_id: int | None,
    data: dict[str, Any],
    now: datetime,
) -> str:
    """Write one event. Every event about a shop names it (`data.shop`, the shop code), so
    a platform endpoint receiving all shops' events can route them."""
    event_id = new_event_id()
    if shop_id is not None:
        data = {"shop": catalog_store.shop_code(conn, shop_id), **data}
    payload = {"id": event_id, "type": type, "created_at": now.isoformat(), "data": data}
    outbox.insert_event(
        conn,
        event_id=event_id,
        type=type,
        shop_id=shop_id,
        case_id=case_id,
        payload=payload,
        now=now,
    )
    return event_id


def case_event(
    conn: Connection,
    case: Case,
    *,
    action: str,
    seq: int,
    actor_kind: str,
    rule: str | None,
    from_state: str | None,
    now: datetime,
) -> str:
    """``case.<action>``: one per timeline entry (``case.open`` for a new request)."""
    assert case.id is not None
    return emit(
        conn,
        f"case.{action}",
        shop_id=case.shop_id,
        case_id=case.id,
        data={
            "case_number": case.number,
            "case_type": case.type.value,
            "action": action,
            "timeline_seq": seq,
            "actor_kind": actor_kind,
            "rule": rule,
            "from_state": from_state,
            "state": case.state.value,
            "version": case.version,
        },
        now=now,
    )
