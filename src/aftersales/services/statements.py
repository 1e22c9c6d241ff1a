"""Reading the ledger: a shop's statement and the invariant check (``aftersales ledger``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from aftersales.domain.ledger import Purpose
from aftersales.services.actors import Actor, shop_not_found
from aftersales.services.context import Context
from aftersales.store import catalog as catalog_store
from aftersales.store import ledger as store
from aftersales.store.ledger import Movement

__all__ = ["AccountStatement", "CheckReport", "Movement", "Statement", "check", "shop_statement"]


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
        shop = catalog_store.get_shop_by_code(conn, shop_code)
        if shop is None or (actor.shop_id is not None and actor.shop_id != shop.id):
            raise shop_not_found(shop_code)
        accounts = []
        for acc in store.shop_accounts(conn, shop.id):
            opening = store.balance_before(conn, acc.id, start)
            moves = store.movements(conn, acc.id, start, end)
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
        for bad in store.unbalanced_entries(conn):
            report.problems.append(
                f"entry {bad.entry_id}: postings in {bad.currency} sum to {bad.total}"
                if bad.currency != "-"
                else f"entry {bad.entry_id}: {bad.total} posting(s); an entry needs two or more"
            )
        for drift in store.drifted_accounts(conn):
            acc = drift.account
            report.problems.append(
                f"account {acc.id} ({acc.party}:{acc.party_id}:{acc.purpose}:{acc.currency}):"
                f" running balance {acc.balance}, postings sum {drift.total}, last "
                f"balance_after {drift.balance_after}"
            )
        for owed in store.negative_accounts(conn, Purpose.REFUNDS):
            report.problems.append(
                f"account {owed.id}: buyer {owed.party_id} owed {owed.balance} (< 0)"
            )
        for row in store.negative_accounts(conn, Purpose.DEPOSIT):
            shop = catalog_store.get_shop(conn, row.party_id)
            profile = ctx.profiles.current.get(shop.profile_id) if shop else None
            if profile is None or not profile.money.deposit_debt_allowed:
                report.problems.append(
                    f"account {row.id}: shop {row.party_id} deposit {row.balance} below zero"
                    " (R14.1)"
                )
        for order_id in store.orders_with_refunds(conn):
            order = catalog_store.load_order(conn, order_id)
            refunded = store.refunded_on_order(conn, order_id)
            if order is not None and refunded > order.total_paid.amount:
                report.problems.append(
                    f"order {order.number}: refunded {refunded} exceeds paid "
                    f"{order.total_paid.amount} (R5.2)"
                )
        for unpaid in store.decisions_without_money(conn):
            report.problems.append(
                f"refund decision {unpaid.id} (case id {unpaid.case_id}, {unpaid.amount} "
                f"{unpaid.currency}) has no ledger entry"
            )
        held = store.counts(conn)
        report.checked = {
            "entries": held.entries,
            "postings": held.postings,
            "accounts": held.accounts,
        }
    return report
