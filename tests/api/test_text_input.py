"""Issue 11 §2, text input: every string the API accepts (body, multipart form, path and
query) is one validated text type (`aftersales.api.common.Text` / `FreeText`). NUL, other
control characters (free text keeps tab and line breaks) and lone surrogates are refused
with a 422 naming the field, in the caller's language, before anything reaches the
database; every string is bounded; and the published schema refuses exactly what the
validation refuses.

The walk reads every string slot from the served OpenAPI document (request bodies with
their nested objects, arrays and union branches, multipart fields, path and query
parameters), so a field added later is covered the day it is added.
"""

from __future__ import annotations

from sqlalchemy import func, select

from aftersales.store.schema import orders, shops
from tests.api.schema_walk import Slot, error_fields, send, slots
from tests.api.support import ADMIN, ANONYMOUS, PASSWORD, SERVICE, SHOP_X, ApiWorld
from tests.conftest import storage_free

BAD = {
    "NUL": "a\x00b",
    "C0 control": "a\x1bb",
    "C1 control": "a\x85b",
    "lone surrogate": "a\ud800b",  # bodies only: a URL carries UTF-8, which cannot hold one
}
TEXT_KINDS = ("string", "enum", "date-time", "date")


def _text_slots(shared_world: ApiWorld) -> list[Slot]:
    return [s for s in slots(shared_world.app.openapi()) if s.kind in TEXT_KINDS]


def _sent(slot: Slot) -> bool:
    """HTTP cannot carry a control character in a header (clients refuse to send one)."""
    return slot.where != "header"


@storage_free("shared_world")  # the served schema only
def test_hardening_every_string_is_bounded_and_its_schema_refuses_control_characters(
    shared_world: ApiWorld,
) -> None:
    """The schema states the rule, so clients and fuzzers see it: a `maxLength` on every
    free string, and a `pattern` (or enum, or format) that refuses NUL and controls."""
    found = _text_slots(shared_world)
    assert len(found) > 250, len(found)
    unbounded = [str(s) for s in found if s.kind == "string" and "maxLength" not in s.schema]
    assert not unbounded, unbounded
    loose = [
        f"{s} accepts {name}"
        for s in found
        for name, value in BAD.items()
        if name != "lone surrogate" and s.accepts(value)
    ]
    assert not loose, loose


def test_hardening_control_characters_in_every_string_are_422_naming_the_field(
    shared_world: ApiWorld,
) -> None:
    """NUL gave 500 on PostgreSQL (psycopg.DataError) and was stored on SQLite."""
    wrong = []
    count = 0
    for slot in filter(_sent, _text_slots(shared_world)):
        for name, value in BAD.items():
            if name == "lone surrogate" and slot.where not in ("body",):
                continue
            count += 1
            resp = send(shared_world, slot, value)
            if resp.status_code != 422 or slot.field not in error_fields(resp):
                wrong.append(f"{slot} {name}: {resp.status_code} {resp.text[:300]}")
    assert not wrong, "\n".join(wrong)
    assert count > 700, count


def test_hardening_free_text_keeps_line_breaks_and_single_lines_refuse_them(
    shared_world: ApiWorld,
) -> None:
    """Tab and line breaks: allowed where the schema allows them (descriptions, messages,
    notes, reasons, addresses), refused naming the field everywhere else."""
    wrong = []
    for slot in filter(_sent, _text_slots(shared_world)):
        value = "a\tb\r\nc"
        named = slot.field in error_fields(send(shared_world, slot, value, inert=True))
        if named == slot.accepts(value):
            wrong.append(f"{slot}: schema accepts {slot.accepts(value)}, API refuses {named}")
    assert not wrong, "\n".join(wrong)


# --------------------------------------------------------------------------- the report's cases
ISSUE_CASES = [
    # (principal, method, path, body or None, field)
    (
        ANONYMOUS,
        "POST",
        "/api/v1/auth/login",
        {"login": "ad\x00min", "password": "x"},
        "body.login",
    ),
    (
        ADMIN,
        "POST",
        "/api/v1/shops",
        {"code": "NULSHOP", "name": "Shop\x00", "return_address": "1 Rd"},
        "body.name",
    ),
    (ADMIN, "PATCH", f"/api/v1/shops/{SHOP_X}", {"name": "Shop\x00"}, "body.name"),
    (ADMIN, "GET", "/api/v1/cases?buyer_name=Li%00Lei", None, "query.buyer_name"),
    (ADMIN, "GET", "/api/v1/shops/SHOP%00X", None, "path.code"),
    (ADMIN, "GET", "/api/v1/orders/ORD%0000001", None, "path.number"),
    (ADMIN, "POST", "/api/v1/tokens", {"name": "ci\x00", "scopes": ["cases:read"]}, "body.name"),
    (
        ADMIN,
        "POST",
        "/api/v1/accounts",
        {"kind": "agent", "login": "agent\x00x", "password": "long enough password"},
        "body.login",
    ),
]


def test_hardening_nul_byte_in_login_shop_order_and_names_is_422_and_stores_nothing(
    shared_world: ApiWorld,
) -> None:
    with shared_world.ctx.db.read() as conn:
        before = conn.execute(select(func.count()).select_from(shops)).scalar_one()
    for principal, method, path, body, field in ISSUE_CASES:
        for lang, han in (("en", False), ("zh-CN", True)):
            resp = shared_world.call(
                principal, method, path, body, headers={"Accept-Language": lang}
            )
            assert resp.status_code == 422, (path, resp.text)
            assert resp.headers["content-type"].startswith("application/problem+json")
            [error] = [e for e in resp.json()["errors"] if e["field"] == field]
            assert error["code"] == "text_control_character", error
            assert "U+0000" in error["message"]
            assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"]) is han, error
    order = {
        "number": "NUL-1",
        "shop": SHOP_X,
        "buyer": {"ref": "nul-buyer", "name": "Li\x00Lei", "phone": "13800000000"},
        "currency": "CNY",
        "lines": [{"sku": "T\x00EE", "title": "T", "quantity": 1, "unit_price": 1, "paid": 1}],
        "paid_at": "2026-11-19T00:00:00Z",
    }
    resp = shared_world.call(SERVICE, "POST", "/api/v1/orders", order)
    assert resp.status_code == 422, resp.text
    assert {"body.buyer.name", "body.lines.0.sku"} <= set(error_fields(resp))
    with shared_world.ctx.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(shops)).scalar_one() == before
        numbers = conn.execute(select(orders.c.number)).scalars().all()
    assert "NUL-1" not in numbers


def test_hardening_latin1_bytes_in_credential_headers_are_refused_not_500(
    shared_world: ApiWorld,
) -> None:
    """A header carries any Latin-1 byte: an X-CSRF-Token of `é` reached compare_digest as
    a non-ASCII str (TypeError, 500); a token or session cookie of such bytes is a 401."""
    login = shared_world.client.post(
        "/api/v1/auth/login", json={"login": "admin", "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    csrf = shared_world.client.post(
        "/api/v1/tokens",
        json={"name": "t", "scopes": ["cases:read"]},
        headers=[(b"X-CSRF-Token", "é".encode("latin-1"))],
    )
    shared_world.client.cookies.clear()
    assert (csrf.status_code, csrf.json()["code"]) == (403, "auth.csrf_failed"), csrf.text
    for name, value in (
        (b"Authorization", "Bearer ast_é_\x01".encode("latin-1")),
        (b"Cookie", "aftersales_session=é\x7f".encode("latin-1")),
    ):
        resp = shared_world.client.get("/api/v1/me", headers=[(name, value)])
        assert resp.status_code == 401, resp.text
