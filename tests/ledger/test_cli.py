"""``aftersales ledger`` as a process, on the demo data: the check passes, the statement's
CSV chains opening + movements = closing and its XLSX opens; a tampered posting (after
dropping the append-only trigger on purpose) makes the check fail naming the entry."""

from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

CLI = [sys.executable, "-m", "aftersales.cli"]


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _minor(text: str) -> int:
    return int(Decimal(text) * 100)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("ledger-cli") / "demo.db"
    env = {
        **os.environ,
        "AFTERSALES_DATABASE_URL": f"sqlite:///{path}",
        "COLUMNS": "250",
    }
    assert _run(["db", "upgrade"], env).returncode == 0
    demo = _run(["demo"], env)
    assert demo.returncode == 0, demo.stderr
    return path, env


def _busiest_shop(path: Path) -> tuple[int, str, str, list[datetime]]:
    """(id, code, timezone, entry times) of the shop with the most ledger entries."""
    with sqlite3.connect(path) as con:
        shop_id, code, tz = con.execute(
            "SELECT s.id, s.code, s.timezone FROM shops s JOIN ledger_entries e "
            "ON e.shop_id = s.id GROUP BY s.id ORDER BY count(*) DESC, s.id LIMIT 1"
        ).fetchone()
        times = sorted(
            datetime.fromisoformat(r[0]).replace(tzinfo=UTC)
            for r in con.execute(
                "SELECT created_at FROM ledger_entries WHERE shop_id = ?", (shop_id,)
            )
        )
    return shop_id, code, tz, times


def test_ledger_check_passes_on_the_demo(demo_db):
    _, env = demo_db
    res = _run(["ledger", "check"], env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "ledger ok" in res.stdout


def test_ledger_statement_csv_chains_opening_movements_closing_and_xlsx_opens(demo_db, tmp_path):
    path, env = demo_db
    shop_id, code, tz, times = _busiest_shop(path)
    zone = ZoneInfo(tz)
    # from the middle of the shop's history (a non-trivial opening) to its last day
    start = times[len(times) // 2].astimezone(zone).date()
    end = times[-1].astimezone(zone).date()
    out_csv, out_xlsx = tmp_path / "statement.csv", tmp_path / "statement.xlsx"

    res = _run(
        [
            "ledger", "statement", code,
            "--from", start.isoformat(), "--to", end.isoformat(),
            "--csv", str(out_csv), "--xlsx", str(out_xlsx), "--lang", "en",
        ],
        env,
    )  # fmt: skip

    assert res.returncode == 0, res.stdout + res.stderr
    with out_csv.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    col = {name: i for i, name in enumerate(header)}
    assert {"Account", "Currency", "Kind", "Amount", "Balance"} <= set(col)
    per_account: dict[tuple[str, str], list[list[str]]] = defaultdict(list)
    for r in body:
        per_account[(r[col["Account"]], r[col["Currency"]])].append(r)
    assert per_account, "the statement lists no account"
    openings = {}
    for account, lines in per_account.items():
        first, *moves, last = lines
        assert first[col["Kind"]] == "Opening balance", account
        assert last[col["Kind"]] == "Closing balance", account
        opening, closing = _minor(first[col["Balance"]]), _minor(last[col["Balance"]])
        assert closing == opening + sum(_minor(m[col["Amount"]]) for m in moves), account
        openings[account] = opening
    assert any(openings.values()), "pick a window with a non-zero opening balance"
    # --to is the last day with entries: each closing is the account's running balance.
    lo = datetime.combine(start, datetime.min.time(), zone).astimezone(UTC)
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), zone).astimezone(UTC)
    with sqlite3.connect(path) as con:
        balances = dict(
            con.execute(
                "SELECT purpose, balance FROM ledger_accounts"
                " WHERE party = 'shop' AND party_id = ?",
                (shop_id,),
            ).fetchall()
        )
    labels = {"Settlement balance": "settlement", "Deposit": "deposit"}
    for (account, _), lines in per_account.items():
        assert _minor(lines[-1][col["Balance"]]) == balances[labels.get(account, account)]
    # One line per posting on the shop's own accounts in the window. (Not one per entry
    # naming the shop: an express-refund advance, R7.1, moves platform money to the buyer
    # and touches no account of the shop.)
    with sqlite3.connect(path) as con:
        posted = [
            datetime.fromisoformat(r[0]).replace(tzinfo=UTC)
            for r in con.execute(
                "SELECT e.created_at FROM ledger_postings p"
                " JOIN ledger_entries e ON e.id = p.entry_id"
                " JOIN ledger_accounts a ON a.id = p.account_id"
                " WHERE a.party = 'shop' AND a.party_id = ?",
                (shop_id,),
            )
        ]
    assert sum(len(v) - 2 for v in per_account.values()) == sum(1 for t in posted if lo <= t < hi)

    wb = load_workbook(out_xlsx)
    ws = wb["statement"]
    sheet = [list(r) for r in ws.iter_rows(values_only=True)]
    assert [str(v) for v in sheet[0]] == header
    assert len(sheet) == len(rows)
    amounts = [r[col["Balance"]] for r in sheet[1:]]
    assert all(isinstance(v, (int, float, Decimal)) for v in amounts)


def test_ledger_check_fails_and_names_a_tampered_entry(demo_db, tmp_path):
    src, env = demo_db
    path = tmp_path / "tampered.db"
    with sqlite3.connect(src) as a, sqlite3.connect(path) as b:
        a.backup(b)
    env = {**env, "AFTERSALES_DATABASE_URL": f"sqlite:///{path}"}
    with sqlite3.connect(path) as con:
        # on purpose: take away the append-only guard, then edit one posting
        con.execute("DROP TRIGGER ledger_postings_no_update")
        posting_id, entry_id = con.execute(
            "SELECT id, entry_id FROM ledger_postings ORDER BY id LIMIT 1 OFFSET 10"
        ).fetchone()
        con.execute("UPDATE ledger_postings SET amount = amount + 1 WHERE id = ?", (posting_id,))

    res = _run(["ledger", "check"], env)

    assert res.returncode == 1, res.stdout + res.stderr
    assert "ledger ok" not in res.stdout
    assert f"entry {entry_id}:" in res.stdout
    assert "sum to 1" in res.stdout
    assert "problem(s)" in res.stdout
