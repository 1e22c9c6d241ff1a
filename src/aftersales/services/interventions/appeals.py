"""R12: a party appeals a ruling (a new round, heard by another agent), and the platform
upholds it (the ruling is overturned, a pay-first deduction returned) or dismisses it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from aftersales.domain import intervention as I
from aftersales.domain import machine
from aftersales.domain.accounts import Permission
from aftersales.domain.case import Case, Command
from aftersales.domain.case_types import Action, ActorKind, State
from aftersales.domain.errors import (
    Conflict,
    Forbidden,
    IllegalTransition,
    NotFound,
    ValidationFailed,
)
from aftersales.domain.i18n import N_
from aftersales.domain.policy import Liability, Party
from aftersales.services import engine, money
from aftersales.services.actors import Actor, require_agent, require_permission
from aftersales.services.context import Context
from aftersales.services.interventions.rounds import (
    checked_text,
    load_case,
    open_round_row,
    profile_of,
    round_changes,
)
from aftersales.services.interventions.views import AppealView, appeal_view, party_of
from aftersales.store import cases as case_store
from aftersales.store import catalog as catalog_store
from aftersales.store import evidence as evidence_store
from aftersales.store import interventions as store
from aftersales.store.records import known


# --------------------------------------------------------------------------- R12
def _latest_ruling(conn: Connection, case: Case, number: str) -> store.Ruling:
    assert case.id is not None
    rows = store.rulings_of(conn, case.id)
    if not rows:
        raise NotFound("ruling.not_found", N_("Case {number} has no ruling."), number=number)
    return rows[-1]


def _evidence_after(
    conn: Connection, case: Case, ids: list[int], party: Party, after: datetime
) -> tuple[int, ...]:
    """R12.1: the evidence an appeal brings must be this side's items on this case,
    added after the ruling."""
    assert case.id is not None
    items = {row.id: row for row in evidence_store.items_of_case(conn, case.id)}
    for item_id in ids:
        row = items.get(item_id)
        if row is None or row.party != party.value or row.created_at <= after:
            raise ValidationFailed(
                "appeal.evidence_not_new",
                N_("Evidence {id} is not evidence you added to this case after the ruling."),
                rule="R12.1",
                field="evidence",
                id=item_id,
            )
    return tuple(dict.fromkeys(ids))


def appeal(
    ctx: Context,
    actor: Actor,
    number: str,
    *,
    grounds: str,
    statement: str,
    evidence: list[int],
    expected_version: int | None = None,
) -> AppealView:
    """R12: appeal the latest ruling. The merchant (R12.1) appeals a ruling against it
    within ``merchant_window_workdays`` working days, with new evidence or a claimed
    misjudgment; another agent decides. A buyer (R12.2, where buyers appeal) appeals a
    ruling against them inside the appeal window, at most ``buyer_max_appeals`` times per
    case: the case goes back to intervention and a different agent rules again."""
    party = party_of(actor)
    if party is None:
        raise Forbidden(
            "appeal.parties_only", N_("Only the buyer or the merchant appeals."), rule="R12"
        )
    try:
        why = I.Grounds(grounds)
    except ValueError:
        raise ValidationFailed(
            "appeal.grounds_unknown",
            N_("Grounds must be new_evidence or misjudgment."),
            rule="R12.1",
            field="grounds",
        ) from None
    text = checked_text(statement, "statement", required=False)
    now = ctx.now()
    with ctx.db.write() as conn:
        case = load_case(conn, actor, number, write=True)
        require_permission(actor, Permission.FILE_APPEALS)  # R1.2: a grant of its own
        profile = profile_of(ctx, conn, case)
        rules = machine.appeal_rules(profile)
        last = _latest_ruling(conn, case, number)
        against_buyer = last.liability == Liability.BUYER.value
        if (party is Party.BUYER) != against_buyer:
            raise IllegalTransition(
                "appeal.not_against_you",
                N_("The latest ruling on case {number} is not against you."),
                rule="R12",
                number=number,
            )
        new = _evidence_after(conn, case, list(evidence), party, last.ruled_at)
        assert case.id is not None
        if party is Party.MERCHANT:
            I.check_merchant_appeal(
                rules,
                due=I.merchant_appeal_due(profile, rules, last.ruled_at),
                now=now,
                grounds=why,
                new_evidence=new,
                statement=text,
            )
            status, channel = "pending", rules.merchant_channel
        else:
            I.check_buyer_appeal(
                rules, sum(1 for a in store.appeals_of(conn, case.id) if a.party == "buyer")
            )
            if why is I.Grounds.NEW_EVIDENCE and not new:
                raise ValidationFailed(
                    "appeal.evidence_missing",
                    N_("An appeal on new evidence names evidence added after the ruling."),
                    rule="R12.2",
                    field="evidence",
                )
            status, channel = "reheard", "appeal"
        try:
            with conn.begin_nested():
                appeal_id = store.insert_appeal(
                    conn,
                    ruling_id=last.id,
                    case_id=case.id,
                    shop_id=case.shop_id,
                    party=party.value,
                    channel=channel,
                    filed_by=actor.id or party.value,
                    filed_at=now,
                    grounds=why.value,
                    statement=text,
                    evidence=list(new),
                    decide_by=I.appeal_decide_by(profile, rules, now),
                    status=status,
                )
        except IntegrityError:
            raise Conflict(
                "appeal.already_filed",
                N_("This ruling was already appealed."),
                rule="R12.2" if party is Party.BUYER else "R12.1",
            ) from None
        changes = {"appeal": {"id": appeal_id, "grounds": why.value, "ruling": last.id}}
        if party is Party.BUYER:
            round_id = open_round_row(
                conn, case, profile, actor, party, text or why.value, now, appeal_of=last
            )
            changes.update(round_changes(conn, round_id))
            engine.move(
                ctx,
                conn,
                actor,
                case,
                Command(Action.APPEAL, ActorKind.BUYER, note=text),
                expected_version,
                now,
                extra_changes=changes,
            )
        else:
            engine.note(conn, case, actor, Action.MERCHANT_APPEAL, "R12.1", changes, now)
        return appeal_view(known(store.appeal(conn, appeal_id)), case.number, False)


def decide_appeal(
    ctx: Context,
    actor: Actor,
    appeal_id: int,
    *,
    uphold: bool,
    note: str,
    expected_version: int | None = None,
) -> AppealView:
    """R12.1: an agent other than the one who ruled decides a merchant's appeal. Upheld:
    the ruling no longer counts against the shop (R13.1), a ruling not yet executed is
    overturned (the case closes), and what pay-first deducted is returned to the shop
    through the ledger."""
    require_agent(actor)
    text = checked_text(note, "note")
    now = ctx.now()
    with ctx.db.write() as conn:
        row = store.appeal(conn, appeal_id)
        if row is None or row.party != "merchant":
            raise NotFound("appeal.not_found", N_("Appeal {id} not found."), id=appeal_id)
        if row.status != "pending":
            raise Conflict(
                "appeal.already_decided",
                N_("Appeal {id} was already decided."),
                rule="R12.1",
                id=appeal_id,
            )
        if expected_version is not None and expected_version != row.version:
            raise Conflict(
                "appeal.conflict",
                N_("Appeal {id} changed since you read it; reload and try again."),
                id=appeal_id,
            )
        ruled = known(store.ruling(conn, row.ruling_id))
        if ruled.agent == actor.id:
            raise Forbidden(
                "appeal.same_agent",
                N_("An appeal is heard by a different agent than the one who ruled."),
                rule="R12",
            )
        case = case_store.load_case_by_id(conn, row.case_id)
        assert case is not None and case.id is not None
        refunded: list[int] = []
        if uphold:
            if case.state is State.AWAITING_EXECUTION:
                case = engine.move(
                    ctx,
                    conn,
                    actor,
                    case,
                    Command(Action.RULING_OVERTURNED, ActorKind.PLATFORM, note=text),
                    None,
                    now,
                    extra_changes={"appeal": {"id": appeal_id, "ruling": ruled.id}},
                )
            order = catalog_store.lock_and_load_order(conn, case.order_id)
            assert order is not None
            refunded.extend(
                money.refund_deduction_in(
                    conn,
                    case,
                    order,
                    f"appeal:{appeal_id}:refund",
                    now,
                    ctx.profiles.for_case(conn, case.profile_id, case.profile_version),
                )
            )
        if not store.update_appeal(
            conn,
            appeal_id,
            row.version,
            status="upheld" if uphold else "dismissed",
            reviewed_by=actor.id,
            decided_at=now,
            decision_note=text,
            refunded_entries=refunded,
        ):
            raise Conflict(
                "appeal.already_decided",
                N_("Appeal {id} was already decided."),
                rule="R12.1",
                id=appeal_id,
            )
        engine.note(
            conn,
            case,
            actor,
            Action.APPEAL_DECIDED,
            "R12.1",
            {"appeal": {"id": appeal_id, "upheld": uphold, "refunded_entries": refunded}},
            now,
        )
        return appeal_view(known(store.appeal(conn, appeal_id)), case.number, True)
