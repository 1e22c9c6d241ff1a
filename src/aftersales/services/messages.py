"""R5.7: the conversation on a case, the shop's reply templates (话术库) and its message
statistics (first-response time, buyer messages left unanswered).

* Buyer, shop and platform agents write on a case they may see. Posting needs the
  ``messages:write`` scope besides read access to the case (``cases:read``, and for a
  sub-account the ``handle_aftersales`` permission, R1.2).
* A shop message that :func:`aftersales.domain.moderation.check` flags is stored *held*:
  only its sender and platform agents see it, and the sender edits it. An edit is a new
  message that ``revises`` the held one (the table is append-only); it is checked again and
  is published or held in turn. Buyers' flagged messages are published with their flags
  recorded; platform messages are not checked.
* A ``message.posted`` webhook event is emitted for every published message (an edit that
  publishes included), never for a held one.
* The moderation vocabulary and the R5.7 numbers come from the profile version the case was
  opened under (like every rule of the case); a version older than the ``[messages]`` table
  reads the current version's vocabulary.

See docs/messages.md for the definitions of the statistics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from aftersales.domain.accounts import Permission, Scope
from aftersales.domain.case import Case
from aftersales.domain.case_types import ActorKind
from aftersales.domain.catalog import Shop
from aftersales.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.domain.moderation import RULE, Flag, check, holds, summary
from aftersales.domain.policy import Messages, Profile
from aftersales.profiles import DEFAULT_PROFILE
from aftersales.services import events
from aftersales.services.actors import (
    Actor,
    can_see,
    is_staff,
    owns_shop,
    require_case_access,
    require_case_reading,
    require_permission,
    require_scope,
    shop_not_found,
)
from aftersales.services.context import Context
from aftersales.store import cases as case_store
from aftersales.store import catalog as catalog_store
from aftersales.store import messages as store
from aftersales.store.records import known

BODY_MAX_CHARS = 2000  # a message or a template body (an input limit, not a rule)
TITLE_MAX_CHARS = 120  # reply_templates.title
STATS_DEFAULT_DAYS = 30  # the period when the caller names none
STATS_MAX_DAYS = 366

PUBLISHED = store.PUBLISHED
HELD = store.HELD

_AUTHORS = (ActorKind.BUYER, ActorKind.MERCHANT, ActorKind.PLATFORM)


# --------------------------------------------------------------------------- views
@dataclass(frozen=True, slots=True)
class MessageView:
    id: int
    case_number: str
    author_kind: str  # buyer | merchant | platform
    account_id: int | None
    body: str
    status: str  # published | held
    flags: list[Flag] | None  # None: not shown to this reader (only sender and platform)
    revises_id: int | None  # the held message this one edits (shown to sender/platform)
    superseded_by: int | None  # for a held message: the edit that replaced it
    template_id: int | None
    created_at: datetime

    @property
    def held(self) -> bool:
        return self.status == HELD


@dataclass(frozen=True, slots=True)
class TemplateView:
    id: int
    shop_code: str
    title: str
    body: str
    created_at: datetime
    archived_at: datetime | None


# --------------------------------------------------------------------------- helpers
def _is_sender(actor: Actor, row: store.Message) -> bool:
    """The account that wrote the message (a buyer: the buyer, whatever the account)."""
    if row.author_kind != actor.kind.value:
        return False
    if actor.kind is ActorKind.BUYER:
        return True  # the case is the buyer's own (visibility was checked)
    return bool(row.account_id == actor.account_id)


def _text(value: str, field_name: str, max_chars: int) -> str:
    text = value.strip()
    if not text:
        raise ValidationFailed("text.empty", N_("This text may not be empty."), field=field_name)
    if len(text) > max_chars:
        raise ValidationFailed(
            "text.too_long",
            N_("This text is at most {max} characters."),
            field=field_name,
            max=max_chars,
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        ok = False
    else:
        ok = "\x00" not in text
    if not ok:
        raise ValidationFailed(
            "text.invalid",
            N_("This text contains characters that cannot be stored."),
            field=field_name,
        )
    return text


def _rules_of(ctx: Context, profile: Profile) -> Messages:
    if profile.messages is not None:
        return profile.messages
    current = ctx.profiles.current.get(profile.id) or ctx.profiles.current[DEFAULT_PROFILE]
    if current.messages is None:  # pragma: no cover - every shipped profile has [messages]
        raise RuntimeError(f"profile {current.id} has no [messages] table")
    return current.messages


def case_rules(ctx: Context, conn: Connection, case: Case) -> Messages:
    """R5.7 vocabulary of the profile version the case was opened under."""
    return _rules_of(ctx, ctx.profiles.for_case(conn, case.profile_id, case.profile_version))


def _view(
    row: store.Message, case_number: str, actor: Actor, superseded_by: int | None
) -> MessageView:
    insider = _is_sender(actor, row) or is_staff(actor)
    return MessageView(
        id=row.id,
        case_number=case_number,
        author_kind=row.author_kind,
        account_id=row.account_id,
        body=row.body,
        status=row.status,
        flags=[Flag.from_json(f) for f in row.flags] if insider else None,
        revises_id=row.revises_id if insider else None,
        superseded_by=superseded_by if insider else None,
        template_id=row.template_id,
        created_at=row.created_at,
    )


def _insert(
    conn: Connection,
    actor: Actor,
    case: Case,
    body: str,
    flags: list[Flag],
    *,
    template_id: int | None,
    revises_id: int | None,
    now: datetime,
) -> store.Message:
    assert case.id is not None
    status = HELD if holds(actor.kind, flags) else PUBLISHED
    values: dict[str, Any] = {
        "case_id": case.id,
        "author_kind": actor.kind.value,
        "account_id": actor.account_id,
        "body": body,
        "status": status,
        "flags": [f.to_json() for f in flags],
        "revises_id": revises_id,
        "template_id": template_id,
        "now": now,
    }
    try:
        with conn.begin_nested():
            message_id = store.insert_message(conn, **values)
    except IntegrityError:  # another edit of the same held message won the race
        raise Conflict(
            "message.superseded",
            N_("Message {id} was already edited; edit the newest version."),
            rule=RULE,
            id=revises_id or 0,
        ) from None
    if status == PUBLISHED:
        events.emit(
            conn,
            "message.posted",
            shop_id=case.shop_id,
            case_id=case.id,
            data={
                "case_number": case.number,
                "message_id": message_id,
                "author_kind": actor.kind.value,
                "body": body,
                "template_id": template_id,
                "revises_id": revises_id,
            },
            now=now,
        )
    return known(store.message_by_id(conn, message_id))


def _require_author(actor: Actor) -> None:
    if actor.kind not in _AUTHORS:
        raise Forbidden(
            "message.author_not_allowed",
            N_("Only the buyer, the shop and platform agents write on a case."),
            rule=RULE,
        )


# --------------------------------------------------------------------------- posting
def post_message(
    ctx: Context,
    actor: Actor,
    case_number: str,
    body: str = "",
    template_id: int | None = None,
) -> MessageView:
    """R5.7: write on the case's conversation. A shop message with a flag is held for the
    sender to edit (the view says which flags and where); otherwise it is published.
    With ``template_id`` (shop only) an empty body sends the template's text."""
    now = ctx.now()
    with ctx.db.write() as conn:
        case = case_store.load_case(conn, case_number)
        if actor.kind is ActorKind.CARRIER:
            case = None  # carriers push tracking; they do not read conversations
        case = require_case_access(actor, case, case_number, write=False)
        require_scope(actor, Scope.MESSAGES_WRITE)
        _require_author(actor)
        if template_id is not None:
            tpl = store.template_by_id(conn, template_id)
            if actor.kind is not ActorKind.MERCHANT or tpl is None or tpl.shop_id != case.shop_id:
                raise NotFound(
                    "template.not_found",
                    N_("Reply template {id} not found."),
                    field="template_id",
                    id=template_id,
                )
            if tpl.archived_at is not None:
                raise ValidationFailed(
                    "template.archived",
                    N_("Reply template {id} is archived."),
                    field="template_id",
                    id=template_id,
                )
            if not body.strip():
                body = tpl.body
        text = _text(body, "body", BODY_MAX_CHARS)
        flags = [] if actor.kind is ActorKind.PLATFORM else check(text, case_rules(ctx, conn, case))
        row = _insert(
            conn, actor, case, text, flags, template_id=template_id, revises_id=None, now=now
        )
        return _view(row, case.number, actor, None)


