"""Reading the ledger: a shop's statement and the invariant check (``aftersales ledger``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, func, select

from aftersales.domain.errors import NotFound
from aftersales.domain.i18n import N_
from aftersales.domain.ledger import Purpose
from aftersales.services.actors import Actor
from aftersales.services.context import Context
from aftersales.store import ledger as store
from aftersales.store import repo
from aftersales.store.schema import ledger_accounts, ledger_entries, ledger_postings


@dataclass(frozen=True, slots=True)
class Movement:
    at: datetime
    entry_id: int
    kind: str
    rule: str
    memo: str
    case_number: str | None
    order_number: str | None
    amount: int
    balance_after: int


@dataclass(frozen=True, slots=True)
class AccountStatement:
    purpose: str
    currency: str
    opening: int
    movements: list[Movement]
    closing: int


@dataclass(frozen=True, slots=True)
class Statement:
    shop_code: str
    shop_name: str
    start: datetime
    end: datetime
    accounts: list[AccountStatement]


def shop_statement(
    ctx: Context, actor: Actor, shop_code: str, start: datetime, end: datetime
) -> Statement:
    """Opening balance, every movement with its case, closing balance, per shop account."""
    with ctx.db.read() as conn:
        shop = repo.get_shop_by_code(conn, shop_code)
        if shop is None or (actor.shop_id is not None and actor.shop_id != shop.id):
            raise NotFound("shop.not_found", N_("Shop {code} not found."), code=shop_code)
        accounts = []
        for acc in store.shop_accounts(conn, shop.id):
            opening = store.balance_before(conn, acc.id, start)
            moves = [
                Movement(
                    m.created_at,
                    m.entry_id,
                    m.kind,
                    m.rule,
                    m.memo,
                    m.case_number,
                    m.order_number,
                    m.amount,
                    m.balance_after,
                )
                for m in store.movements(conn, acc.id, start, end)
            ]
            closing = opening + sum(m.amount for m in moves)
            accounts.append(AccountStatement(acc.purpose, acc.currency, opening, moves, closing))
        return Statement(shop.code, shop.name, start, end, accounts)


@dataclass
class CheckReport:
    problems: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def check(ctx: Context) -> CheckReport:
    """Every invariant of the ledger; each failure names the offending rows."""
    report = CheckReport()
    with ctx.db.read() as conn:
        for row in store.unbalanced_entries(conn):
            report.problems.append(
                f"entry {row.entry_id}: postings in {row.currency} sum to {row.total}"
                if row.currency != "-"
                else f"entry {row.entry_id}: {row.total} posting(s); an entry needs two or more"
            )
        for row in store.drifted_accounts(conn):
            report.problems.append(
                f"account {row.id} ({row.party}:{row.party_id}:{row.purpose}:{row.currency}):"
                f" running balance {row.balance}, postings sum {row.total}, last "
                f"balance_after {row.balance_after}"
            )
        for row in store.negative_accounts(conn, Purpose.REFUNDS):
            report.problems.append(
                f"account {row.id}: buyer {row.party_id} owed {row.balance} (< 0)"
            )
        for row in store.negative_accounts(conn, Purpose.DEPOSIT):
            shop = repo.get_shop(conn, row.party_id)
            profile = ctx.profiles.current.get(shop.profile_id) if shop else None
            if profile is None or not profile.money.deposit_debt_allowed:
                report.problems.append(
                    f"account {row.id}: shop {row.party_id} deposit {row.balance} below zero"
                    " (R14.1)"
                )
        for order_id in store.orders_with_refunds(conn):
            order = repo.load_order(conn, order_id)
            refunded = store.refunded_on_order(conn, order_id)
            if order is not None and refunded > order.total_paid.amount:
                report.problems.append(
                    f"order {order.number}: refunded {refunded} exceeds paid "
                    f"{order.total_paid.amount} (R5.2)"
                )
        for row in store.decisions_without_money(conn):
            report.problems.append(
                f"refund decision {row.id} (case id {row.case_id}, {row.amount} "
                f"{row.currency}) has no ledger entry"
            )
        report.checked = _counts(conn)
    return report


def _counts(conn: Connection) -> dict[str, int]:
    return {
        name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
        for name, t in (
            ("entries", ledger_entries),
            ("postings", ledger_postings),
            ("accounts", ledger_accounts),
        )
    }
