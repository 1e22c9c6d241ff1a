"""Shared pieces of the v1 routers."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from itertools import accumulate
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias
from zoneinfo import available_timezones

from annotated_types import Ge, GroupedMetadata, Le
from fastapi import APIRouter, Request, Response, params
from fastapi.routing import APIRoute
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    Strict,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from aftersales.api.problems import Problem, UnsupportedMediaType
from aftersales.domain.errors import ValidationFailed
from aftersales.domain.i18n import N_

_DESCRIPTIONS = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden: the caller may see the object but not do this",
    404: "Not found (or not visible to the caller)",
    409: "Conflict: the state machine, a stale version or an in-flight Idempotency-Key",
    415: "Unsupported media type: send JSON bodies as UTF-8",
    422: "Invalid request: `errors` names each field",
    429: "Too many requests",
}

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "description": text} for code, text in _DESCRIPTIONS.items()
}


# --------------------------------------------------------------------------- numbers, times
def _json_integer(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("int_type", "expected an integer")
    return value


@dataclass(frozen=True)
class Rules(GroupedMetadata):
    """The constraints and checks of one kind of input, as the metadata of an `Annotated`
    type: `Annotated[str, Text(40)]`, `Annotated[int, Int(1, 100)]`. (A function returning
    a whole `Annotated` type would be shorter to write, but no type checker can read a call
    in an annotation.) Nested groups (`StringConstraints`) are spread out, since pydantic
    expands one level only."""

    items: tuple[Any, ...]

    def __iter__(self) -> Iterator[Any]:
        for item in self.items:
            if isinstance(item, GroupedMetadata):
                yield from item
            else:
                yield item


def Int(minimum: int, maximum: int) -> Rules:
    """A JSON integer from `minimum` to `maximum` (counts, amounts, ids, versions): never
    `"1"` or `true`. An integral number written `2.0` is the integer 2, as JSON Schema's
    `integer` says; `2.5` is refused. The type is `Annotated[int, Int(minimum, maximum)]`."""
    return Rules((Ge(minimum), Le(maximum), BeforeValidator(_json_integer)))


Bool = Annotated[bool, Strict()]
"""`true` or `false`: never `1` or `"true"`."""


_INTEGER = re.compile(r"-?[0-9]{1,19}")


def _query_int(value: Any) -> Any:
    if isinstance(value, str) and not _INTEGER.fullmatch(value):
        raise PydanticCustomError("int_parsing", "expected an integer")
    return value


def _query_bool(value: Any) -> Any:
    if isinstance(value, str) and value not in ("true", "false"):
        raise PydanticCustomError("bool_parsing", "expected true or false")
    return value


def QueryInt(minimum: int, maximum: int) -> Rules:
    """An integer from `minimum` to `maximum` in a query string or a path: its decimal
    digits, nothing else (the bounds inside, so that the schema states them). The type is
    `Annotated[int, QueryInt(minimum, maximum)]`."""
    return Rules((Ge(minimum), Le(maximum), BeforeValidator(_query_int)))


QueryBool = Annotated[bool, BeforeValidator(_query_bool)]
"""A boolean in a query string: `true` or `false`."""

MOMENT_MAX_LENGTH = 64
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _rfc3339(value: Any) -> Any:
    """RFC 3339 text with a time zone (`2026-11-20T10:00:00+08:00`, `...Z`): Pydantic's lax
    mode would also read a number as a Unix time stamp, a space for the `T`, or `+0800`."""
    if isinstance(value, datetime):
        return value
    if not (
        isinstance(value, str) and len(value) <= MOMENT_MAX_LENGTH and _RFC3339.fullmatch(value)
    ):
        raise PydanticCustomError("datetime_rfc3339", "expected an RFC 3339 date-time")
    return value


def _utc_representable(value: datetime) -> datetime:
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError("datetime_range", "out of range") from None
    return value


Moment = Annotated[
    AwareDatetime,
    BeforeValidator(_rfc3339),
    AfterValidator(_utc_representable),
    WithJsonSchema({"type": "string", "format": "date-time", "maxLength": MOMENT_MAX_LENGTH}),
]
"""Every date-time the API accepts (bodies and query strings): RFC 3339 with a time zone."""


def _full_date(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not (isinstance(value, str) and _DAY.fullmatch(value)):
        raise PydanticCustomError("date_rfc3339", "expected an RFC 3339 full-date")
    return value


Day = Annotated[
    date,
    BeforeValidator(_full_date),
    WithJsonSchema({"type": "string", "format": "date", "maxLength": 10}),
]
"""A calendar day: `YYYY-MM-DD` (RFC 3339 full-date), never a number or a date-time."""


# --------------------------------------------------------------------------- JSON bodies
JSON_MAX_DEPTH = 64
"""How deeply a request body may nest arrays and objects (docs/api.md). The API's deepest
body nests 4 levels; Python's parser would raise RecursionError near 1,000."""

