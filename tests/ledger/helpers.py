"""Helpers shared by the ledger tests (not tests themselves)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select, text

from aftersales.domain import ledger as L
from aftersales.domain.policy import MoneyRules, Profile
from aftersales.services.actors import Actor
from aftersales.services.context import Context
from aftersales.store import catalog as catalog_store
from aftersales.store import ledger as store
from aftersales.store.schema import ledger_accounts, ledger_entries, ledger_postings

AGENT = Actor.platform("agent")  # platform-only movements (R7, R11.2, R14)
CNY = "CNY"


def money_rules(ctx: Context, profile_id: str = "douyin") -> MoneyRules:
    return ctx.profiles.current[profile_id].money


def profile(ctx: Context, profile_id: str = "douyin") -> Profile:
    return ctx.profiles.current[profile_id]


def allow_deposit_debt(ctx: Context, profile_id: str = "douyin") -> Profile:
    """Replace the current profile with a copy (bumped version) whose deposit may go below
    zero (R14.1 ``deposit_debt_allowed``)."""
    p = ctx.profiles.current[profile_id]
    copy = p.model_copy(
        update={
            "version": p.version + 1,
            "money": p.money.model_copy(update={"deposit_debt_allowed": True}),
        }
    )
    ctx.profiles.current[profile_id] = copy
    return copy


def money_profile(ctx: Context, profile_id: str = "douyin", **money: object) -> Profile:
    """Replace the current profile with a copy (bumped version) whose ``[money]`` table has
    ``money`` changed (e.g. ``pay_first_sources``, ``required_deposit``)."""
    p = ctx.profiles.current[profile_id]
    copy = p.model_copy(
        update={"version": p.version + 1, "money": p.money.model_copy(update=money)}
    )
    ctx.profiles.current[profile_id] = copy
    return copy


def settlement(shop_id: int) -> L.AccountRef:
    return L.shop_account(shop_id, L.Purpose.SETTLEMENT, CNY)


def deposit(shop_id: int) -> L.AccountRef:
    return L.shop_account(shop_id, L.Purpose.DEPOSIT, CNY)


def buyer(buyer_id: int) -> L.AccountRef:
    return L.buyer_account(buyer_id, CNY)


def platform(purpose: L.Purpose) -> L.AccountRef:
    return L.platform_account(purpose, CNY)


def balance(ctx: Context, ref: L.AccountRef) -> int:
    with ctx.db.read() as conn:
        return store.balance(conn, ref)


def order_id(ctx: Context, number: str) -> int:
    with ctx.db.read() as conn:
        oid = catalog_store.order_id_by_number(conn, number)
        assert oid is not None
        return oid


def total_paid(ctx: Context, number: str) -> int:
    with ctx.db.read() as conn:
        order = catalog_store.load_order(conn, order_id(ctx, number))
        assert order is not None
        return order.total_paid.amount


def refunded(ctx: Context, number: str) -> int:
    with ctx.db.read() as conn:
        return store.refunded_on_order(conn, order_id(ctx, number))


def entry_count(ctx: Context) -> int:
    with ctx.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(ledger_entries)).scalar_one())


def postings(ctx: Context, entry_id: int) -> list[tuple[str, int, str, int]]:
    """(party, party_id, purpose, amount) of one entry, sorted."""
    with ctx.db.read() as conn:
        return sorted(
            (p.party, p.party_id, p.purpose, p.amount) for p in store.postings_of(conn, entry_id)
        )


def entry(ctx: Context, entry_id: int) -> Any:
    with ctx.db.read() as conn:
        return store.entry(conn, entry_id)


def entry_by_key(ctx: Context, key: str) -> Any:
    with ctx.db.read() as conn:
        return store.entry_by_key(conn, key)


def all_balances(ctx: Context) -> dict[tuple[str, int, str, str], int]:
    with ctx.db.read() as conn:
        return {
            (r.party, r.party_id, r.purpose, r.currency): int(r.balance)
            for r in conn.execute(select(ledger_accounts))
        }


def snapshot(ctx: Context) -> tuple[int, int, dict[tuple[str, int, str, str], int]]:
    """Everything a refused movement must leave unchanged."""
    with ctx.db.read() as conn:
        entries = int(conn.execute(select(func.count()).select_from(ledger_entries)).scalar_one())
        posts = int(conn.execute(select(func.count()).select_from(ledger_postings)).scalar_one())
    return entries, posts, all_balances(ctx)


def invariant_problems(ctx: Context) -> list[str]:
    """The ledger's invariants computed directly from the tables (independent of
    ``statements.check``)."""
    problems: list[str] = []
    with ctx.db.read() as conn:
        rows = list(
            conn.execute(
                select(
                    ledger_postings.c.entry_id,
                    ledger_postings.c.account_id,
                    ledger_postings.c.currency,
                    ledger_postings.c.amount,
                )
            )
        )
        accounts = list(conn.execute(select(ledger_accounts)))
        entry_ids = [int(r[0]) for r in conn.execute(select(ledger_entries.c.id))]
    per_entry: dict[tuple[int, str], int] = defaultdict(int)
    per_entry_count: dict[int, int] = defaultdict(int)
    per_currency: dict[str, int] = defaultdict(int)
    per_account: dict[int, int] = defaultdict(int)
    for r in rows:
        per_entry[(r.entry_id, r.currency)] += r.amount
        per_entry_count[r.entry_id] += 1
        per_currency[r.currency] += r.amount
        per_account[r.account_id] += r.amount
    problems += [f"entry {e} {c} sums to {t}" for (e, c), t in per_entry.items() if t]
    problems += [
        f"entry {e} has {per_entry_count[e]} postings" for e in entry_ids if per_entry_count[e] < 2
    ]
    problems += [f"all {c} postings sum to {t}" for c, t in per_currency.items() if t]
    for a in accounts:
        if int(a.balance) != per_account[a.id]:
            problems.append(f"account {a.id} balance {a.balance} != postings {per_account[a.id]}")
        if a.purpose == L.Purpose.REFUNDS.value and a.balance < 0:
            problems.append(f"buyer account {a.id} negative")
    return problems


def raw(ctx: Context, sql: str) -> list[tuple[Any, ...]]:
    with ctx.db.read() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]
