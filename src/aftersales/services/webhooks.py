"""Webhook endpoints and their delivery log; Standard Webhooks signatures.

Every event written to the outbox (:mod:`aftersales.services.events`) is delivered by the
dispatcher (:mod:`aftersales.jobs.outbox`) to the endpoints of the event's shop and to the
platform's endpoints, signed per https://www.standardwebhooks.com: headers
``webhook-id`` (the event id, the same on every retry: receivers deduplicate on it),
``webhook-timestamp`` (unix seconds) and ``webhook-signature``
(``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` keyed with the endpoint secret).

Who manages endpoints: a shop's endpoints, that shop's main account (with the
``shop:admin`` scope on a token) or a platform admin; platform endpoints (no shop, every
shop's events), admins only. An endpoint the caller may not see is 404, one they may see
but not manage (a sub-account of the shop) is 403. Every change goes to the audit log.

A URL must be http(s), carry no credentials, and (unless
``settings.webhook_allow_private_networks``) resolve only to public addresses: checked
when the endpoint is registered and again before every delivery (DNS can change).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import secrets
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import SplitResult, urlsplit

from sqlalchemy import Connection

from aftersales.domain.accounts import Scope
from aftersales.domain.case_types import Action, ActorKind
from aftersales.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.services.actors import Actor, owns_shop, require_scope, shop_not_found
from aftersales.services.context import Context
from aftersales.store import accounts as audit_store
from aftersales.store import catalog as catalog_store
from aftersales.store import webhooks as store
from aftersales.store.records import known

SECRET_PREFIX = "whsec_"
MAX_URL_LENGTH = 2000
MAX_DESCRIPTION_LENGTH = 200
MAX_PAGE = 200
DELIVERY_STATUSES = (store.PENDING, store.DELIVERED, store.FAILED)

# What a webhook URL looks like (also the API schema's pattern, so clients and fuzzers see
# the rule): http(s), an ASCII host name or IPv4 address (IDN as punycode; no IPv6
# literals, no user name or password), an optional port 1-65535, then printable ASCII.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PORT = r"(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
URL_PATTERN = rf"^https?://{_LABEL}(?:\.{_LABEL})*\.?(?::{_PORT})?(?:[/?#][!-~]*)?$"
_URL_RE = re.compile(URL_PATTERN)

# Event types an endpoint may subscribe to; ``<family>.*`` subscribes to a whole family.
# A new kind of event emitted elsewhere must be added here to be filterable (an endpoint
# without a filter receives every event regardless).
EVENT_TYPES: frozenset[str] = frozenset(
    {f"case.{a.value}" for a in Action}
    | {"order.recorded", "order.fulfilment", "message.posted", "shop.status_changed"}
)


def event_families() -> frozenset[str]:
    return frozenset(t.split(".", 1)[0] for t in EVENT_TYPES)


def subscribable_event_types() -> list[str]:
    """Every value an endpoint's ``event_types`` may hold: the types and ``<family>.*``."""
    return sorted(EVENT_TYPES | {f"{f}.*" for f in event_families()})


def matches(event_types: Sequence[str] | None, event_type: str) -> bool:
    """Does an endpoint's filter (None: everything) take this event type?"""
    if event_types is None:
        return True
    for wanted in event_types:
        if wanted == event_type:
            return True
        if wanted.endswith(".*") and event_type.startswith(wanted[:-1]):
            return True
    return False


# --------------------------------------------------------------------------- signatures
def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    raw = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    return base64.b64decode(raw)


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,<base64 HMAC-SHA256>``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }


def verify_signature(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    tolerance: int = 300,
    *,
    now: float | None = None,
) -> bool:
    """What a receiver does: True when one of the ``v1`` signatures matches and the
    timestamp is within ``tolerance`` seconds of ``now`` (default: the current time)."""
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id = lower.get("webhook-id")
    stamp = lower.get("webhook-timestamp")
    sent = lower.get("webhook-signature")
    if not msg_id or not stamp or not sent:
        return False
    try:
        timestamp = int(stamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    try:
        expected = sign(secret, msg_id, timestamp, body).split(",", 1)[1]
    except ValueError:  # a secret that is not base64
        return False
    for candidate in sent.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False


# --------------------------------------------------------------------------- destinations
def _parse_url(url: str) -> SplitResult:
    if len(url) > MAX_URL_LENGTH:
        raise ValidationFailed(
            "webhook.url_too_long",
            N_("A webhook URL is at most {max} characters."),
            field="url",
            max=MAX_URL_LENGTH,
        )
    bad = N_("A webhook URL starts with http:// or https:// and names a host.")
    if any(c.isspace() or not c.isprintable() for c in url):
        raise ValidationFailed("webhook.url_invalid", bad, field="url")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ValidationFailed("webhook.url_invalid", bad, field="url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed("webhook.url_invalid", bad, field="url")
    if "@" in parts.netloc:
        raise ValidationFailed(
            "webhook.url_credentials",
            N_("A webhook URL may not carry a user name or password."),
            field="url",
        )
    if not _URL_RE.fullmatch(url):
        raise ValidationFailed("webhook.url_invalid", bad, field="url")
    return parts


def is_public_address(address: str) -> bool:
    """Globally routable unicast (IPv4 inside IPv6, mapped or 6to4, judged as IPv4)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            ip = mapped
    return ip.is_global and not ip.is_multicast


def non_public_address(url: str) -> str | None:
    """The first address the URL's host resolves to that is not public (loopback,
    private, link-local, shared, reserved ...), or None. Raises ``OSError`` (or
    ``ValueError`` for a name IDNA cannot encode) when the host does not resolve."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for info in infos:
        address = str(info[4][0])
        if not is_public_address(address):
            return address
    return None


def destination_refusal(url: str, allow_private: bool) -> str | None:
    """Why the dispatcher must not send to this URL now (for the delivery log), or None."""
    try:
        _parse_url(url)
    except ValidationFailed as exc:
        return f"refused: {exc}"
    if allow_private:
        return None
    try:
        address = non_public_address(url)
    except (OSError, ValueError) as exc:
        return f"host does not resolve: {exc}"
    if address is not None:
        return f"refused: {address} is not a public address"
    return None


def check_url(url: str, *, allow_private: bool) -> str:
    """Validate a URL at registration; returns it without surrounding blanks."""
    url = url.strip()
    parts = _parse_url(url)
    if allow_private:
        return url
    try:
        address = non_public_address(url)
    except (OSError, ValueError):
        raise ValidationFailed(
            "webhook.url_unresolvable",
            N_("The webhook URL's host {host} cannot be resolved."),
            field="url",
            host=parts.hostname or "",
        ) from None
    if address is not None:
        raise ValidationFailed(
            "webhook.url_private",
            N_(
                "The webhook URL points to a private, loopback or link-local address "
                "({address}); use a public address."
            ),
            field="url",
            address=address,
        )
    return url


def _check_event_types(event_types: Sequence[str] | None) -> list[str] | None:
    if event_types is None:
        return None
    families = event_families()
    out: list[str] = []
    for t in event_types:
        known = t in EVENT_TYPES or (t.endswith(".*") and t[:-2] in families)
        if not known:
            raise ValidationFailed(
                "webhook.event_type_unknown",
                N_("Unknown event type {type}."),
                field="event_types",
                type=t[:80],
            )
        if t not in out:
            out.append(t)
    if not out:
        raise ValidationFailed(
            "webhook.event_types_empty",
            N_("Name at least one event type, or leave the list out to receive every event."),
            field="event_types",
        )
    return sorted(out)


def _check_description(description: str) -> str:
    description = description.strip()
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise ValidationFailed(
            "webhook.description_too_long",
            N_("A description is at most {max} characters."),
            field="description",
            max=MAX_DESCRIPTION_LENGTH,
        )
    return description


# --------------------------------------------------------------------------- views
@dataclass(frozen=True, slots=True)
class EndpointView:
    id: int
    shop_code: str | None  # None: a platform endpoint (every shop's events)
    url: str
    description: str
    event_types: list[str] | None  # None: every event
    created_at: datetime
    disabled_at: datetime | None
    deliveries: dict[str, int]  # pending / delivered / failed
    secret: str | None = None  # only in the answer to create and rotate-secret

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


@dataclass(frozen=True, slots=True)
class AttemptView:
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True, slots=True)
class DeliveryView:
    id: int
    event_id: str  # the webhook-id header
    event_type: str
    event_created_at: datetime
    status: store.DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None  # pending only
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    payload: dict[str, Any]
    attempt_log: list[AttemptView] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DeliveryPage:
    items: list[DeliveryView]
    next_before: int | None  # pass as ``before`` for the next (older) page


def _endpoint_view(
    conn: Connection, row: store.Endpoint, secret: str | None = None
) -> EndpointView:
    return EndpointView(
        id=int(row.id),
        shop_code=row.shop_code,
        url=row.url,
        description=row.description,
        event_types=list(row.event_types) if row.event_types is not None else None,
        created_at=row.created_at,
        disabled_at=row.disabled_at,
        deliveries=store.delivery_counts(conn, int(row.id)),
        secret=secret,
    )


