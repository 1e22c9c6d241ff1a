"""The database round trips of one case action over HTTP: approve-return (R5.1), from the
bearer token to the answer (and, with an Idempotency-Key, its stored copy).

One transaction with or without an Idempotency-Key: authentication, the key's claim (on
PostgreSQL with its advisory lock, in the same statement), the effect and the stored
answer commit together (test_idempotency.py pins what a concurrent retry sees). The
statements include SQLite's ``BEGIN IMMEDIATE`` (PostgreSQL begins without one).
"""

from __future__ import annotations

import pytest

from tests.api.support import X_MAIN, ApiWorld
from tests.roundtrips import count_roundtrips

BUDGET = {  # (statements, transactions)
    "with-key": (13, 1),
    "without-key": (13, 1),
}


@pytest.mark.parametrize("variant", sorted(BUDGET))
def test_R5_1_one_approve_return_over_http_stays_within_its_statement_and_transaction_budget(
    shared_world: ApiWorld, variant: str
) -> None:
    case = shared_world.open_case()
    headers = shared_world.headers(X_MAIN)
    if variant == "with-key":
        headers["Idempotency-Key"] = f"budget-{case}"
    with count_roundtrips(shared_world.ctx.db.engine) as seen:
        resp = shared_world.client.post(
            f"/api/v1/cases/{case}/approve-return", json={"expected_version": 1}, headers=headers
        )
    assert resp.status_code == 200, resp.text
    assert resp.json()["state"] == "awaiting_return"
    assert "ship_return" not in resp.json()["actions"]  # the merchant's view of its actions
    statements, transactions = BUDGET[variant]
    print(seen.report())
    assert seen.count <= statements, seen.report()
    assert seen.transactions <= transactions, seen.report()


def test_a_pushed_order_is_authenticated_and_recorded_in_one_transaction(
    shared_world: ApiWorld,
) -> None:
    """Every write request, not only case actions, checks its caller inside the one
    transaction that makes its effect (no separate read transaction for the token)."""
    with count_roundtrips(shared_world.ctx.db.engine) as seen:
        shared_world.push_order()
    print(seen.report())
    assert seen.transactions == 1, seen.report()
