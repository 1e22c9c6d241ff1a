"""The case engine: one move of the state machine, inside the caller's transaction.

Every use case that moves a case (a person's action in ``cases``, an intervention, a
deadline firing, a strategy, a carrier or warehouse report) calls :func:`move`. It loads
the facts the guards need, runs ``machine.apply``, writes the case with its
compare-and-set on ``version``, appends the timeline entry, records the refund decision
and its ledger entry and any shipment, replaces the pending deadline and writes the
outbox event; then it runs the hooks registered with :func:`on_after_move` (the
automation registers there: R6 strategies, R7 express refund, R8.2), so the engine never
imports the use cases that call it.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from aftersales.domain import machine
from aftersales.domain.case import Case, Command, Facts, Outcome
from aftersales.domain.case_types import Action, ActorKind, State
from aftersales.domain.catalog import Order, Shop
from aftersales.domain.errors import Conflict, IllegalTransition, ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.domain.logistics import validate_tracking
from aftersales.domain.money import Money
from aftersales.domain.policy import Profile
from aftersales.services import events, money
from aftersales.services.actors import Actor
from aftersales.services.context import Context
from aftersales.store import cases as case_store
from aftersales.store import catalog as catalog_store
from aftersales.store import deadlines as deadline_store
from aftersales.store.case_facts import case_side_facts
from aftersales.store.db import tx_memo

AfterMove = Callable[[Context, Connection, Case, Action, datetime, Order], Case]
"""A hook run after each move (and after a request is opened): it may move the case
again (through :func:`move`) and returns the case as it then stands."""

_AFTER_MOVE: list[AfterMove] = []


def on_after_move(hook: AfterMove) -> AfterMove:
    """Register ``hook`` to run after every move, in registration order (once per hook)."""
    if hook not in _AFTER_MOVE:
        _AFTER_MOVE.append(hook)
    return hook


def after_move(
    ctx: Context, conn: Connection, case: Case, action: Action, now: datetime, order: Order
) -> Case:
    """Run the registered hooks on the case a move (or an opening) produced."""
    for hook in tuple(_AFTER_MOVE):
        case = hook(ctx, conn, case, action, now, order)
    return case


def jsonable(value: Any) -> Any:
    """A timeline value as JSON (money, moments, dataclasses, enums)."""
    if isinstance(value, Money):
        return {"amount": value.amount, "currency": value.currency}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {k: jsonable(getattr(value, k)) for k in value.__dataclass_fields__}
    if hasattr(value, "value"):  # enums
        return value.value
    return value


def _changes(outcome: Outcome) -> dict[str, Any]:
    return {
        k: {"before": jsonable(b), "after": jsonable(a)} for k, (b, a) in outcome.changes.items()
    }


def conflict(case: Case) -> Conflict:
    return Conflict(
        "case.conflict",
        N_("Case {number} changed since you read it; reload and try again."),
        number=case.number,
    )


# --------------------------------------------------------------------------- facts
@dataclasses.dataclass(frozen=True, slots=True)
class Loaded:
    """What a move loaded about its case: the facts of the guards, the shop and profile."""

    facts: Facts
    shop: Shop
    profile: Profile


def load_facts(
    ctx: Context, conn: Connection, case: Case, cmd: Command | None = None, *, lock: bool = True
) -> Loaded:
    """The facts the guards need, with the order locked for a move (refund caps span
    cases); a reader (``lock=False``) takes no lock."""
    order = (catalog_store.lock_and_load_order if lock else catalog_store.load_order)(
        conn, case.order_id
    )
    shop = catalog_store.get_shop(conn, case.shop_id)
    assert order is not None and shop is not None
    tracking: tuple[str, str] | None = None
    if cmd is not None and cmd.carrier and cmd.tracking_number:
        with contextlib.suppress(ValidationFailed):  # the guard reports a format error
            tracking = validate_tracking(cmd.carrier, cmd.tracking_number)
    side = case_side_facts(conn, order.id, case.id, tracking)
    parcel = side.interceptable_parcel  # R16.2
    facts = Facts(
        order,
        Money(side.already_refunded, order.currency),
        side.tracking_in_use,
        shop.return_address,
        interceptable_parcel=parcel,
        intercept_attempted=side.intercept_attempted,
    )
    profile = ctx.profiles.for_case(conn, case.profile_id, case.profile_version)
    return Loaded(facts, shop, profile)


def offered(case: Case, loaded: Loaded, now: datetime) -> dict[str, list[str]]:
    """The actions each party may take now: the table's rows whose guards (the same ones
    that refuse the move) pass on these facts, e.g. R16.2's intercept guard."""
    return {
        kind.value: [
            a.value
            for a in machine.available_actions(
                case, kind, now, facts=loaded.facts, profile=loaded.profile
            )
        ]
        for kind in (ActorKind.BUYER, ActorKind.MERCHANT)
    }