# json's messages, each with the sentence that explains it to a person.
_JSON_ERRORS = {
    "Expecting value": N_(
        "The body is not valid JSON: a value was expected at line {line}, column {column}."
    ),
    "Expecting ',' delimiter": N_(
        "The body is not valid JSON: a comma was expected at line {line}, column {column}."
    ),
    "Expecting ':' delimiter": N_(
        "The body is not valid JSON: a colon was expected at line {line}, column {column}."
    ),
    "Expecting property name enclosed in double quotes": N_(
        "The body is not valid JSON: a name in double quotes was expected at line {line}, "
        "column {column}."
    ),
    "Unterminated string starting at": N_(
        "The body is not valid JSON: the string at line {line}, column {column} is not closed."
    ),
    "Invalid control character at": N_(
        "The body is not valid JSON: a control character in a string must be escaped (line "
        "{line}, column {column})."
    ),
    "Invalid \\escape": N_(
        "The body is not valid JSON: an invalid escape at line {line}, column {column}."
    ),
    "Invalid \\uXXXX escape": N_(
        "The body is not valid JSON: an invalid escape at line {line}, column {column}."
    ),
    "Extra data": N_(
        "The body is not valid JSON: there is more after the value, at line {line}, column "
        "{column}."
    ),
}
_JSON_UNEXPECTED = N_(
    "The body is not valid JSON: unexpected character at line {line}, column {column}."
)
# A JSON string (with its escapes), so that brackets inside strings do not count as nesting.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_NESTING = {"[": 1, "{": 1, "]": -1, "}": -1}


def _nesting(text: str) -> int:
    """How deeply the text nests arrays and objects: a cheap scan before parsing, so a
    100,000-deep body costs milliseconds and never reaches the recursive parser."""
    if text.count("[") + text.count("{") <= JSON_MAX_DEPTH:
        return 0
    brackets = _NOT_BRACKETS.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(_NESTING[c] for c in brackets), default=0)


def _body_error(code: str, message: str, **params: Any) -> ValidationFailed:
    return ValidationFailed(code, message, field="body", **params)


def json_charset(content_type: str | None) -> str | None:
    """The charset a Content-Type declares (lower case), if it declares one."""
    for part in (content_type or "").split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