def edit_message(ctx: Context, actor: Actor, message_id: int, body: str) -> MessageView:
    """R5.7: the sender rewrites a held message. The held one stays (append-only) and counts
    as superseded; the edit is checked again and is published or held."""
    now = ctx.now()
    with ctx.db.write() as conn:
        row = store.message_by_id(conn, message_id)
        case = case_store.load_case_by_id(conn, row.case_id) if row is not None else None
        if (
            row is None
            or case is None
            or actor.kind is ActorKind.CARRIER
            or not can_see(actor, case)
            or (row.status == HELD and not (_is_sender(actor, row) or is_staff(actor)))
        ):
            raise NotFound("message.not_found", N_("Message {id} not found."), id=message_id)
        require_case_access(actor, case, case.number, write=False)
        require_scope(actor, Scope.MESSAGES_WRITE)
        if not _is_sender(actor, row):
            raise Forbidden(
                "message.not_sender", N_("Only the sender may edit a message."), rule=RULE
            )
        if row.status != HELD:
            raise Conflict(
                "message.not_held",
                N_("Only a held message can be edited; a published message stays as written."),
                rule=RULE,
            )
        if store.revision_of(conn, row.id) is not None:
            raise Conflict(
                "message.superseded",
                N_("Message {id} was already edited; edit the newest version."),
                rule=RULE,
                id=row.id,
            )
        text = _text(body, "body", BODY_MAX_CHARS)
        flags = check(text, case_rules(ctx, conn, case))
        new = _insert(
            conn,
            actor,
            case,
            text,
            flags,
            template_id=row.template_id,
            revises_id=row.id,
            now=now,
        )
        return _view(new, case.number, actor, None)


