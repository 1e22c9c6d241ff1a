"""Accounts, sessions, API tokens, login attempts, the audit log and idempotency keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from aftersales.store.prebuilt import bound
from aftersales.store.schema import (
    accounts,
    api_tokens,
    audit_log,
    idempotency_keys,
    login_attempts,
    sessions,
    shops,
)


# --------------------------------------------------------------------------- accounts
def insert_account(conn: Connection, **values: Any) -> int:
    return int(
        conn.execute(insert(accounts).values(**values).returning(accounts.c.id)).scalar_one()
    )


def account_by_id(conn: Connection, account_id: int) -> Any:
    return conn.execute(select(accounts).where(accounts.c.id == account_id)).first()


def account_by_login(conn: Connection, login: str) -> Any:
    return conn.execute(select(accounts).where(accounts.c.login == login)).first()


def accounts_of_shop(conn: Connection, shop_id: int) -> list[Any]:
    return list(
        conn.execute(select(accounts).where(accounts.c.shop_id == shop_id).order_by(accounts.c.id))
    )


def update_account(conn: Connection, account_id: int, **values: Any) -> None:
    conn.execute(update(accounts).where(accounts.c.id == account_id).values(**values))


def audit(
    conn: Connection, *, at: datetime, actor: str, subject: str, action: str, **details: Any
) -> None:
    conn.execute(
        insert(audit_log).values(
            at=at, actor=actor, subject=subject, action=action, details=details
        )
    )


def audit_of(conn: Connection, subject: str) -> list[Any]:
    return list(
        conn.execute(
            select(audit_log).where(audit_log.c.subject == subject).order_by(audit_log.c.id)
        )
    )


# --------------------------------------------------------------------------- sessions
def insert_session(conn: Connection, **values: Any) -> int:
    return int(
        conn.execute(insert(sessions).values(**values).returning(sessions.c.id)).scalar_one()
    )


def live_session(conn: Connection, token_hash: str, now: datetime) -> Any:
    return conn.execute(
        select(sessions).where(
            sessions.c.token_hash == token_hash,
            sessions.c.revoked_at.is_(None),
            sessions.c.expires_at > now,
        )
    ).first()


def revoke_session(conn: Connection, token_hash: str, now: datetime) -> None:
    conn.execute(
        update(sessions)
        .where(sessions.c.token_hash == token_hash, sessions.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_sessions_of(conn: Connection, account_id: int, now: datetime) -> None:
    conn.execute(
        update(sessions)
        .where(sessions.c.account_id == account_id, sessions.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


# --------------------------------------------------------------------------- tokens
def insert_token(conn: Connection, **values: Any) -> int:
    return int(
        conn.execute(insert(api_tokens).values(**values).returning(api_tokens.c.id)).scalar_one()
    )


def live_token(conn: Connection, token_hash: str, now: datetime) -> Any:
    return conn.execute(
        select(api_tokens).where(
            api_tokens.c.token_hash == token_hash,
            api_tokens.c.revoked_at.is_(None),
            (api_tokens.c.expires_at.is_(None)) | (api_tokens.c.expires_at > now),
        )
    ).first()


_TOKEN_PRINCIPAL = (
    select(
        accounts,
        api_tokens.c.scopes.label("token_scopes"),
        shops.c.code.label("shop_code"),
    )
    .select_from(
        api_tokens.join(accounts, accounts.c.id == api_tokens.c.account_id).outerjoin(
            shops, shops.c.id == accounts.c.shop_id
        )
    )
    .where(
        api_tokens.c.token_hash == bindparam("token_hash"),
        api_tokens.c.revoked_at.is_(None),
        api_tokens.c.expires_at.is_(None) | (api_tokens.c.expires_at > bindparam("now")),
    )
)


def token_principal(conn: Connection, token_hash: str, now: datetime) -> Any:
    """A live token's account with the token's scopes (``token_scopes``) and the account's
    shop code (``shop_code``), in one prebuilt statement; None for no live token."""
    return conn.execute(_TOKEN_PRINCIPAL, {"token_hash": token_hash, "now": now}).first()


def token_by_id(conn: Connection, token_id: int) -> Any:
    return conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()


def tokens_of(conn: Connection, account_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(api_tokens)
            .where(api_tokens.c.account_id == account_id)
            .order_by(api_tokens.c.id)
        )
    )


def revoke_token(conn: Connection, token_id: int, now: datetime) -> bool:
    res = conn.execute(
        update(api_tokens)
        .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(res.rowcount)


# --------------------------------------------------------------------------- login attempts
def record_attempt(conn: Connection, *, login: str, ip: str, at: datetime, success: bool) -> None:
    conn.execute(insert(login_attempts).values(login=login, ip=ip, at=at, success=success))


def failures_since(conn: Connection, *, login: str, ip: str, since: datetime) -> tuple[int, int]:
    """Failed attempts since ``since`` for this login, and from this address."""

    def count(cond: Any) -> int:
        return int(
            conn.execute(
                select(func.count()).where(
                    cond, login_attempts.c.at >= since, login_attempts.c.success.is_(False)
                )
            ).scalar_one()
        )

    return count(login_attempts.c.login == login), count(login_attempts.c.ip == ip)


def oldest_failure_since(
    conn: Connection, *, login: str, ip: str, since: datetime
) -> datetime | None:
    value = conn.execute(
        select(func.min(login_attempts.c.at)).where(
            (login_attempts.c.login == login) | (login_attempts.c.ip == ip),
            login_attempts.c.at >= since,
            login_attempts.c.success.is_(False),
        )
    ).scalar_one()
    return value  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- idempotency
def idem_row(conn: Connection, principal: str, key: str, *, lock: bool = False) -> Any:
    q = select(idempotency_keys).where(
        and_(idempotency_keys.c.principal == principal, idempotency_keys.c.key == key)
    )
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update()
    return conn.execute(q).first()


_IDEM_STATEMENTS: dict[tuple[Any, ...], Any] = {}


def _idem_statement(shape: tuple[Any, ...], build: Any) -> Any:
    """The idempotency statements of one shape, built once (their values bound per call)."""
    stmt = _IDEM_STATEMENTS.get(shape)
    if stmt is None:
        stmt = _IDEM_STATEMENTS[shape] = build()
    return stmt


def idem_insert(conn: Connection, **values: Any) -> int | None:
    """Insert a key's row; None when the (principal, key) row exists already (no error,
    so no savepoint is needed around it)."""
    dialect = conn.dialect.name
    names = tuple(sorted(values))

    def build() -> Any:
        ins = pg_insert if dialect == "postgresql" else sqlite_insert
        return (
            ins(idempotency_keys)
            .values(bound(idempotency_keys, *names))
            .on_conflict_do_nothing(index_elements=["principal", "key"])
            .returning(idempotency_keys.c.id)
        )

    row_id = conn.execute(_idem_statement(("insert", dialect, names), build), values).scalar()
    return int(row_id) if row_id is not None else None


_PG_CLAIM = text(
    "WITH l AS (SELECT pg_try_advisory_xact_lock(CAST(:lock_key AS BIGINT)) AS got), "
    "i AS (INSERT INTO idempotency_keys "
    "(principal, key, method, path, fingerprint, status, created_at) "
    "SELECT :principal, :key, :method, :path, :fingerprint, :status, :created_at "
    "FROM l WHERE l.got ON CONFLICT (principal, key) DO NOTHING RETURNING id) "
    "SELECT (SELECT got FROM l) AS got, (SELECT id FROM i) AS id"
).bindparams(bindparam("created_at", type_=idempotency_keys.c.created_at.type))


def idem_claim(conn: Connection, lock_key: int, **values: Any) -> tuple[bool, int | None]:
    """Claim a key: (locked, row id). PostgreSQL: the transaction-scoped advisory lock
    ``lock_key`` and, only if it was taken, the INSERT of the key's row, in one statement
    (``locked`` False: another transaction holds the key now). SQLite: the INSERT (its
    writers are serialised already). The row id is None when the row exists already."""
    if conn.dialect.name != "postgresql":
        return True, idem_insert(conn, **values)
    row = conn.execute(_PG_CLAIM, {"lock_key": lock_key, **values}).one()
    return bool(row.got), int(row.id) if row.id is not None else None


def idem_update(
    conn: Connection,
    row_id: int,
    *,
    only_status: str | None = None,
    claimed_at: datetime | None = None,
    **values: Any,
) -> bool:
    """Update a key's row; ``claimed_at``: only while it is still the claim made then (a
    key claimed again has a new ``created_at``)."""
    names = tuple(sorted(values))
    shape = ("update", names, only_status is not None, claimed_at is not None)

    def build() -> Any:
        c = idempotency_keys.c
        q = update(idempotency_keys).where(c.id == bindparam("w_id", type_=c.id.type))
        if only_status is not None:
            q = q.where(c.status == bindparam("w_status", type_=c.status.type))
        if claimed_at is not None:
            q = q.where(c.created_at == bindparam("w_claimed_at", type_=c.created_at.type))
        return q.values(bound(idempotency_keys, *names))

    params = {**values, "w_id": row_id, "w_status": only_status, "w_claimed_at": claimed_at}
    return bool(conn.execute(_idem_statement(shape, build), params).rowcount)
