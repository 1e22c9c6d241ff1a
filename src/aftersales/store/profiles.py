"""The policy profile versions cases were decided under (a case keeps its profile's
version: later edits of the profile never change its past)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, select

from aftersales.store.schema import (
    policy_profiles,
)


# --------------------------------------------------------------------------- profiles
def stored_profile(conn: Connection, profile_id: str, version: int) -> Any:
    return conn.execute(
        select(policy_profiles).where(
            and_(policy_profiles.c.profile_id == profile_id, policy_profiles.c.version == version)
        )
    ).first()


def store_profile(
    conn: Connection,
    profile_id: str,
    version: int,
    digest: str,
    body: dict[str, Any],
    now: datetime,
) -> None:
    conn.execute(
        insert(policy_profiles).values(
            profile_id=profile_id, version=version, digest=digest, body=body, created_at=now
        )
    )