def list_messages(ctx: Context, actor: Actor, case_number: str) -> list[MessageView]:
    """The conversation, oldest first. Held messages are shown only to their sender and to
    platform agents; flags likewise."""
    with ctx.db.read() as conn:
        case = case_store.load_case(conn, case_number)
        if actor.kind is ActorKind.CARRIER:
            case = None
        case = require_case_access(actor, case, case_number, write=False)
        assert case.id is not None
        rows = store.messages_of_case(conn, case.id)
        replaced = {r.revises_id: r.id for r in rows if r.revises_id is not None}
        return [
            _view(r, case.number, actor, replaced.get(r.id))
            for r in rows
            if r.status != HELD or _is_sender(actor, r) or is_staff(actor)
        ]


# --------------------------------------------------------------------------- templates
def _template_view(row: store.Template, shop: Shop) -> TemplateView:
    return TemplateView(row.id, shop.code, row.title, row.body, row.created_at, row.archived_at)


def _shop_for_templates(conn: Connection, actor: Actor, shop_code: str, *, write: bool) -> Shop:
    """The shop's own accounts with ``handle_aftersales`` (main or sub) use and manage its
    templates; platform agents read them; anyone else gets 404."""
    shop = catalog_store.get_shop_by_code(conn, shop_code)
    own = shop is not None and owns_shop(actor, shop.id)
    if shop is None or not (own or is_staff(actor)):
        raise shop_not_found(shop_code)
    if write:
        if not own:
            raise Forbidden(
                "template.shop_only",
                N_("Only the shop's own accounts manage its reply templates."),
                rule=RULE,
            )
        require_scope(actor, Scope.SHOP_ADMIN)
    else:
        require_case_reading(actor)
    require_permission(actor, Permission.HANDLE_AFTERSALES)
    return shop


