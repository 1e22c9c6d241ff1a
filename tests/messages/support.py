"""Helpers for the R5.7 message tests (not tests themselves): real accounts, buyers with a
marketplace ref, and reads of the outbox."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import select

from aftersales.domain.accounts import AccountKind
from aftersales.domain.case_types import CaseType
from aftersales.services import accounts
from aftersales.services import cases as svc
from aftersales.services.actors import Actor
from aftersales.services.context import Context
from aftersales.store import accounts as account_store
from aftersales.store import catalog as catalog_store
from aftersales.store.schema import outbox_events
from tests.factories import World

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)


def shop_code(ctx: Context, shop_id: int) -> str:
    with ctx.db.read() as conn:
        shop = catalog_store.get_shop(conn, shop_id)
        assert shop is not None
        return shop.code


def account(
    ctx: Context,
    kind: AccountKind,
    *,
    shop_id: int | None = None,
    buyer_ref: str | None = None,
    main: bool = False,
    permissions: tuple[str, ...] = (),
) -> tuple[int, str]:
    """A real account (id, login) created by the operator."""
    login = f"{kind.value}{next(_seq)}@example.com"
    view = accounts.create_account(
        ctx,
        None,
        kind=kind,
        login=login,
        password=PASSWORD,
        shop_code=shop_code(ctx, shop_id) if shop_id is not None else None,
        buyer_ref=buyer_ref,
        main=main,
        permissions=permissions,
    )
    return view.id, login


def actor_of(ctx: Context, account_id: int, scopes: tuple[str, ...] | None = None) -> Actor:
    """What a login session (scopes None) or an API token with ``scopes`` acts as."""
    with ctx.db.read() as conn:
        return accounts.actor_for(account_store.account_by_id(conn, account_id), scopes)


def merchant(
    ctx: Context, shop_id: int, *, main: bool = False, permissions: tuple[str, ...] = ()
) -> Actor:
    account_id, _ = account(
        ctx, AccountKind.MERCHANT, shop_id=shop_id, main=main, permissions=permissions
    )
    return actor_of(ctx, account_id)


def agent(ctx: Context) -> Actor:
    return actor_of(ctx, account(ctx, AccountKind.AGENT)[0])


def buyer_with_ref(w: World) -> tuple[int, str]:
    """A further buyer of the world, whom the marketplace knows by ``ref`` (buyer accounts
    need one)."""
    buyer_id = w.add_buyer()
    return buyer_id, w.buyers[buyer_id].ref


def open_for(w: World, buyer_id: int) -> str:
    """A return request opened by ``buyer_id`` on a new order of the world's shop."""
    order = w.order(buyer_id=buyer_id)
    return svc.open_case(
        w.ctx,
        Actor.buyer(buyer_id),
        order_number=order,
        type=CaseType.RETURN_REFUND,
        lines=[svc.LineRequest(w.line_id(order), 1)],
        reason="changed_mind",
        amount=10_000,
    ).number


def posted_events(ctx: Context) -> list[dict[str, Any]]:
    with ctx.db.read() as conn:
        q = (
            select(outbox_events.c.payload)
            .where(outbox_events.c.type == "message.posted")
            .order_by(outbox_events.c.id)
        )
        return [row.payload["data"] for row in conn.execute(q)]


def token(ctx: Context, account_id: int, scopes: tuple[str, ...]) -> str:
    """An API token for the account, minted by the operator (the CLI)."""
    view = accounts.create_token(
        ctx, Actor.system(), name="test", scopes=scopes, account_id=account_id
    )
    assert view.token is not None
    return view.token
