"""R12.1/R12.2: appeals against a ruling, through the services on SQLite and PostgreSQL.

douyin merchants appeal within ``[appeals].merchant_window_workdays`` working days on the
statutory calendar, with new evidence or a stated misjudgment, decided by another agent
(R12.1); tiktok buyers appeal a loss inside ``buyer_window_hours``, at most
``buyer_max_appeals`` times, before a different agent (R12.2)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from aftersales.domain import ledger as L
from aftersales.domain.calendar import add_workdays, is_authoritative
from aftersales.domain.case_types import DeadlineKind, State
from aftersales.domain.errors import (
    Conflict,
    Forbidden,
    IllegalTransition,
    NotFound,
    ValidationFailed,
)
from aftersales.services import interventions as iv
from aftersales.services import money, statements
from aftersales.services.context import Context
from aftersales.store import catalog as catalog_store
from tests.arbitration.support import (
    AGENT,
    AUDITOR,
    OTHER_AGENT,
    THIRD_AGENT,
    appeal_rules,
    appeals,
    balance,
    buyer_account,
    buyer_loses,
    buyer_wins,
    case_entries,
    case_of,
    deposit,
    entry,
    escalated,
    events,
    liable_count,
    pay_first_pot,
    profile,
    rounds,
    rules,
    rulings,
    run_worker,
    settlement,
    state,
    timeline,
    upload,
)
from tests.conftest import FakeClock
from tests.factories import World, make_world
from tests.ledger.helpers import invariant_problems, money_profile

PAID = 10_000
# 2026-09-30 10:00 in Shanghai: the day before the National Day holiday (Oct 1-7, 2026).
BEFORE_NATIONAL_DAY = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)


def _merchant_loses_on(ctx: Context, clock: FakeClock, ruled_at: datetime) -> tuple[World, str]:
    """A douyin shop and a dispute it loses (it stayed silent), ruled at ``ruled_at``."""
    clock.now = ruled_at - timedelta(hours=rules(ctx).evidence_hours)
    w = make_world(ctx)
    number, ruled = buyer_wins(w, clock)
    assert ruled.rulings[0].ruled_at == ruled_at
    return w, number


def _local_midnight_after(day: date, tz: str) -> datetime:
    """The end of ``day`` in ``tz`` (the next day's 00:00), in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def _period() -> tuple[datetime, datetime]:
    return datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)


def _liable(ctx: Context, w: World) -> int:
    return liable_count(ctx, w.shop_id, *_period())


def _appeal(w: World, number: str, **kw: object) -> iv.AppealView:
    args: dict[str, object] = {
        "grounds": "misjudgment",
        "statement": "We did answer, by phone; the QC record shows no leak.",
        "evidence": [],
    }
    args.update(kw)
    return iv.appeal(w.ctx, w.merchant, number, **args)  # type: ignore[arg-type]


def _money_and_state(ctx: Context, w: World, number: str) -> tuple[object, ...]:
    return (
        state(ctx, number),
        [e.id for e in case_entries(ctx, number)],
        balance(ctx, settlement(w.shop_id)),
        balance(ctx, buyer_account(w.buyer_id)),
    )


def _ledger_ok(ctx: Context) -> None:
    report = statements.check(ctx)
    assert report.ok, report.problems
    assert invariant_problems(ctx) == []


# --------------------------------------------------------------------------- R12.1
def test_R12_1_merchant_appeal_window_counts_statutory_working_days(
    ctx: Context, clock: FakeClock
) -> None:
    assert is_authoritative(date(2026, 10, 1))  # the calendar data knows this holiday
    p = profile(ctx)
    workdays = appeal_rules(ctx).merchant_window_workdays
    last_day = add_workdays(date(2026, 9, 30), workdays, p.calendar)
    # The holiday does not count: the window ends later than on a Monday-Friday calendar.
    assert last_day > add_workdays(date(2026, 9, 30), workdays, "weekdays")
    w, number = _merchant_loses_on(ctx, clock, BEFORE_NATIONAL_DAY)
    due = _local_midnight_after(last_day, p.timezone)
    assert iv.get_intervention(ctx, w.merchant, number).rulings[0].merchant_appeal_due == due

    clock.now = due - timedelta(seconds=1)
    filed = _appeal(w, number)

    assert (filed.status, filed.party, filed.channel) == ("pending", "merchant", "appeal")
    assert filed.filed_at == clock.now and filed.ruling_id == rulings(ctx, number)[0].id
    filed_on = clock.now.astimezone(ZoneInfo(p.timezone)).date()
    decide_on = add_workdays(filed_on, appeal_rules(ctx).decision_workdays, p.calendar)
    assert filed.decide_by == _local_midnight_after(decide_on, p.timezone)
    last = timeline(ctx, number)[-1]
    assert (last.action, last.rule, last.actor_kind) == ("merchant_appeal", "R12.1", "merchant")
    assert events(ctx, number)[-1]["type"] == "case.merchant_appeal"
    assert state(ctx, number) is State.AWAITING_EXECUTION  # an appeal does not stop R11


