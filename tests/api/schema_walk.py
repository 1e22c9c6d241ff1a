"""Every input slot the OpenAPI document declares, and a request that puts one value in
one slot, for the tests that send bad values to every field (issue 11, §2 and §4).

A slot is a string, integer, boolean or date-time leaf of an operation's input: a path or
query parameter (array items included), a header parameter, or a field of the JSON or
multipart request body (nested objects, arrays and every branch of a union included). The
slots are read from the served schema, so a field added tomorrow is walked tomorrow.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import jsonschema_rs

from aftersales.services import webhooks
from tests.api.support import ADMIN, SHOP_X, ApiWorld

INBOUND = "/api/v1/inbound/warehouse/{code}"

# A value the published schema accepts, for a path parameter that is not under test.
PATH_EXAMPLES = {
    "code": SHOP_X,
    "number": "AS20261120000001",
    "ref": "buyer-a",
    "sku": "TEE",
}


@dataclass(frozen=True)
class Slot:
    method: str
    path: str  # the template, e.g. /api/v1/shops/{code}
    where: str  # path, query, header, body (JSON) or form (multipart)
    keys: tuple[str | int, ...]  # the parameter name, or the body field's path
    schema: dict[str, Any]  # the leaf's schema, references resolved

    @property
    def kind(self) -> str:
        """string, enum, date-time, date, file, integer, boolean or number."""
        if "enum" in self.schema or "const" in self.schema:
            return "enum"
        if "contentMediaType" in self.schema or self.schema.get("format") == "binary":
            return "file"
        if self.schema.get("format") in ("date-time", "date"):
            return str(self.schema["format"])
        return str(self.schema.get("type"))

    @property
    def field(self) -> str:
        """The name a 422 gives it: body.buyer.name, query.reason.0, path.code."""
        head = "body" if self.where in ("body", "form") else self.where
        return ".".join(str(k) for k in (head, *self.keys))

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.field}"

    def accepts(self, value: Any) -> bool:
        """Whether the published schema allows the value in this slot."""
        return bool(jsonschema_rs.validator_for(self.schema, validate_formats=True).is_valid(value))


def _resolve(node: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = components[node["$ref"].rsplit("/", 1)[-1]]
    return node


def _leaves(
    node: dict[str, Any], keys: tuple[str | int, ...], components: dict[str, Any]
) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    node = _resolve(node, components)
    branches = [*node.get("anyOf", []), *node.get("oneOf", []), *node.get("allOf", [])]
    for branch in branches:
        yield from _leaves(branch, keys, components)
    kind = node.get("type")
    if kind == "array":
        yield from _leaves(node.get("items", {}), (*keys, 0), components)
    elif kind == "object" or "properties" in node:
        for name, sub in node.get("properties", {}).items():
            yield from _leaves(sub, (*keys, name), components)
    elif kind in ("string", "integer", "boolean", "number"):
        yield keys, node


def slots(openapi: dict[str, Any]) -> list[Slot]:
    components = openapi.get("components", {}).get("schemas", {})
    found: list[Slot] = []
    for path, item in openapi["paths"].items():
        for method, op in item.items():
            if method == "head":  # the same parameters as its GET, and no body to read
                continue
            for param in op.get("parameters", []):
                for keys, leaf in _leaves(param["schema"], (param["name"],), components):
                    found.append(Slot(method.upper(), path, param["in"], keys, leaf))
            for media, content in op.get("requestBody", {}).get("content", {}).items():
                where = "form" if media.startswith("multipart/") else "body"
                for keys, leaf in _leaves(content["schema"], (), components):
                    found.append(Slot(method.upper(), path, where, keys, leaf))
    unique: dict[tuple[str, str, str], Slot] = {}  # a field of several union branches
    for slot in found:
        unique.setdefault((slot.method, slot.path, slot.field), slot)
    return list(unique.values())


def _nest(keys: tuple[str | int, ...], value: Any) -> Any:
    """{"buyer": {"name": value}} for ("buyer", "name"); lists for integer keys."""
    for key in reversed(keys):
        value = [value] if isinstance(key, int) else {key: value}
    return value


def _path_value(name: str, schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return str(schema["enum"][0])
    if schema.get("type") == "integer":
        return "1"
    return PATH_EXAMPLES.get(name, "x")


def send(
    world: ApiWorld,
    slot: Slot,
    value: Any,
    *,
    lang: str = "en",
    inert: bool = False,
    raw: bytes | None = None,
) -> httpx.Response:
    """One request with `value` in `slot` (a query or path value as its text), made as the
    platform admin so that it passes authentication and reaches validation. `inert`: a
    POST also carries a malformed Idempotency-Key, so that a request valid in every other
    respect is refused too (a valid value must not revoke the admin's own token). `raw`:
    these bytes as the JSON body instead."""
    openapi = world.app.openapi()
    op = openapi["paths"][slot.path][slot.method.lower()]
    params = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "path"}
    url = slot.path
    for name, param in params.items():
        if slot.where == "path" and slot.keys == (name,):
            text = value if isinstance(value, str) else json.dumps(value)
        else:
            text = _path_value(name, param["schema"])
        url = url.replace("{" + name + "}", quote(text, safe=""))
    headers = {**world.headers(ADMIN), "Accept-Language": lang}
    # The upload route reads its form only after its headers are valid; its form slots
    # stay inert without the trick (the walk sends no valid file).
    if inert and slot.method == "POST" and slot.where != "form":
        headers["Idempotency-Key"] = "not a key"
    query: dict[str, Any] = {}
    if slot.where == "query":
        query[str(slot.keys[0])] = value if isinstance(value, str) else json.dumps(value)
    kwargs: dict[str, Any] = {}
    if slot.where == "body":
        raw = json.dumps(_nest(slot.keys, value)).encode() if raw is None else raw
        kwargs["content"] = raw
        headers["Content-Type"] = "application/json"
        if slot.path == INBOUND:
            headers.update(_signed(world, raw))
    elif slot.where == "form":
        kwargs["data"] = {str(slot.keys[0]): value}
        kwargs["files"] = {"file": ("x.jpg", b"\xff\xd8\xff", "image/jpeg")}
    elif slot.method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = {}
    try:
        return world.client.request(slot.method, url, params=query, headers=headers, **kwargs)
    finally:
        world.client.cookies.clear()


_secrets: dict[int, str] = {}


def _signed(world: ApiWorld, raw: bytes) -> dict[str, str]:
    """Standard Webhooks headers for shop X's warehouse secret (made on first use)."""
    if id(world) not in _secrets:
        got = world.ok(ADMIN, "POST", f"/api/v1/shops/{SHOP_X}/warehouse-secret")
        _secrets[id(world)] = got["secret"]
    stamp = int(world.clock.now.astimezone(UTC).timestamp())
    msg = f"msg_{datetime.now(UTC).timestamp()}"
    return webhooks.signature_headers(_secrets[id(world)], msg, stamp, raw)


def error_fields(resp: httpx.Response) -> list[str]:
    if resp.status_code != 422:
        return []
    return [e["field"] for e in resp.json().get("errors", [])]
