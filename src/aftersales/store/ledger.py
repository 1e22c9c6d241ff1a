"""Ledger storage: accounts with running balances, append-only entries and postings.

Posting an entry is idempotent on its key: a retry with the same key and the same postings
returns the first entry; the same key with other postings is refused. Account rows are
updated in id order (no deadlocks between entries) with a guarded ``UPDATE ... RETURNING``
that refuses to take a no-debt account below zero.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    false,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from aftersales.domain.errors import IllegalTransition, ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.domain.ledger import AccountRef, EntryDraft, EntryKind, Party, Purpose
from aftersales.domain.money import Money
from aftersales.store.schema import ledger_accounts, ledger_entries, ledger_postings


def _ins(conn: Connection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


def account_id(conn: Connection, ref: AccountRef, now: datetime) -> int:
    """The account's id, created on first use."""
    cond = and_(
        ledger_accounts.c.party == ref.party.value,
        ledger_accounts.c.party_id == ref.party_id,
        ledger_accounts.c.purpose == ref.purpose.value,
        ledger_accounts.c.currency == ref.currency,
    )
    found = conn.execute(select(ledger_accounts.c.id).where(cond)).scalar()
    if found is not None:
        return int(found)
    # Buyers are never owed less than nothing (a hard floor in the schema); deposits are
    # floored by policy at posting time (R14.1), the rest may go negative.
    hard_floor = ref.purpose is Purpose.REFUNDS
    stmt = (
        _ins(conn)(ledger_accounts)
        .values(
            party=ref.party.value,
            party_id=ref.party_id,
            purpose=ref.purpose.value,
            currency=ref.currency,
            allow_negative=not hard_floor,
            balance=0,
            created_at=now,
        )
        .on_conflict_do_nothing()
    )
    conn.execute(stmt)
    return int(conn.execute(select(ledger_accounts.c.id).where(cond)).scalar_one())