def test_R12_1_merchant_appeal_after_the_window_is_refused(ctx: Context, clock: FakeClock) -> None:
    p = profile(ctx)
    last_day = add_workdays(
        date(2026, 9, 30), appeal_rules(ctx).merchant_window_workdays, p.calendar
    )
    w, number = _merchant_loses_on(ctx, clock, BEFORE_NATIONAL_DAY)
    clock.now = _local_midnight_after(last_day, p.timezone)

    with pytest.raises(IllegalTransition) as err:
        _appeal(w, number)

    assert (err.value.code, err.value.rule) == ("appeal.window_closed", "R12.1")
    assert appeals(ctx, number) == []
    assert timeline(ctx, number)[-1].action != "merchant_appeal"


def test_R12_1_appeal_without_new_evidence_or_statement_is_refused(
    ctx: Context, clock: FakeClock
) -> None:
    w = make_world(ctx)
    number, _ = buyer_wins(w, clock)
    with pytest.raises(ValidationFailed) as err:
        _appeal(w, number, grounds="new_evidence", statement="", evidence=[])
    assert (err.value.code, err.value.rule) == ("appeal.evidence_missing", "R12.1")
    with pytest.raises(ValidationFailed) as err:
        _appeal(w, number, grounds="misjudgment", statement="  ")
    assert (err.value.code, err.value.rule) == ("appeal.statement_missing", "R12.1")
    with pytest.raises(ValidationFailed) as err:
        _appeal(w, number, grounds="because")
    assert err.value.code == "appeal.grounds_unknown"
    assert appeals(ctx, number) == []


def test_R12_1_appeal_evidence_must_be_the_merchants_added_after_the_ruling(
    ctx: Context, clock: FakeClock
) -> None:
    w = make_world(ctx)
    number, opened = escalated(w)
    before = upload(ctx, w.merchant, number, "qc_record")
    clock.now = opened.evidence_due
    iv.rule(ctx, AGENT, number, iv.RulingInput(reasons="The shop did not answer."))
    clock.advance(hours=1)
    buyers = upload(ctx, w.buyer, number)
    new = upload(ctx, w.merchant, number, "qc_record")

    for stale in (before, buyers, 999_999):
        with pytest.raises(ValidationFailed) as err:
            _appeal(w, number, grounds="new_evidence", evidence=[stale])
        assert (err.value.code, err.value.rule) == ("appeal.evidence_not_new", "R12.1")
    assert appeals(ctx, number) == []

    filed = _appeal(w, number, grounds="new_evidence", statement="", evidence=[new, new])
    assert filed.evidence == (new,) and filed.grounds == "new_evidence"


def test_R12_1_one_merchant_appeal_per_ruling(ctx: Context, clock: FakeClock) -> None:
    w = make_world(ctx)
    number, _ = buyer_wins(w, clock)
    _appeal(w, number)
    with pytest.raises(Conflict) as err:
        _appeal(w, number, statement="Once more.")
    assert err.value.code == "appeal.already_filed"
    assert len(appeals(ctx, number)) == 1


def test_R12_1_a_party_appeals_only_a_ruling_against_it(ctx: Context, clock: FakeClock) -> None:
    w = make_world(ctx)
    won, _ = buyer_wins(w, clock)
    with pytest.raises(IllegalTransition) as err:
        iv.appeal(ctx, w.buyer, won, grounds="misjudgment", statement="More!", evidence=[])
    assert err.value.code == "appeal.not_against_you"
    lost, _ = buyer_loses(w, clock)
    with pytest.raises(IllegalTransition) as err:
        _appeal(w, lost)
    assert err.value.code == "appeal.not_against_you"
    with pytest.raises(Forbidden):
        iv.appeal(ctx, AGENT, won, grounds="misjudgment", statement="x", evidence=[])
    with pytest.raises(NotFound):  # a case without a ruling
        _appeal(w, escalated(w)[0])


