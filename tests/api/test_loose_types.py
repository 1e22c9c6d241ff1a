"""Issue 11 §4, loosely typed input: counts, amounts, ids and versions are strict JSON
integers, booleans are `true`/`false`, times are RFC 3339 text with a time zone and days
`YYYY-MM-DD`. A query string or a path carries text: an integer there is its decimal
digits, a boolean `true` or `false`, and nothing else.

`"1"` was accepted as a quantity, `"100"` as an amount, `true` as quantity 1;
`{"expected_version": "1"}` executed a refund; a number was accepted as `created_to`; a
strategy's `max_days_since_signing: false` was stored as 0. The walk sends such values to
every integer, boolean, date-time and date slot of the served OpenAPI document.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from aftersales.store.schema import automation_strategies as strategies
from tests.api.schema_walk import Slot, error_fields, send, slots
from tests.api.support import ADMIN, BUYER_A, SHOP_X, X_MAIN, ApiWorld
from tests.conftest import storage_free

# Refused in a JSON body (the published schema refuses them too).
LOOSE_BODY: dict[str, list[Any]] = {
    "integer": ["1", True, 1.5, "0x10"],
    "boolean": [1, 0, "true", "false"],
    "date-time": [
        1_700_000_000,
        "1700000000",
        "2026-11-20 02:00:00Z",
        "2026-11-20T02:00Z",
        "2026-11-20T02:00:00+0800",
        "2026-11-20T02:00:00",
        "2026-11-20",
    ],
    "date": [20261120, "2026-11-20T00:00:00Z", "20261120", "2026-11-20 "],
}
# Refused as the text of a query or path parameter.
LOOSE_TEXT: dict[str, list[str]] = {
    "integer": ["1.5", "true", " 1", "+1", "1_0", "1e2"],
    "boolean": ["1", "0", "yes", "True", "on"],
    "date-time": ["1700000000", "0.5", "2026-11-20 02:00:00Z", "2026-11-20T02:00:00"],
}
# Accepted (the slot is not among the errors).
VALID = {
    "boolean": True,
    "date-time": "2026-11-20T10:00:00+08:00",
    "date": "2026-11-20",
}


def _typed(shared_world: ApiWorld) -> list[Slot]:
    return [
        s
        for s in slots(shared_world.app.openapi())
        if s.kind in ("integer", "boolean", "date-time", "date")
    ]


def _valid(slot: Slot) -> Any:
    if slot.kind == "integer":
        return int(slot.schema.get("minimum", 1))
    return VALID[slot.kind]


PYDANTIC_ONLY = {"ge", "gt", "le", "lt", "min_length", "max_length", "multiple_of", "strict"}


@storage_free("shared_world")  # the served schema only
def test_hardening_every_integer_in_the_schema_is_bounded(shared_world: ApiWorld) -> None:
    """The schema states each integer's range as JSON Schema says it (`minimum`,
    `maximum`), not as Pydantic's keywords, which every client would ignore."""
    found = slots(shared_world.app.openapi())
    stray = [
        f"{s}: {sorted(PYDANTIC_ONLY & set(s.schema))}"
        for s in found
        if PYDANTIC_ONLY & set(s.schema)
    ]
    assert not stray, stray
    unbounded = [
        str(s) for s in found if s.kind == "integer" and not {"minimum", "maximum"} <= set(s.schema)
    ]
    assert not unbounded, unbounded


def test_hardening_loose_numbers_booleans_and_times_are_422_naming_the_field(
    shared_world: ApiWorld,
) -> None:
    wrong = []
    count = 0
    for slot in _typed(shared_world):
        text = slot.where in ("path", "query")
        for value in (LOOSE_TEXT if text else LOOSE_BODY).get(slot.kind, []):
            count += 1
            if not text and slot.accepts(value):
                wrong.append(f"{slot} {value!r}: the schema accepts it")
            resp = send(shared_world, slot, value)
            if resp.status_code != 422 or slot.field not in error_fields(resp):
                wrong.append(f"{slot} {value!r}: {resp.status_code} {resp.text[:300]}")
        good = _valid(slot)
        sent = str(good).lower() if text else good
        if slot.field in error_fields(send(shared_world, slot, sent, inert=True)):
            wrong.append(f"{slot} {good!r}: refused")
    assert not wrong, "\n".join(wrong)
    assert count > 400, count


def test_hardening_expected_version_as_text_is_422_and_refunds_nothing(
    shared_world: ApiWorld,
) -> None:
    case = shared_world.open_case(type="refund_only", reason="defect")
    before = shared_world.ok(ADMIN, "GET", f"/api/v1/cases/{case}")
    for version in (str(before["version"]), True):
        resp = shared_world.call(
            X_MAIN, "POST", f"/api/v1/cases/{case}/approve-refund", {"expected_version": version}
        )
        assert resp.status_code == 422, resp.text
        assert error_fields(resp) == ["body.expected_version"], resp.text
    after = shared_world.ok(ADMIN, "GET", f"/api/v1/cases/{case}")
    assert (after["state"], after["version"]) == (before["state"], before["version"])


def test_hardening_quantity_and_amount_as_text_or_true_are_422(shared_world: ApiWorld) -> None:
    number, line = shared_world.push_order(SHOP_X)
    body = {
        "order_number": number,
        "type": "return_refund",
        "lines": [{"order_line_id": line, "quantity": "1"}],
        "reason": "changed_mind",
        "amount": "100",
    }
    resp = shared_world.call(BUYER_A, "POST", "/api/v1/cases", body)
    assert resp.status_code == 422, resp.text
    assert set(error_fields(resp)) == {"body.lines.0.quantity", "body.amount"}
    body = {**body, "lines": [{"order_line_id": line, "quantity": True}], "amount": 100}
    resp = shared_world.call(BUYER_A, "POST", "/api/v1/cases", body)
    assert error_fields(resp) == ["body.lines.0.quantity"], resp.text


def test_hardening_strategy_max_days_false_is_refused_not_stored_as_0(
    shared_world: ApiWorld,
) -> None:
    with shared_world.ctx.db.read() as conn:
        before = conn.execute(select(func.count()).select_from(strategies)).scalar_one()
    resp = shared_world.call(
        X_MAIN,
        "POST",
        f"/api/v1/shops/{SHOP_X}/strategies",
        {
            "kind": "auto_approve_return",
            "name": "Quick",
            "conditions": {"max_days_since_signing": False},
        },
    )
    assert resp.status_code == 422, resp.text
    assert error_fields(resp) == ["body.conditions.max_days_since_signing"]
    with shared_world.ctx.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(strategies)).scalar_one() == before