def fingerprint(draft: EntryDraft) -> str:
    return hashlib.sha256(repr(draft.fingerprint()).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Posted:
    entry_id: int
    created: bool  # False: the key was seen before and its first entry is returned


def post(
    conn: Connection,
    draft: EntryDraft,
    key: str,
    *,
    now: datetime,
    shop_id: int | None = None,
    order_id: int | None = None,
    case_id: int | None = None,
    reverses_id: int | None = None,
    floors: frozenset[AccountRef] = frozenset(),
) -> Posted:
    """Write one balanced entry. ``floors``: accounts that may not go below zero here."""
    fp = fingerprint(draft)
    stmt = (
        _ins(conn)(ledger_entries)
        .values(
            kind=draft.kind.value,
            idempotency_key=key,
            fingerprint=fp,
            rule=draft.rule,
            memo=draft.memo,
            shop_id=shop_id,
            order_id=order_id,
            case_id=case_id,
            reverses_id=reverses_id,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[ledger_entries.c.idempotency_key])
        .returning(ledger_entries.c.id)
    )
    entry_id = conn.execute(stmt).scalar()
    if entry_id is None:
        row = conn.execute(
            select(ledger_entries.c.id, ledger_entries.c.fingerprint).where(
                ledger_entries.c.idempotency_key == key
            )
        ).one()
        if row.fingerprint != fp:
            raise ValidationFailed(
                "ledger.key_reused",
                N_("Key {key} was already used for a different movement."),
                field="idempotency_key",
                key=key,
            )
        return Posted(int(row.id), False)
    ids = {p.account: account_id(conn, p.account, now) for p in draft.postings}
    for p in sorted(draft.postings, key=lambda p: ids[p.account]):
        acc = ids[p.account]
        guard = false() if p.account in floors else ledger_accounts.c.allow_negative
        res = conn.execute(
            update(ledger_accounts)
            .where(
                and_(
                    ledger_accounts.c.id == acc,
                    or_(guard, ledger_accounts.c.balance + p.amount >= 0),
                )
            )
            .values(balance=ledger_accounts.c.balance + p.amount)
            .returning(ledger_accounts.c.balance)
        ).scalar()
        if res is None:
            have = conn.execute(
                select(ledger_accounts.c.balance).where(ledger_accounts.c.id == acc)
            ).scalar_one()
            raise IllegalTransition(
                "ledger.insufficient_funds",
                N_("The {purpose} account holds {balance}; {amount} cannot be taken from it."),
                rule="R14.1" if p.account.purpose is Purpose.DEPOSIT else "R5.2",
                purpose=p.account.purpose.value,
                balance=Money(int(have), p.account.currency).format(),
                amount=Money(-p.amount, p.account.currency).format(),
            )
        conn.execute(
            insert(ledger_postings).values(
                entry_id=entry_id,
                account_id=acc,
                currency=p.account.currency,
                amount=p.amount,
                balance_after=int(res),
            )
        )
    return Posted(int(entry_id), True)


def balance(conn: Connection, ref: AccountRef) -> int:
    q = select(ledger_accounts.c.balance).where(
        and_(
            ledger_accounts.c.party == ref.party.value,
            ledger_accounts.c.party_id == ref.party_id,
            ledger_accounts.c.purpose == ref.purpose.value,
            ledger_accounts.c.currency == ref.currency,
        )
    )
    return int(conn.execute(q).scalar() or 0)


def locked_balance(conn: Connection, ref: AccountRef, now: datetime) -> int:
    """The account's balance, its row locked until the transaction ends (created if new),
    so a decision read from it holds while this transaction moves money."""
    acc = account_id(conn, ref, now)
    res = conn.execute(
        update(ledger_accounts)
        .where(ledger_accounts.c.id == acc)
        .values(balance=ledger_accounts.c.balance)
        .returning(ledger_accounts.c.balance)
    ).scalar_one()
    return int(res)


REFUNDING = (EntryKind.REFUND, EntryKind.ADVANCE, EntryKind.PAY_FIRST)


def _posted(kinds: Sequence[EntryKind], *where: Any) -> Any:
    """Sum of postings of entries of ``kinds`` (and of the reversals of such entries: they
    net out), filtered by ``where`` on entries and accounts."""
    reversed_kind = ledger_entries.alias("reversed")
    names = [k.value for k in kinds]
    return (
        select(func.coalesce(func.sum(ledger_postings.c.amount), 0))
        .select_from(ledger_postings)
        .join(ledger_entries, ledger_entries.c.id == ledger_postings.c.entry_id)
        .join(ledger_accounts, ledger_accounts.c.id == ledger_postings.c.account_id)
        .outerjoin(reversed_kind, reversed_kind.c.id == ledger_entries.c.reverses_id)
        .where(
            and_(
                *where,
                or_(ledger_entries.c.kind.in_(names), reversed_kind.c.kind.in_(names)),
            )
        )
    )


def refunded_on_order(conn: Connection, order_id: int) -> int:
    """R5.2: what buyers were paid back on this order (refunds, advances and pay-first
    compensation, net of their reversals)."""
    q = _posted(
        REFUNDING,
        ledger_entries.c.order_id == order_id,
        ledger_accounts.c.party == Party.BUYER.value,
    )
    return int(conn.execute(q).scalar_one())


def case_account_total(
    conn: Connection, case_id: int, ref_purpose: Purpose, kinds: Sequence[EntryKind]
) -> int:
    """Sum of a case's postings to platform accounts of ``ref_purpose`` (e.g. the advance
    still outstanding: advances are negative, recoveries positive)."""
    q = _posted(
        kinds,
        ledger_entries.c.case_id == case_id,
        ledger_accounts.c.party == Party.PLATFORM.value,
        ledger_accounts.c.purpose == ref_purpose.value,
    )
    return int(conn.execute(q).scalar_one())


def case_shop_total(
    conn: Connection,
    case_id: int,
    shop_id: int,
    purpose: Purpose,
    kinds: Sequence[EntryKind],
) -> int:
    """Sum of a case's postings to the shop's ``purpose`` account (e.g. what pay-first took
    from its deposit, net of what a won appeal returned there)."""
    q = _posted(
        kinds,
        ledger_entries.c.case_id == case_id,
        ledger_accounts.c.party == Party.SHOP.value,
        ledger_accounts.c.party_id == shop_id,
        ledger_accounts.c.purpose == purpose.value,
    )
    return int(conn.execute(q).scalar_one())


def entry(conn: Connection, entry_id: int) -> Any:
    return conn.execute(select(ledger_entries).where(ledger_entries.c.id == entry_id)).first()


def entry_by_key(conn: Connection, key: str) -> Any:
    return conn.execute(
        select(ledger_entries).where(ledger_entries.c.idempotency_key == key)
    ).first()


def postings_of(conn: Connection, entry_id: int) -> list[Any]:
    q = (
        select(
            ledger_postings,
            ledger_accounts.c.party,
            ledger_accounts.c.party_id,
            ledger_accounts.c.purpose,
        )
        .join(ledger_accounts, ledger_accounts.c.id == ledger_postings.c.account_id)
        .where(ledger_postings.c.entry_id == entry_id)
        .order_by(ledger_postings.c.id)
    )
    return list(conn.execute(q))


def reversal_of(conn: Connection, entry_id: int) -> Any:
    return conn.execute(
        select(ledger_entries).where(ledger_entries.c.reverses_id == entry_id)
    ).first()


# --------------------------------------------------------------------------- statements
@dataclass(frozen=True, slots=True)
class LedgerAccount:
    id: int
    party: str
    party_id: int
    purpose: str
    currency: str
    balance: int


def _account(row: Any) -> LedgerAccount:
    return LedgerAccount(
        row.id, row.party, row.party_id, row.purpose, row.currency, int(row.balance)
    )


def shop_accounts(conn: Connection, shop_id: int) -> list[LedgerAccount]:
    return [
        _account(r)
        for r in conn.execute(
            select(ledger_accounts)
            .where(
                and_(
                    ledger_accounts.c.party == Party.SHOP.value,
                    ledger_accounts.c.party_id == shop_id,
                )
            )
            .order_by(ledger_accounts.c.purpose, ledger_accounts.c.currency)
        )
    ]


def balance_before(conn: Connection, account: int, start: datetime) -> int:
    q = (
        select(func.coalesce(func.sum(ledger_postings.c.amount), 0))
        .join(ledger_entries, ledger_entries.c.id == ledger_postings.c.entry_id)
        .where(and_(ledger_postings.c.account_id == account, ledger_entries.c.created_at < start))
    )
    return int(conn.execute(q).scalar_one())


@dataclass(frozen=True, slots=True)
class Movement:
    """One posting of an account, with its entry and the case and order it is about."""

    at: datetime
    entry_id: int
    kind: str
    rule: str
    memo: str
    case_number: str | None
    order_number: str | None
    amount: int
    balance_after: int


def movements(conn: Connection, account: int, start: datetime, end: datetime) -> list[Movement]:
    """Postings of one account in [start, end), with their entry, case and order numbers."""
    from aftersales.store.schema import cases, orders

    q = (
        select(
            ledger_postings.c.amount,
            ledger_postings.c.balance_after,
            ledger_entries.c.id.label("entry_id"),
            ledger_entries.c.kind,
            ledger_entries.c.rule,
            ledger_entries.c.memo,
            ledger_entries.c.created_at,
            cases.c.number.label("case_number"),
            orders.c.number.label("order_number"),
        )
        .join(ledger_entries, ledger_entries.c.id == ledger_postings.c.entry_id)
        .outerjoin(cases, cases.c.id == ledger_entries.c.case_id)
        .outerjoin(orders, orders.c.id == ledger_entries.c.order_id)
        .where(
            and_(
                ledger_postings.c.account_id == account,
                ledger_entries.c.created_at >= start,
                ledger_entries.c.created_at < end,
            )
        )
        .order_by(ledger_postings.c.id)
    )
    return [
        Movement(
            m.created_at,
            m.entry_id,
            m.kind,
            m.rule,
            m.memo,
            m.case_number,
            m.order_number,
            int(m.amount),
            int(m.balance_after),
        )
        for m in conn.execute(q)
    ]


# --------------------------------------------------------------------------- invariants
@dataclass(frozen=True, slots=True)
class UnbalancedEntry:
    entry_id: int
    currency: str  # "-": the entry has fewer than two postings, counted in `total`
    total: int


def unbalanced_entries(conn: Connection) -> list[UnbalancedEntry]:
    """Entries whose postings do not sum to zero per currency, or that move nothing."""
    sums = (
        select(
            ledger_postings.c.entry_id,
            ledger_postings.c.currency,
            func.sum(ledger_postings.c.amount).label("total"),
        )
        .group_by(ledger_postings.c.entry_id, ledger_postings.c.currency)
        .having(func.sum(ledger_postings.c.amount) != 0)
    )
    counts = (
        select(
            ledger_entries.c.id.label("entry_id"),
            literal_column("'-'").label("currency"),
            func.count(ledger_postings.c.id).label("total"),
        )
        .outerjoin(ledger_postings, ledger_postings.c.entry_id == ledger_entries.c.id)
        .group_by(ledger_entries.c.id)
        .having(func.count(ledger_postings.c.id) < 2)
    )
    return [
        UnbalancedEntry(r.entry_id, r.currency, int(r.total))
        for q in (sums, counts)
        for r in conn.execute(q)
    ]


@dataclass(frozen=True, slots=True)
class DriftedAccount:
    account: LedgerAccount
    total: int | None  # the sum of its postings (None: it has none)
    balance_after: int | None  # of its last posting


def drifted_accounts(conn: Connection) -> list[DriftedAccount]:
    """Accounts whose running balance differs from the sum of their postings or from the
    balance_after of their last posting."""
    total = (
        select(
            ledger_postings.c.account_id,
            func.sum(ledger_postings.c.amount).label("total"),
            func.max(ledger_postings.c.id).label("last"),
        )
        .group_by(ledger_postings.c.account_id)
        .subquery()
    )
    last = ledger_postings.alias("last_posting")
    q = (
        select(
            ledger_accounts.c.id,
            ledger_accounts.c.party,
            ledger_accounts.c.party_id,
            ledger_accounts.c.purpose,
            ledger_accounts.c.currency,
            ledger_accounts.c.balance,
            total.c.total,
            last.c.balance_after,
        )
        .outerjoin(total, total.c.account_id == ledger_accounts.c.id)
        .outerjoin(last, last.c.id == total.c.last)
        .where(
            or_(
                ledger_accounts.c.balance != func.coalesce(total.c.total, 0),
                and_(total.c.last.is_not(None), last.c.balance_after != ledger_accounts.c.balance),
            )
        )
    )
    return [
        DriftedAccount(
            _account(r),
            None if r.total is None else int(r.total),
            None if r.balance_after is None else int(r.balance_after),
        )
        for r in conn.execute(q)
    ]


def negative_accounts(conn: Connection, purpose: Purpose) -> list[LedgerAccount]:
    return [
        _account(r)
        for r in conn.execute(
            select(ledger_accounts).where(
                and_(ledger_accounts.c.purpose == purpose.value, ledger_accounts.c.balance < 0)
            )
        )
    ]


def orders_with_refunds(conn: Connection) -> list[int]:
    return [
        int(r[0])
        for r in conn.execute(
            select(ledger_entries.c.order_id)
            .where(ledger_entries.c.order_id.is_not(None))
            .distinct()
        )
    ]


@dataclass(frozen=True, slots=True)
class UnpaidDecision:
    id: int  # the refund decision
    case_id: int
    amount: int
    currency: str


def decisions_without_money(conn: Connection) -> list[UnpaidDecision]:
    """Refund decisions whose case paid the buyer less than decided (refunds, advances and
    pay-first compensation on the case, net of their reversals)."""
    from aftersales.store.schema import refund_decisions

    paid = _posted(
        REFUNDING,
        ledger_entries.c.case_id == refund_decisions.c.case_id,
        ledger_accounts.c.party == Party.BUYER.value,
    ).scalar_subquery()
    q = select(
        refund_decisions.c.id,
        refund_decisions.c.case_id,
        refund_decisions.c.amount,
        refund_decisions.c.currency,
    ).where(refund_decisions.c.amount > paid)
    return [UnpaidDecision(r.id, r.case_id, int(r.amount), r.currency) for r in conn.execute(q)]


@dataclass(frozen=True, slots=True)
class LedgerCounts:
    entries: int
    postings: int
    accounts: int


def counts(conn: Connection) -> LedgerCounts:
    """How many entries, postings and accounts the ledger holds."""
    entries, postings, accounts = (
        int(conn.execute(select(func.count()).select_from(t)).scalar_one())
        for t in (ledger_entries, ledger_postings, ledger_accounts)
    )
    return LedgerCounts(entries, postings, accounts)


def count_case_entries(
    conn: Connection, case_id: int, kind: EntryKind, *, reversed_only: bool = False
) -> int:
    """How many entries of ``kind`` a case has (only those since reversed, if asked): the
    generation number in idempotency keys, so a movement can be made again after its
    reversal while a plain retry still finds the first one."""
    reversal = ledger_entries.alias("reversal")
    q = (
        select(func.count())
        .select_from(ledger_entries)
        .where(and_(ledger_entries.c.case_id == case_id, ledger_entries.c.kind == kind.value))
    )
    if reversed_only:
        q = q.where(
            select(reversal.c.id).where(reversal.c.reverses_id == ledger_entries.c.id).exists()
        )
    return int(conn.execute(q).scalar_one())
