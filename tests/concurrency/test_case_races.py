"""R5: two people act on one case at the same moment. Optimistic locking lets exactly one
write win; the other gets ``Conflict`` and changes nothing (one timeline entry, one deadline).

Each racer has its own Context and therefore its own connection/transaction from the same
Database. On PostgreSQL both may read the case, then the second ``UPDATE ... WHERE version = v``
waits on the row lock and matches nothing once the first commits. On SQLite ``BEGIN
IMMEDIATE`` makes the second wait for the write lock, then it reads the new version and its
``expected_version`` is stale. Either way: Conflict.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from aftersales.domain.case_types import CaseType
from aftersales.domain.errors import Conflict
from aftersales.domain.policy import EvidenceKind
from aftersales.services import cases as svc
from aftersales.services.context import Context
from aftersales.store import deadlines as deadline_store
from tests.conftest import FakeClock, make_context
from tests.evidence.proof import proof
from tests.factories import make_world

ROUNDS = 20

Action = Callable[[Context, Any, str, int], Any]


def _approve_return(ctx: Context, actor: Any, number: str, version: int) -> Any:
    return svc.approve_return(ctx, actor, number, expected_version=version)


PROOF: dict[str, list[int]] = {}  # each case's shop evidence, uploaded before the race


def _reject(ctx: Context, actor: Any, number: str, version: int) -> Any:
    return svc.reject(
        ctx,
        actor,
        number,
        refusal_code="buyer_agreed_to_cancel",
        evidence_ids=PROOF[number],
        note="agreed in chat",
        expected_version=version,
    )


def _counter_offer(ctx: Context, actor: Any, number: str, version: int) -> Any:
    return svc.counter_offer(ctx, actor, number, amount=5_000, expected_version=version)


# (first racer, second racer): different actions and the same action twice
PAIRS: list[tuple[Action, Action]] = [
    (_approve_return, _reject),
    (_approve_return, _approve_return),
    (_reject, _counter_offer),
    (_counter_offer, _counter_offer),
]


def _race(
    contexts: list[Context], actions: list[Action], actor: Any, number: str, version: int
) -> list[Any]:
    """Run the actions at once, one thread and one Context each; return result or exception."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[Any] = [None] * len(actions)

    def run(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            outcomes[i] = actions[i](contexts[i], actor, number, version)
        except Exception as exc:  # the test inspects it
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive(), "a racer hung"
    return outcomes


@pytest.mark.slow
def test_R5_two_connections_act_on_one_case_one_wins_one_conflicts(db, clock: FakeClock):
    ctx = make_context(db, clock)
    w = make_world(ctx)
    racers = [make_context(db, clock), make_context(db, clock)]
    winners = {0: 0, 1: 0}
    for round_ in range(ROUNDS):
        number = w.open(type=CaseType.RETURN_REFUND)
        PROOF[number] = proof(ctx, w.merchant, number, EvidenceKind.CHAT_LOG)  # R5.5
        version = svc.get_case(ctx, w.merchant, number).case.version
        pair = list(PAIRS[round_ % len(PAIRS)])
        outcomes = _race(racers, pair, w.merchant, number, version)

        ok = [i for i, o in enumerate(outcomes) if not isinstance(o, Exception)]
        failed = [o for o in outcomes if isinstance(o, Exception)]
        assert len(ok) == 1, f"round {round_}: {outcomes!r}"
        assert len(failed) == 1 and isinstance(failed[0], Conflict), (
            f"round {round_}: the loser raised {failed[0]!r}, not Conflict"
        )
        winners[ok[0]] += 1
        won = outcomes[ok[0]]

        view = svc.get_case(ctx, w.merchant, number)
        assert view.case.version == version + 1
        assert view.case.state is won.state
        won_action = pair[ok[0]].__name__.lstrip("_")
        assert [e.action for e in view.timeline] == ["open", "evidence_added", won_action]
        assert [e.seq for e in view.timeline] == [1, 2, 3]
        assert view.refunds == []
        pending = [d for d in view.deadlines if d.status == "pending"]
        expected = [view.case.deadline_kind.value] if view.case.deadline_kind else []
        assert [d.kind for d in pending] == expected, "the loser left a deadline behind"
        with db.read() as conn:
            assert deadline_store.pending_count(conn) == len(expected) * (round_ + 1)
    # informational: both racers won sometimes is likely but not required
    print(f"[{db.dialect}] wins per racer over {ROUNDS} rounds: {winners}")