def create_template(
    ctx: Context, actor: Actor, shop_code: str, *, title: str, body: str
) -> TemplateView:
    """A reply template (话术) for the shop. Its body must pass the R5.7 checks: a template
    exists to be sent, so one that would be held is refused."""
    now = ctx.now()
    with ctx.db.write() as conn:
        shop = _shop_for_templates(conn, actor, shop_code, write=True)
        clean_title = _text(title, "title", TITLE_MAX_CHARS)
        text = _text(body, "body", BODY_MAX_CHARS)
        rules = _rules_of(ctx, ctx.profiles.current_for(conn, shop.profile_id, now))
        flags = check(text, rules)
        if flags:
            raise ValidationFailed(
                "template.flagged",
                N_(
                    "A shop may not send this template: it contains {flags}. Shop messages "
                    "may not contain abuse, threats, advertising, phone numbers or "
                    "third-party links."
                ),
                rule=RULE,
                field="body",
                flags=summary(flags),
            )
        template_id = store.insert_template(
            conn, shop_id=shop.id, title=clean_title, body=text, now=now
        )
        return _template_view(known(store.template_by_id(conn, template_id)), shop)


def list_templates(
    ctx: Context, actor: Actor, shop_code: str, *, include_archived: bool = False
) -> list[TemplateView]:
    with ctx.db.read() as conn:
        shop = _shop_for_templates(conn, actor, shop_code, write=False)
        rows = store.templates_of_shop(conn, shop.id, include_archived=include_archived)
        return [_template_view(r, shop) for r in rows]


def archive_template(ctx: Context, actor: Actor, shop_code: str, template_id: int) -> TemplateView:
    """Archive (never delete: messages keep naming the template they used). Archiving an
    archived template changes nothing."""
    now = ctx.now()
    with ctx.db.write() as conn:
        shop = _shop_for_templates(conn, actor, shop_code, write=True)
        row = store.template_by_id(conn, template_id)
        if row is None or row.shop_id != shop.id:
            raise NotFound(
                "template.not_found", N_("Reply template {id} not found."), id=template_id
            )
        store.archive_template(conn, template_id, now)
        return _template_view(known(store.template_by_id(conn, template_id)), shop)