def _delivery_view(row: store.LoggedDelivery, attempts: list[store.Attempt]) -> DeliveryView:
    return DeliveryView(
        id=int(row.id),
        event_id=row.event_key,
        event_type=row.event_type,
        event_created_at=row.event_created_at,
        status=row.status,
        attempts=int(row.attempts),
        next_attempt_at=row.next_attempt_at if row.status == store.PENDING else None,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
        created_at=row.created_at,
        payload=dict(row.payload),
        attempt_log=[
            AttemptView(int(a.attempt), a.at, a.status_code, a.error, int(a.duration_ms))
            for a in attempts
        ],
    )


# --------------------------------------------------------------------------- authorization
def _not_allowed() -> Forbidden:
    return Forbidden("auth.not_allowed", N_("Your account may not do this."), rule="R1")


def _require_manager(actor: Actor) -> None:
    """Visible is not enough: only the main account (or an admin) manages webhooks."""
    if not actor.is_admin and not (actor.kind is ActorKind.MERCHANT and actor.main):
        raise Forbidden(
            "auth.main_account_only",
            N_("Only the shop's main account may do this."),
            rule="R1.2",
        )
    require_scope(actor, Scope.SHOP_ADMIN)


def _shop_id_for(conn: Connection, actor: Actor, shop_code: str) -> int:
    shop = catalog_store.get_shop_by_code(conn, shop_code)
    if shop is None or not (actor.is_admin or owns_shop(actor, shop.id)):
        raise shop_not_found(shop_code)
    _require_manager(actor)
    return shop.id


def _can_see(actor: Actor, row: store.Endpoint) -> bool:
    return actor.is_admin or owns_shop(actor, row.shop_id)


def _endpoint_for(
    conn: Connection, actor: Actor, endpoint_id: int, *, lock: bool = False
) -> store.Endpoint:
    row = store.endpoint_by_id(conn, endpoint_id, lock=lock)
    if row is None or not _can_see(actor, row):
        raise NotFound(
            "webhook.endpoint_not_found",
            N_("Webhook endpoint {id} not found."),
            id=endpoint_id,
        )
    _require_manager(actor)
    return row


def _require_enabled(row: store.Endpoint) -> None:
    if row.disabled_at is not None:
        raise Conflict(
            "webhook.endpoint_disabled",
            N_("Webhook endpoint {id} is disabled."),
            id=int(row.id),
        )


def _audit(
    conn: Connection, actor: Actor, endpoint_id: int, action: str, now: datetime, **details: Any
) -> None:
    audit_store.audit(
        conn,
        at=now,
        actor=actor.id or "operator",
        subject=f"webhook_endpoint:{endpoint_id}",
        action=action,
        **details,
    )


# --------------------------------------------------------------------------- use cases
def create_endpoint(
    ctx: Context,
    actor: Actor,
    shop_code: str | None,
    url: str,
    description: str = "",
    event_types: Sequence[str] | None = None,
) -> EndpointView:
    """Register an endpoint for a shop (``shop_code``) or for the platform (None). The
    answer carries the signing secret; it is never shown again (rotate to get a new one)."""
    if shop_code is None:
        if not actor.is_admin:
            raise _not_allowed()
        require_scope(actor, Scope.SHOP_ADMIN)
    else:  # who may, before what (404/403 before 422)
        with ctx.db.read() as conn:
            _shop_id_for(conn, actor, shop_code)
    description = _check_description(description)
    types = _check_event_types(event_types)
    url = check_url(url, allow_private=ctx.settings.webhook_allow_private_networks)
    now = ctx.now()
    secret = new_secret()
    with ctx.db.write() as conn:
        shop_id = _shop_id_for(conn, actor, shop_code) if shop_code is not None else None
        endpoint_id = store.insert_endpoint(
            conn,
            shop_id=shop_id,
            url=url,
            secret=secret,
            description=description,
            event_types=types,
            now=now,
        )
        _audit(
            conn,
            actor,
            endpoint_id,
            "created",
            now,
            shop=shop_code,
            url=url,
            event_types=types,
        )
        return _endpoint_view(conn, known(store.endpoint_by_id(conn, endpoint_id)), secret)


def list_endpoints(
    ctx: Context, actor: Actor, shop_code: str | None = None, *, platform: bool = False
) -> list[EndpointView]:
    """The endpoints the caller manages: a main account its shop's; an admin every one
    (or one shop's, or only the platform's)."""
    with ctx.db.read() as conn:
        if platform:
            if not actor.is_admin:
                raise _not_allowed()
            require_scope(actor, Scope.SHOP_ADMIN)
            rows = store.list_endpoints(conn, platform_only=True)
        elif shop_code is not None:
            rows = store.list_endpoints(conn, shop_id=_shop_id_for(conn, actor, shop_code))
        elif actor.is_admin:
            require_scope(actor, Scope.SHOP_ADMIN)
            rows = store.list_endpoints(conn)
        elif actor.kind is ActorKind.MERCHANT and actor.shop_id is not None:
            _require_manager(actor)
            rows = store.list_endpoints(conn, shop_id=actor.shop_id)
        else:
            raise _not_allowed()
        return [_endpoint_view(conn, r) for r in rows]