def test_R12_1_the_ruling_agent_cannot_decide_the_appeal(ctx: Context, clock: FakeClock) -> None:
    w = make_world(ctx)
    number, _ = buyer_wins(w, clock, agent=AGENT)
    filed = _appeal(w, number)

    with pytest.raises(Forbidden) as err:
        iv.decide_appeal(ctx, AGENT, filed.id, uphold=True, note="I was wrong.")

    assert (err.value.code, err.value.rule) == ("appeal.same_agent", "R12")
    assert appeals(ctx, number)[0].status == "pending"
    assert state(ctx, number) is State.AWAITING_EXECUTION
    for party in (w.merchant, w.buyer):
        with pytest.raises(Forbidden):
            iv.decide_appeal(ctx, party, filed.id, uphold=True, note="mine")


def test_R12_1_upheld_appeal_overturns_a_ruling_awaiting_execution(
    ctx: Context, clock: FakeClock
) -> None:
    w = make_world(ctx)
    number, _ = buyer_wins(w, clock)
    assert _liable(ctx, w) == 1
    filed = _appeal(w, number)

    decided = iv.decide_appeal(ctx, OTHER_AGENT, filed.id, uphold=True, note="QC record holds.")

    assert (decided.status, decided.reviewed_by) == ("upheld", OTHER_AGENT.id)
    assert decided.decided_at == clock.now and decided.refunded_entry is None
    case = case_of(ctx, number)
    assert (case.state, case.close_reason) == (State.CLOSED, "ruling_overturned")
    overturned = entry(ctx, number, "ruling_overturned")
    assert (overturned.rule, overturned.actor_kind) == ("R12.1", "platform")
    assert timeline(ctx, number)[-1].action == "appeal_decided"
    assert _liable(ctx, w) == 0  # R13.1: no longer counts against the shop
    assert case_entries(ctx, number) == []  # nothing was paid, nothing moves
    clock.advance(days=30)
    assert run_worker(ctx).fired == 0  # the execution deadline went with the ruling
    with pytest.raises(Conflict):
        iv.decide_appeal(ctx, THIRD_AGENT, filed.id, uphold=False, note="again")


def test_R12_1_upheld_appeal_after_pay_first_returns_the_deduction(
    ctx: Context, clock: FakeClock
) -> None:
    w = make_world(ctx)
    number, _ = buyer_wins(w, clock)
    assert balance(ctx, deposit(w.shop_id)) == 0  # nothing to take first: the settlement pays
    shop_before = balance(ctx, settlement(w.shop_id))
    clock.now = case_of(ctx, number).deadline_at
    assert run_worker(ctx).fired == 1  # R11.2: pay-first
    assert balance(ctx, settlement(w.shop_id)) == shop_before - PAID
    filed = _appeal(w, number)

    decided = iv.decide_appeal(ctx, OTHER_AGENT, filed.id, uphold=True, note="QC record holds.")

    assert state(ctx, number) is State.REFUNDED  # the buyer keeps the refund
    entries = case_entries(ctx, number)
    assert [e.kind for e in entries] == [
        L.EntryKind.PAY_FIRST.value,
        L.EntryKind.PAY_FIRST_DEDUCTION.value,
        L.EntryKind.APPEAL_REFUND.value,
    ]
    assert decided.refunded_entry == entries[-1].id and entries[-1].rule == "R12.1"
    assert decided.refunded_entries == (entries[-1].id,)
    assert balance(ctx, settlement(w.shop_id)) == shop_before
    assert balance(ctx, buyer_account(w.buyer_id)) == PAID
    with ctx.db.read() as conn:
        assert money.deducted_on_case(conn, case_of(ctx, number)) == 0
    assert _liable(ctx, w) == 0
    changes = timeline(ctx, number)[-1].changes["appeal"]["after"]
    assert changes == {"id": filed.id, "upheld": True, "refunded_entries": [entries[-1].id]}
    _ledger_ok(ctx)