def is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def load_json(raw: bytes, content_type: str | None = None) -> Any:
    """A request body's JSON value, read strictly (RFC 8259): UTF-8 (a charset other than
    UTF-8 is refused: 415), nested at most `JSON_MAX_DEPTH` levels, one JSON value. Every
    refusal names the field `body` and says what is wrong where."""
    charset = json_charset(content_type)
    if charset not in (None, "utf-8", "utf8"):
        raise UnsupportedMediaType(
            "charset_unsupported",
            N_("The charset {charset} is not supported; send the body as UTF-8."),
            field="body",
            charset=charset,
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _body_error(
            "json_not_utf8",
            N_("The body is not UTF-8 encoded (the byte at offset {offset})."),
            offset=exc.start,
        ) from None
    text = text.removeprefix("\ufeff")  # RFC 8259 §8.1: a byte order mark may be ignored
    if _nesting(text) > JSON_MAX_DEPTH:
        raise _body_error(
            "json_too_deep",
            N_("The body nests arrays and objects deeper than {max_depth} levels."),
            max_depth=JSON_MAX_DEPTH,
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _body_error(
            "json_invalid",
            _JSON_ERRORS.get(exc.msg, _JSON_UNEXPECTED),
            line=exc.lineno,
            column=exc.colno,
        ) from None


class JsonBodyRoute(APIRoute):
    """Reads a route's JSON body with `load_json` before FastAPI parses it, so malformed,
    too deep or non-UTF-8 JSON is refused naming `body` (FastAPI answers a bare 400, or
    names the byte offset as the field)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None or isinstance(self.body_field.field_info, params.Form):
            return handler

        async def checked(request: Request) -> Response:
            content_type = request.headers.get("content-type")
            if is_json(content_type):
                body = await request.body()  # kept on the request: FastAPI reads it again
                if body:
                    load_json(body, content_type)
            return await handler(request)

        return checked


def router(prefix: str, tag: str) -> APIRouter:
    return APIRouter(
        prefix=f"/api/v1{prefix}", tags=[tag], responses=ERRORS, route_class=JsonBodyRoute
    )


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(
        [v.isoformat() if isinstance(v, datetime) else v for v in values], separators=(",", ":")
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != size:
            raise ValueError
        return values
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed(
            "cursor.invalid",
            N_("The cursor is not one this API returned."),
            field="cursor",
        ) from None


NEW_PASSWORD_MARK = "x-new-password"
PROFILE_MARK = "x-policy-profile"

if TYPE_CHECKING:
    Timezone: TypeAlias = str  # its members are str; mypy cannot list the members below
else:
    Timezone = StrEnum(
        "Timezone", [(name, name) for name in sorted(available_timezones() - {"localtime"})]
    )
"""An IANA time zone (`Asia/Shanghai`): the schema lists them."""


def profile_field(**kw: Any) -> Any:
    """A policy profile id: the served schema lists the deployment's profiles
    (`document_profiles`), the service refuses another (422 naming the field)."""
    return Field(json_schema_extra={PROFILE_MARK: True}, **kw)


def document_profiles(schema: dict[str, Any], profiles: list[str]) -> None:
    """States the deployment's policy profiles as the enum of every `profile_field()`."""
    for model in schema.get("components", {}).get("schemas", {}).values():
        for prop in model.get("properties", {}).values():
            if prop.pop(PROFILE_MARK, False):
                for variant in [prop, *prop.get("anyOf", [])]:
                    if variant.get("type") == "string":
                        variant.pop("pattern", None)
                        variant["enum"] = profiles


def password_field(**kw: Any) -> Any:
    """A password being set (of type `Password`). The deployment's minimum length is checked
    by the service and stated in the served schema (`create_app` rewrites the marked
    fields)."""
    return Field(json_schema_extra={NEW_PASSWORD_MARK: True}, **kw)


# --------------------------------------------------------------------------- text
# Every string the API accepts (body, path, query, form) is a `Text` or a `FreeText`:
# bounded, with NUL and the other control characters (Unicode category Cc) refused (free
# text keeps tab, line feed and carriage return) and lone surrogates refused, so no such
# character reaches the database. The published schema states the same rule as a
# `pattern`; a field with a pattern of its own (codes, URLs) states that one instead, and
# it must refuse control characters as well (tests/api/test_text_input.py checks that the
# schema and the validation refuse the same characters in every field).
_CONTROLS = r"\x00-\x1f\x7f-\x9f"
_CONTROLS_BUT_LINES = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_LINE_BREAKS = frozenset("\t\n\r")
# White space, spelled out so that the schema (ECMA-262 regex) and Python agree.
_SPACES = r"\t\n\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_VISIBLE = re.compile(rf"[^{_SPACES}]")
LINE_CHAR = rf"[^{_CONTROLS}]"
"""A character of a single line, to compose a field's own pattern: `^https?://{LINE_CHAR}*$`."""
_REFUSED_LINE = re.compile(rf"[{_CONTROLS}\ud800-\udfff]")
_REFUSED_FREE = re.compile(rf"[{_CONTROLS_BUT_LINES}\ud800-\udfff]")


def _text_pattern(excluded: str, blank: bool) -> str:
    if blank:
        return rf"^[^{excluded}]*$"
    return rf"^[^{excluded}]*[^{_SPACES}{excluded}][^{excluded}]*$"


@dataclass(frozen=True)
class _TextRule:
    """Refuses control characters and lone surrogates (and, unless `blank`, text with no
    visible character); states the rule as the schema's `pattern`."""

    multiline: bool
    blank: bool

    @property
    def _excluded(self) -> str:
        return _CONTROLS_BUT_LINES if self.multiline else _CONTROLS

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.setdefault("pattern", _text_pattern(self._excluded, self.blank))
        return json_schema

    def check(self, value: str) -> str:
        bad = (_REFUSED_FREE if self.multiline else _REFUSED_LINE).search(value)
        if bad is not None:
            char = bad.group()
            where = {"character": f"U+{ord(char):04X}", "position": bad.start() + 1}
            if "\ud800" <= char <= "\udfff":
                raise PydanticCustomError("text_surrogate", "a lone surrogate", where)
            if char in _LINE_BREAKS:
                raise PydanticCustomError("text_line_break", "one line expected", where)
            raise PydanticCustomError("text_control_character", "a control character", where)
        if not self.blank and _VISIBLE.search(value) is None:
            raise PydanticCustomError("text_blank", "no visible character")
        return value


def Text(
    max_length: int, *, min_length: int = 0, pattern: str | None = None, blank: bool = True
) -> Rules:
    """One line of text of at most `max_length` characters (names, codes, references): no
    control characters at all. `blank=False`: at least one visible character. The type is
    `Annotated[str, Text(...)]`: a body field's, or inside `Annotated[..., Path()]` /
    `Query()` / `Form()`."""
    return Rules(
        (
            StringConstraints(
                min_length=min_length or None, max_length=max_length, pattern=pattern
            ),
            _TextRule(multiline=False, blank=blank),
        )
    )


def FreeText(max_length: int, *, min_length: int = 0, blank: bool = True) -> Rules:
    """Text a person writes (descriptions, messages, notes, reasons, addresses): tab and
    line breaks allowed, other control characters not. The type is
    `Annotated[str, FreeText(...)]`."""
    return Rules(
        (
            StringConstraints(min_length=min_length or None, max_length=max_length),
            _TextRule(multiline=True, blank=blank),
        )
    )


Password = Annotated[str, Text(200, min_length=1)]
"""A password as typed (the login form, or a new one with `password_field()`)."""
