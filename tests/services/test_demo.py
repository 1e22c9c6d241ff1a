"""The demo marketplace covers every reachable state of every request type, built through
the services and the real worker, on SQLite and PostgreSQL."""

from __future__ import annotations

from aftersales.demo import load_demo
from aftersales.domain import machine
from aftersales.domain.case_types import CaseType
from aftersales.store import repo


def test_R2_demo_has_cases_in_every_reachable_state_of_every_type(ctx):
    summary = load_demo(ctx)
    for case_type in CaseType:
        expected = {s.value for s in machine.reachable_states(case_type)}
        assert set(summary.cases[case_type.value]) == expected, case_type
    assert summary.shops >= 2 and summary.buyers >= 2 and summary.sample.startswith("AS")


def test_R5_demo_leaves_no_deadline_due_so_waiting_cases_keep_waiting(ctx):
    load_demo(ctx)
    with ctx.db.read() as conn:
        assert repo.pending_count(conn, ctx.now()) == 0
        assert repo.pending_count(conn) > 0


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