def test_R12_1_upheld_appeal_returns_the_deduction_to_the_deposit_and_settlement_it_came_from(
    ctx: Context, clock: FakeClock
) -> None:
    held = 4_000
    money_profile(ctx, required_deposit=held)  # R11.2: the level the deposit is back at
    w = make_world(ctx)
    number, _ = buyer_wins(w, clock)
    money.top_up_deposit(ctx, AGENT, w.shop_id, held, "CNY", "deposit-1")
    shop_before = balance(ctx, settlement(w.shop_id))
    clock.now = case_of(ctx, number).deadline_at
    assert run_worker(ctx).fired == 1
    assert balance(ctx, deposit(w.shop_id)) == 0  # R11.2: the deposit first
    assert balance(ctx, settlement(w.shop_id)) == shop_before - (PAID - held)
    filed = _appeal(w, number)

    decided = iv.decide_appeal(ctx, OTHER_AGENT, filed.id, uphold=True, note="QC record holds.")

    refunds = case_entries(ctx, number)[-2:]
    assert [e.kind for e in refunds] == [L.EntryKind.APPEAL_REFUND.value] * 2
    assert decided.refunded_entries == tuple(e.id for e in refunds)
    # each source gets back what was taken from it (new movements; nothing is reversed)
    assert balance(ctx, settlement(w.shop_id)) == shop_before
    assert balance(ctx, deposit(w.shop_id)) == held
    assert balance(ctx, buyer_account(w.buyer_id)) == PAID
    assert balance(ctx, pay_first_pot()) == -PAID  # the platform bears what it paid first
    with ctx.db.read() as conn:
        code = catalog_store.shop_code(conn, w.shop_id)
    changes = [(c.active, c.cause) for c in money.standing(ctx, AGENT, code).changes]
    assert changes == [(True, "deposit_below_required"), (False, "deposit_below_required")]
    _ledger_ok(ctx)


def test_R12_1_dismissed_appeal_moves_nothing(ctx: Context, clock: FakeClock) -> None:
    w = make_world(ctx)
    number, _ = buyer_wins(w, clock)
    clock.now = case_of(ctx, number).deadline_at
    run_worker(ctx)
    filed = _appeal(w, number)
    before = _money_and_state(ctx, w, number)

    decided = iv.decide_appeal(ctx, OTHER_AGENT, filed.id, uphold=False, note="No new facts.")

    assert decided.status == "dismissed" and decided.refunded_entry is None
    assert _money_and_state(ctx, w, number) == before
    assert _liable(ctx, w) == 1
    assert timeline(ctx, number)[-1].changes["appeal"]["after"]["upheld"] is False


def test_R12_1_tiktok_merchant_appeals_through_a_ticket(ctx: Context, clock: FakeClock) -> None:
    w = make_world(ctx, profile_id="tiktok")
    number, _ = buyer_wins(w, clock)
    filed = _appeal(w, number)
    assert filed.channel == appeal_rules(ctx, "tiktok").merchant_channel == "ticket"


# --------------------------------------------------------------------------- R12.2
def test_R12_2_buyer_loss_opens_the_appeal_window(ctx: Context, clock: FakeClock) -> None:
    w = make_world(ctx, profile_id="tiktok")
    number, ruled = buyer_loses(w, clock)
    case = case_of(ctx, number)
    assert case.state is State.RULED and ruled.case_state == "ruled"
    assert case.deadline_kind is DeadlineKind.APPEAL_WINDOW
    hours = appeal_rules(ctx, "tiktok").buyer_window_hours
    assert case.deadline_at == clock.now + timedelta(hours=hours)
    assert ruled.rulings[0].merchant_appeal_due is None  # a ruling for the merchant


def test_R12_2_buyer_appeal_reopens_a_round_the_ruling_agent_may_not_rule(
    ctx: Context, clock: FakeClock
) -> None:
    w = make_world(ctx, profile_id="tiktok")
    number, ruled = buyer_loses(w, clock, agent=AGENT)
    clock.now = case_of(ctx, number).deadline_at - timedelta(seconds=1)

    filed = iv.appeal(
        ctx, w.buyer, number, grounds="misjudgment", statement="The leak is real.", evidence=[]
    )

    assert (filed.party, filed.status, filed.channel) == ("buyer", "reheard", "appeal")
    assert state(ctx, number) is State.IN_INTERVENTION
    last = timeline(ctx, number)[-1]
    assert (last.action, last.rule, last.from_state) == ("appeal", "R12.2", "ruled")
    first, second = rounds(ctx, number)
    assert (first.status, second.status, second.round) == ("ruled", "open", 2)
    assert second.appeal_of_ruling_id == ruled.rulings[0].id
    assert second.excluded_agent == AGENT.id
    assert iv.get_intervention(ctx, w.buyer, number).excluded_agent is None
    assert iv.get_intervention(ctx, AUDITOR, number).excluded_agent == AGENT.id
    # fresh deadlines from the appeal
    r = w.ctx.profiles.current["tiktok"].intervention
    assert r is not None
    assert second.evidence_due == clock.now + timedelta(hours=r.evidence_hours)

    clock.now = second.evidence_due
    with pytest.raises(Forbidden) as err:
        iv.rule(ctx, AGENT, number, iv.RulingInput(reasons="Same as before."))
    assert err.value.code == "appeal.same_agent"
    assert len(rulings(ctx, number)) == 1
    reheard = iv.rule(ctx, OTHER_AGENT, number, iv.RulingInput(reasons="Heard again."))
    assert [r.agent for r in reheard.rulings] == [AGENT.id, OTHER_AGENT.id]