# --------------------------------------------------------------------------- statistics
def nearest_rank(values: Sequence[int], percent: int) -> int | None:
    """The nearest-rank percentile: the smallest value with at least ``percent``% of the
    values at or below it (p50 of an even count is the lower middle)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-percent * len(ordered) // 100))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class CaseResponse:
    """First-response time of one case: from its opening to the shop's first published
    message (None while the shop has not written)."""

    case_number: str
    opened_at: datetime
    first_response_at: datetime | None
    seconds: int | None
    target_minutes: int
    within_target: bool | None


@dataclass(frozen=True, slots=True)
class UnansweredCase:
    case_number: str
    messages: int  # buyer messages unanswered past the reply window
    oldest_at: datetime
    due_at: datetime  # when the oldest of them should have been answered


@dataclass(frozen=True, slots=True)
class MessageStats:
    shop_code: str
    start: datetime
    end: datetime
    as_of: datetime
    # first response (cases opened in the period)
    cases: int
    responded: int
    within_target: int
    median_seconds: int | None
    p90_seconds: int | None
    # buyer messages posted in the period, as of `as_of`
    buyer_messages: int
    answered_in_time: int
    answered_late: int
    awaiting_reply: int  # unanswered, still within the window
    unanswered_overdue: int  # unanswered past the window
    unanswered_cases: list[UnansweredCase] = field(default_factory=list)
    responses: list[CaseResponse] = field(default_factory=list)


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValidationFailed(
            "stats.naive_time", N_("Expected a date-time with a time zone."), field=name
        )
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValidationFailed(
            "stats.time_out_of_range", N_("The time is out of range."), field=name
        ) from None


def _period(
    start: datetime | None, end: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    until = _utc(end, "to") if end is not None else now
    try:
        since = (
            _utc(start, "from") if start is not None else until - timedelta(days=STATS_DEFAULT_DAYS)
        )
    except OverflowError:
        raise ValidationFailed(
            "stats.time_out_of_range", N_("The time is out of range."), field="to"
        ) from None
    if since >= until:
        raise ValidationFailed(
            "stats.period_empty", N_("The period must start before it ends."), field="from"
        )
    if until - since > timedelta(days=STATS_MAX_DAYS):
        raise ValidationFailed(
            "stats.period_too_long",
            N_("A period is at most {days} days."),
            field="from",
            days=STATS_MAX_DAYS,
        )
    return since, until


def _stats_shop(conn: Connection, actor: Actor, shop_code: str) -> Shop:
    """The shop's main account, a sub-account with view_analytics or handle_aftersales,
    platform agents and admins; anyone else gets 404."""
    shop = catalog_store.get_shop_by_code(conn, shop_code)
    own = shop is not None and owns_shop(actor, shop.id)
    if shop is None or not (own or is_staff(actor)):
        raise shop_not_found(shop_code)
    require_case_reading(actor)
    if own and not (
        actor.has(Permission.VIEW_ANALYTICS) or actor.has(Permission.HANDLE_AFTERSALES)
    ):
        raise Forbidden(
            "auth.permission_missing",
            N_("This sub-account lacks the {permission} permission."),
            rule="R1.2",
            permission=Permission.VIEW_ANALYTICS.value,
        )
    return shop


def message_stats(
    ctx: Context,
    actor: Actor,
    shop_code: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> MessageStats:
    """R5.7 for one shop over ``[start, end)`` (default: the last 30 days): first-response
    times of the cases opened in the period and the fate of the buyer messages posted in
    it, each measured with the numbers of its case's profile version."""
    now = ctx.now()
    with ctx.db.read() as conn:
        shop = _stats_shop(conn, actor, shop_code)
        since, until = _period(start, end, now)

        def handling(profile_id: str, version: int) -> tuple[int, int]:
            h = ctx.profiles.for_case(conn, profile_id, version).handling
            return h.first_contact_target_minutes, h.message_reply_hours

        responses: list[CaseResponse] = []
        for r in store.first_shop_replies(conn, shop.id, since, until):
            target, _ = handling(r.profile_id, r.profile_version)
            secs = (
                int((r.first_reply_at - r.created_at).total_seconds())
                if r.first_reply_at is not None
                else None
            )
            responses.append(
                CaseResponse(
                    r.number,
                    r.created_at,
                    r.first_reply_at,
                    secs,
                    target,
                    secs <= target * 60 if secs is not None else None,
                )
            )

        in_time = late = waiting = overdue = 0
        backlog: dict[str, list[tuple[datetime, datetime]]] = {}
        rows = store.buyer_messages_with_replies(conn, shop.id, since, until)
        for m in rows:
            _, hours = handling(m.profile_id, m.profile_version)
            due = m.created_at + timedelta(hours=hours)
            if m.replied_at is not None:
                if m.replied_at <= due:
                    in_time += 1
                else:
                    late += 1
            elif now > due:
                overdue += 1
                backlog.setdefault(m.number, []).append((m.created_at, due))
            else:
                waiting += 1

    seconds = [c.seconds for c in responses if c.seconds is not None]
    unanswered = [
        UnansweredCase(number, len(items), min(i[0] for i in items), min(i[1] for i in items))
        for number, items in backlog.items()
    ]
    unanswered.sort(key=lambda u: (u.oldest_at, u.case_number))
    return MessageStats(
        shop_code=shop.code,
        start=since,
        end=until,
        as_of=now,
        cases=len(responses),
        responded=len(seconds),
        within_target=sum(1 for c in responses if c.within_target),
        median_seconds=nearest_rank(seconds, 50),
        p90_seconds=nearest_rank(seconds, 90),
        buyer_messages=len(rows),
        answered_in_time=in_time,
        answered_late=late,
        awaiting_reply=waiting,
        unanswered_overdue=overdue,
        unanswered_cases=unanswered,
        responses=responses,
    )