def get_endpoint(ctx: Context, actor: Actor, endpoint_id: int) -> EndpointView:
    with ctx.db.read() as conn:
        return _endpoint_view(conn, _endpoint_for(conn, actor, endpoint_id))


def disable_endpoint(ctx: Context, actor: Actor, endpoint_id: int) -> EndpointView:
    """Stop delivering to an endpoint: nothing new is fanned out to it, and what it has
    not received yet is marked failed. Disabling twice changes nothing."""
    now = ctx.now()
    with ctx.db.write() as conn:
        row = _endpoint_for(conn, actor, endpoint_id, lock=True)
        if row.disabled_at is None:
            store.update_endpoint(conn, endpoint_id, disabled_at=now)
            dropped = store.fail_pending_of_endpoint(conn, endpoint_id, "endpoint disabled")
            _audit(conn, actor, endpoint_id, "disabled", now, undelivered=dropped)
        return _endpoint_view(conn, known(store.endpoint_by_id(conn, endpoint_id)))


def rotate_secret(ctx: Context, actor: Actor, endpoint_id: int) -> EndpointView:
    """A new signing secret, effective at once for every later attempt (also retries of
    earlier events); the answer is the only place it is shown."""
    now = ctx.now()
    secret = new_secret()
    with ctx.db.write() as conn:
        row = _endpoint_for(conn, actor, endpoint_id, lock=True)
        _require_enabled(row)
        store.update_endpoint(conn, endpoint_id, secret=secret)
        _audit(conn, actor, endpoint_id, "secret_rotated", now)
        return _endpoint_view(conn, known(store.endpoint_by_id(conn, endpoint_id)), secret)


def list_deliveries(
    ctx: Context,
    actor: Actor,
    endpoint_id: int,
    *,
    before: int | None = None,
    limit: int = 50,
    status: str | None = None,
) -> DeliveryPage:
    """The delivery log of an endpoint, newest first, each delivery with its attempts."""
    if status is not None and status not in DELIVERY_STATUSES:
        raise ValidationFailed(
            "webhook.delivery_status_unknown",
            N_("Unknown delivery status {status}."),
            field="status",
            status=status[:40],
        )
    limit = max(1, min(limit, MAX_PAGE))
    with ctx.db.read() as conn:
        _endpoint_for(conn, actor, endpoint_id)
        rows = store.deliveries_page(
            conn, endpoint_id, before_id=before, limit=limit + 1, status=status
        )
        more = len(rows) > limit
        rows = rows[:limit]
        log = store.attempts_of(conn, [int(r.id) for r in rows])
        items = [_delivery_view(r, log[int(r.id)]) for r in rows]
        return DeliveryPage(items, items[-1].id if more and items else None)


def redeliver(ctx: Context, actor: Actor, endpoint_id: int, delivery_id: int) -> DeliveryView:
    """Send a delivery again now (a failed one, or one the receiver lost): one more
    attempt with the same ``webhook-id``; if it fails and the attempts are used up, the
    delivery is failed again."""
    now = ctx.now()
    with ctx.db.write() as conn:
        row = _endpoint_for(conn, actor, endpoint_id, lock=True)
        _require_enabled(row)
        delivery = store.delivery_by_id(conn, delivery_id, lock=True)
        if delivery is None or int(delivery.endpoint_id) != endpoint_id:
            raise NotFound(
                "webhook.delivery_not_found",
                N_("Delivery {id} not found."),
                id=delivery_id,
            )
        store.update_delivery(
            conn, delivery_id, status=store.PENDING, next_attempt_at=now, delivered_at=None
        )
        _audit(conn, actor, endpoint_id, "redelivery_requested", now, delivery=delivery_id)
        page = store.deliveries_page(conn, endpoint_id, before_id=delivery_id + 1, limit=1)
        return _delivery_view(page[0], store.attempts_of(conn, [delivery_id])[delivery_id])


__all__ = [
    "EVENT_TYPES",
    "AttemptView",
    "DeliveryPage",
    "DeliveryView",
    "EndpointView",
    "check_url",
    "create_endpoint",
    "destination_refusal",
    "disable_endpoint",
    "get_endpoint",
    "list_deliveries",
    "list_endpoints",
    "matches",
    "new_secret",
    "redeliver",
    "rotate_secret",
    "sign",
    "signature_headers",
    "verify_signature",
]