# --------------------------------------------------------------------------- writing
def entry(
    conn: Connection,
    case: Case,
    actor: Actor,
    *,
    action: Action,
    rule: str | None,
    from_state: State | None,
    changes: dict[str, Any],
    now: datetime,
    note: str | None = None,
    strategy: str | None = None,
) -> int:
    """One line of a case's timeline (ending in the case's current state) and its
    ``case.<action>`` webhook event: every line of every case's history is written here.
    Returns the line's sequence number."""
    assert case.id is not None
    seq = case_store.append_event(
        conn,
        case.id,
        at=now,
        actor_kind=actor.kind,
        actor_id=actor.id,
        action=action.value,
        rule=rule,
        strategy=strategy,
        from_state=from_state,
        to_state=case.state,
        changes=changes,
        note=note or None,
    )
    events.case_event(
        conn,
        case,
        action=action.value,
        seq=seq,
        actor_kind=actor.kind.value,
        rule=rule,
        from_state=from_state.value if from_state else None,
        now=now,
    )
    return seq


def _persist(
    ctx: Context,
    conn: Connection,
    now: datetime,
    actor: Actor,
    outcome: Outcome,
    order: Order,
    expected_version: int,
    note: str | None,
) -> Case:
    case = outcome.case
    assert case.id is not None
    if not case_store.update_case(conn, case, expected_version):
        raise conflict(case)
    _side_records(ctx, conn, now, actor, outcome, order, note)
    if outcome.keep_deadline and outcome.deadline is not None:
        deadline_store.cancel_deadlines(conn, case.id, keep_kind=outcome.deadline.kind)
    else:
        deadline_store.cancel_deadlines(conn, case.id)
        if outcome.deadline is not None:
            deadline_store.schedule_deadline(
                conn, case.id, outcome.deadline.kind, outcome.deadline.due_at, now
            )
    return case


def _side_records(
    ctx: Context,
    conn: Connection,
    now: datetime,
    actor: Actor,
    outcome: Outcome,
    order: Order,
    note: str | None,
) -> None:
    case = outcome.case
    assert case.id is not None  # the machine set case.state to outcome.to_state
    entry(
        conn,
        case,
        actor,
        action=outcome.action,
        rule=outcome.rule,
        from_state=outcome.from_state,
        changes=_changes(outcome),
        now=now,
        note=note,
        strategy=actor.strategy,
    )
    if outcome.refund is not None:
        # The decision is its own record; the money moves in the same transaction as a
        # balanced ledger entry keyed by the decision (a retry cannot pay twice).
        decision_id = case_store.insert_refund_decision(
            conn, case.id, case.order_id, outcome.refund, actor.kind, actor.id
        )
        money.refund_in_case(
            ctx,
            conn,
            case,
            order,
            decision_id,
            outcome.refund.amount,
            now,
            pay_first=outcome.action is Action.EXECUTION_TIMEOUT,  # R11.2
        )
    for direction, field in (
        ("return", "return_shipment"),
        ("replacement", "replacement_shipment"),
    ):
        if field in outcome.changes and getattr(case, field) is not None:
            try:
                with conn.begin_nested():
                    case_store.insert_shipment(conn, case.id, direction, getattr(case, field))
            except IntegrityError:
                raise IllegalTransition(
                    "tracking.reused",
                    N_("Tracking number {number} is already used on another case."),
                    rule="R5.3",
                    field="tracking_number",
                    number=getattr(case, field).tracking_number,
                ) from None