def test_R12_2_one_appeal_per_ruling(ctx: Context, clock: FakeClock) -> None:
    w = make_world(ctx, profile_id="tiktok")
    number, _ = buyer_loses(w, clock)
    iv.appeal(ctx, w.buyer, number, grounds="misjudgment", statement="Wrong.", evidence=[])
    with pytest.raises(Conflict) as err:
        iv.appeal(ctx, w.buyer, number, grounds="misjudgment", statement="Again.", evidence=[])
    assert err.value.code == "appeal.already_filed"
    assert len(rounds(ctx, number)) == 2


def test_R12_2_buyer_appeals_at_most_buyer_max_appeals_times(
    ctx: Context, clock: FakeClock
) -> None:
    limit = appeal_rules(ctx, "tiktok").buyer_max_appeals
    agents = [AGENT, OTHER_AGENT, THIRD_AGENT, AGENT]
    w = make_world(ctx, profile_id="tiktok")
    number, _ = buyer_loses(w, clock, agent=agents[0])
    for n in range(1, limit + 1):
        iv.appeal(ctx, w.buyer, number, grounds="misjudgment", statement=f"#{n}", evidence=[])
        buyer_loses(w, clock, agent=agents[n], number=number)
    assert state(ctx, number) is State.RULED

    with pytest.raises(IllegalTransition) as err:
        iv.appeal(ctx, w.buyer, number, grounds="misjudgment", statement="Once more.", evidence=[])

    assert (err.value.code, err.value.rule) == ("appeal.limit_reached", "R12.2")
    assert len(appeals(ctx, number)) == limit
    assert len(rounds(ctx, number)) == limit + 1


def test_R12_2_no_appeal_after_the_window(ctx: Context, clock: FakeClock) -> None:
    w = make_world(ctx, profile_id="tiktok")
    number, _ = buyer_loses(w, clock)
    clock.now = case_of(ctx, number).deadline_at

    with pytest.raises(IllegalTransition) as err:
        iv.appeal(ctx, w.buyer, number, grounds="misjudgment", statement="Late.", evidence=[])

    assert (err.value.code, err.value.rule) == ("deadline.passed", "R12.2")
    assert appeals(ctx, number) == [] and len(rounds(ctx, number)) == 1
    assert run_worker(ctx).fired == 1
    case = case_of(ctx, number)
    assert (case.state, case.close_reason) == (State.CLOSED, "appeal_window_timeout")
    assert entry(ctx, number, "appeal_window_timeout").rule == "R12.2"


def test_R12_2_buyer_appeal_on_new_evidence_names_it(ctx: Context, clock: FakeClock) -> None:
    w = make_world(ctx, profile_id="tiktok")
    number, _ = buyer_loses(w, clock)
    with pytest.raises(ValidationFailed) as err:
        iv.appeal(ctx, w.buyer, number, grounds="new_evidence", statement="", evidence=[])
    assert (err.value.code, err.value.rule) == ("appeal.evidence_missing", "R12.2")
    clock.advance(minutes=5)
    photo = upload(ctx, w.buyer, number)
    filed = iv.appeal(ctx, w.buyer, number, grounds="new_evidence", statement="", evidence=[photo])
    assert filed.evidence == (photo,)


def test_R12_2_douyin_buyers_do_not_appeal(ctx: Context, clock: FakeClock) -> None:
    assert appeal_rules(ctx).buyer_max_appeals == 0
    w = make_world(ctx)
    number, _ = buyer_loses(w, clock)
    assert state(ctx, number) is State.CLOSED

    with pytest.raises(IllegalTransition) as err:
        iv.appeal(ctx, w.buyer, number, grounds="misjudgment", statement="Unfair.", evidence=[])

    assert (err.value.code, err.value.rule) == ("appeal.buyers_do_not_appeal", "R12.2")
    assert appeals(ctx, number) == []
