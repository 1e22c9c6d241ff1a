"""The demo marketplace covers every reachable state of every request type, built through
the services and the real worker, on SQLite and PostgreSQL."""

from __future__ import annotations

from aftersales.demo import load_demo
from aftersales.domain import machine
from aftersales.domain.case_types import CaseType
from aftersales.store import deadlines as deadline_store


def test_R2_demo_has_cases_in_every_reachable_state_of_every_type(ctx):
    summary = load_demo(ctx)
    for case_type in CaseType:
        expected = {s.value for s in machine.reachable_states(case_type)}
        assert set(summary.cases[case_type.value]) == expected, case_type
    assert summary.shops >= 2 and summary.buyers >= 2 and summary.sample.startswith("AS")


def test_R5_demo_leaves_no_deadline_due_so_waiting_cases_keep_waiting(ctx):
    load_demo(ctx)
    with ctx.db.read() as conn:
        assert deadline_store.pending_count(conn, ctx.now()) == 0
        assert deadline_store.pending_count(conn) > 0


def test_demo_if_empty_loads_once(ctx):
    first = load_demo(ctx, if_empty=True)
    second = load_demo(ctx, if_empty=True)
    assert first.shops > 0 and second.shops == 0


def test_R11_ledger_check_passes_after_the_demo(ctx):
    from aftersales.services import statements

    load_demo(ctx)
    report = statements.check(ctx)
    assert report.ok, report.problems
    assert report.checked["entries"] > 0


def test_hardening_demo_logins_are_only_the_accounts_the_demo_made(ctx):
    """An `admin` made before the demo keeps its own password: it is not shown as a demo
    login; the demo's shops, their accounts and its agent are."""
    from aftersales.demo.logins import DEMO_PASSWORD, demo_accounts
    from aftersales.domain.accounts import AccountKind
    from aftersales.services import accounts, orders, shops
    from aftersales.services.demo import demo_logins
    from tests.factories import SYSTEM

    assert demo_logins(ctx).shops == ()
    accounts.create_account(ctx, None, kind=AccountKind.ADMIN, login="admin", password="x" * 12)
    for code in ("DEMO1-0101000000", "DEMO2-0101000000", "DEMOX-1"):
        shops.create_shop(
            ctx,
            SYSTEM,
            code=code,
            name=f"{code} shop",
            timezone="Asia/Shanghai",
            profile_id="douyin",
            return_address="1 Dock",
        )
    orders.record_buyer(ctx, SYSTEM, orders.BuyerIn("demo-0101000000-buyer1", "Li", "13800000001"))
    demo_accounts(ctx, ["DEMO1-0101000000", "DEMO2-0101000000"], "0101000000", 1)
    found = demo_logins(ctx)
    assert found.platform == ("agent",)
    assert [(s.code, [a.login for a in s.logins]) for s in found.shops] == [
        ("DEMO1-0101000000", ["shop1", "shop1-cs"]),
        ("DEMO2-0101000000", ["shop2", "shop2-cs"]),
    ]
    assert found.shops[0].logins[0].main and found.shops[0].logins[1].permissions == (
        "handle_aftersales",
    )
    assert found.buyers == ("buyer1",)
    assert accounts.login(ctx, "agent", DEMO_PASSWORD, ip="127.0.0.1") is not None