_MEMO = "aftersales_moved"


def _remember(conn: Connection, case: Case, loaded: Loaded) -> None:
    """Keep what the move loaded for the rest of this transaction (the answer to the
    request is built from it, not read again)."""
    tx_memo(conn, _MEMO)[case.id] = loaded


def remember_opened(
    conn: Connection, case: Case, facts: Facts, shop: Shop, profile: Profile
) -> None:
    """A request just opened: keep its facts (with R16.2's, which opening does not need)
    for the answer, as a move does."""
    side = case_side_facts(conn, case.order_id, case.id, None)
    full = dataclasses.replace(
        facts,
        interceptable_parcel=side.interceptable_parcel,
        intercept_attempted=side.intercept_attempted,
    )
    _remember(conn, case, Loaded(full, shop, profile))


def last_loaded(conn: Connection, case_id: int) -> Loaded | None:
    """What the last move of the case in this transaction loaded (None: no move)."""
    loaded: Loaded | None = tx_memo(conn, _MEMO).get(case_id)
    return loaded


def forget(conn: Connection, case_id: int) -> None:
    """The facts changed after the move (e.g. an intercept was recorded): load them again."""
    tx_memo(conn, _MEMO).pop(case_id, None)


@dataclasses.dataclass(frozen=True, slots=True)
class Moved:
    """The case after a move and the hooks it started, with what the move loaded."""

    case: Case
    loaded: Loaded


def move_loaded(
    ctx: Context,
    conn: Connection,
    actor: Actor,
    case: Case,
    cmd: Command,
    expected_version: int | None,
    now: datetime,
    extra_changes: dict[str, Any] | None = None,
    rule: str | None = None,
) -> Moved:
    """:func:`move`, also returning the facts it loaded (an interface renders the
    actions offered next from them without reading the case again)."""
    if expected_version is not None and expected_version != case.version:
        raise conflict(case)
    loaded = load_facts(ctx, conn, case, cmd)
    outcome = machine.apply(case, cmd, loaded.facts, loaded.profile, now)
    changes = dict(outcome.changes)
    if cmd.evidence:  # R5.5: the kinds of evidence a refusal rests on, in the timeline
        changes["evidence"] = (None, tuple(cmd.evidence))
    if extra_changes:
        changes.update({k: (None, v) for k, v in extra_changes.items()})
    if changes != outcome.changes:
        outcome = dataclasses.replace(outcome, changes=changes)
    if rule is not None:
        outcome = dataclasses.replace(outcome, rule=rule)
    after = _persist(ctx, conn, now, actor, outcome, loaded.facts.order, case.version, cmd.note)
    _remember(conn, after, loaded)
    after = after_move(ctx, conn, after, outcome.action, now, loaded.facts.order)
    return Moved(after, loaded)


def move(
    ctx: Context,
    conn: Connection,
    actor: Actor,
    case: Case,
    cmd: Command,
    expected_version: int | None,
    now: datetime,
    extra_changes: dict[str, Any] | None = None,
    rule: str | None = None,
) -> Case:
    """Apply one command to a loaded case inside the caller's transaction, then run the
    after-move hooks (R6, R7, R8.2). ``extra_changes`` are written into the timeline entry
    (an automatic decision names its strategy and conditions); ``rule`` replaces the
    transition's rule in it, when another rule made the move (a confirmed R15.2 report
    rejecting a request)."""
    return move_loaded(ctx, conn, actor, case, cmd, expected_version, now, extra_changes, rule).case


def note(
    conn: Connection,
    case: Case,
    actor: Actor,
    action: Action,
    rule: str,
    changes: dict[str, Any],
    now: datetime,
) -> int:
    """A timeline entry that is not a move of the machine (the state stays): an express
    refund check, a warehouse report. Announced to webhooks like any other entry."""
    return entry(
        conn,
        case,
        actor,
        action=action,
        rule=rule,
        from_state=case.state,
        changes={k: {"before": None, "after": jsonable(v)} for k, v in changes.items()},
        now=now,
        strategy=actor.strategy,
    )
