"""Issue 11 §4, malformed bodies: JSON that does not parse, nests too deeply, is not UTF-8
or declares another charset is refused with a problem document naming `body` and saying
what is wrong where, in the caller's language. FastAPI answered a generic 400 naming
nothing, or named a byte offset as the field (`body.23`); a 100,000-deep body reached
Python's recursive parser."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from aftersales.api.common import JSON_MAX_DEPTH
from tests.api.schema_walk import INBOUND, Slot, send
from tests.api.support import SERVICE, ApiWorld
from tests.conftest import storage_free

JSON = {"Content-Type": "application/json"}
# A body is refused while it is read, before any use case runs: no storage decides it.
pytestmark = storage_free("shared_world")


def _post(
    shared_world: ApiWorld, raw: bytes, *, lang: str = "en", **headers: str
) -> httpx.Response:
    return shared_world.call(
        SERVICE,
        "POST",
        "/api/v1/orders",
        content=raw,
        headers={**JSON, "Accept-Language": lang, **headers},
    )


def _refusal(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = resp.json()
    assert problem["code"] == code, problem
    assert problem["errors"] == [{"field": "body", "code": code, "message": problem["detail"]}]
    return problem


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (b'{"number": "A1",\n "shop" "X"}', "a colon was expected at line 2, column 9"),
        (b'{"number": "A1",}', "a name in double quotes was expected at line 1, column 17"),
        (b'{"number": "A1"} []', "there is more after the value, at line 1, column 18"),
        (b'{"number": "A\x01"}', "a control character in a string must be escaped"),
        (b'{"number": "A1', "the string at line 1, column 12 is not closed"),
        (b"{not json", "a name in double quotes was expected at line 1, column 2"),
    ],
)
def test_hardening_malformed_json_names_the_body_and_where(
    shared_world: ApiWorld, raw: bytes, detail: str
) -> None:
    problem = _refusal(_post(shared_world, raw), 422, "json_invalid")
    assert detail in problem["detail"], problem
    zh = _refusal(_post(shared_world, raw, lang="zh-CN"), 422, "json_invalid")
    assert "JSON" in zh["detail"] and any("\u4e00" <= ch <= "\u9fff" for ch in zh["detail"])


@pytest.mark.parametrize("depth", [JSON_MAX_DEPTH + 1, 1_000, 100_000])
def test_hardening_deeply_nested_json_is_refused_before_parsing(
    shared_world: ApiWorld, depth: int
) -> None:
    problem = _refusal(_post(shared_world, _nested(depth)), 422, "json_too_deep")
    assert f"deeper than {JSON_MAX_DEPTH} levels" in problem["detail"]
    assert shared_world.call(SERVICE, "GET", "/api/health").status_code == 200


def test_hardening_json_nested_up_to_the_limit_is_parsed(shared_world: ApiWorld) -> None:
    """At the limit the body is read (and then refused for its shape, not its depth);
    brackets inside strings are text, not nesting."""
    for raw in (_nested(JSON_MAX_DEPTH), b'{"number": "' + b"[" * 5_000 + b'"}'):
        resp = _post(shared_world, raw)
        assert resp.status_code == 422, resp.text
        assert {e["code"] for e in resp.json()["errors"]} & {
            "json_too_deep",
            "json_invalid",
        } == set()


def test_hardening_body_that_is_not_utf8_is_refused(shared_world: ApiWorld) -> None:
    latin1 = '{"number": "Café"}'.encode("latin-1")
    problem = _refusal(_post(shared_world, latin1), 422, "json_not_utf8")
    assert "not UTF-8 encoded (the byte at offset 15)" in problem["detail"]
    utf16 = '{"number": "A1"}'.encode("utf-16")  # json.loads(bytes) would have read it
    _refusal(_post(shared_world, utf16), 422, "json_not_utf8")
    bom = b"\xef\xbb\xbf" + _nested(1)  # RFC 8259 §8.1: a UTF-8 byte order mark is ignored
    assert _post(shared_world, bom).json()["errors"][0]["code"] != "json_invalid"


def test_hardening_charset_other_than_utf8_is_415(shared_world: ApiWorld) -> None:
    content_type = "application/json; charset=latin-1"
    body = b'{"number": "A1"}'
    problem = _refusal(
        _post(shared_world, body, **{"Content-Type": content_type}), 415, "charset_unsupported"
    )
    assert problem["detail"] == "The charset latin-1 is not supported; send the body as UTF-8."
    ok = _post(shared_world, body, **{"Content-Type": 'application/json; charset="UTF-8"'})
    assert ok.status_code == 422 and "body.shop" in [e["field"] for e in ok.json()["errors"]]


def test_hardening_signed_inbound_body_is_read_as_strictly(shared_world: ApiWorld) -> None:
    """The signed warehouse endpoint parses its verified body with the same reader."""
    slot = Slot("POST", INBOUND, "body", ("note",), {"type": "string"})
    assert send(shared_world, slot, "fine").status_code == 422  # the other fields are missing
    for raw, code in ((b"{,}", "json_invalid"), (_nested(100_000), "json_too_deep")):
        _refusal(send(shared_world, slot, None, raw=raw), 422, code)
