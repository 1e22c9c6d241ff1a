"""Case messages, reply templates (话术库) and message statistics (R5.7).

A shop message with abuse, threats, advertising, a phone number or a third-party link is
answered 201 with ``status: "held"``: it is visible only to its sender and platform agents
until the sender edits it (``POST /messages/{id}/edit``). ``flags`` say what matched and
where (``start``/``end`` index the body); ``notice`` explains it in the caller's language.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, cast

from fastapi import Path, Query, Request, Response
from pydantic import BaseModel, Field

from aftersales.api.common import FreeText, Int, Moment, QueryBool, QueryInt, Text
from aftersales.api.common import router as make_router
from aftersales.api.deps import Auth, IdempotencyKey, ctx_of, respond
from aftersales.api.problems import locale_of
from aftersales.domain.i18n import N_
from aftersales.domain.moderation import KIND_LABELS, RULE, FlagKind
from aftersales.i18n import gettext, translate
from aftersales.services import messages as svc

router = make_router("", "messages")

CaseNumber = Annotated[
    str, Text(16, pattern=r"^AS[0-9]{14}$"), Path(description="e.g. AS20261125000001")
]
MessageId = Annotated[int, QueryInt(1, 2**31 - 1), Path()]
TemplateId = Annotated[int, QueryInt(1, 2**31 - 1), Path()]
ShopCode = Annotated[str, Text(40, min_length=1), Path()]
Body = Annotated[str, FreeText(svc.BODY_MAX_CHARS)]
HELD_NOTICE = N_(
    "Held for you to edit (R5.7): the message contains {kinds}. Only you and platform "
    "agents see it until you edit it."
)


# --------------------------------------------------------------------------- messages
Author = Literal["buyer", "merchant", "platform"]
Status = Literal["published", "held"]


class FlagOut(BaseModel):
    kind: FlagKind
    kind_label: str
    start: int = Field(description="Offset of the flagged text in `body` (characters)")
    end: int = Field(description="End offset, exclusive")
    text: str
    match: str = Field(description="The vocabulary term or the pattern that matched")
    read_as: str = Field(
        description="`text` as the checks read it: in display order, invisible characters "
        "dropped, digits of any script and (for links) look-alike letters as ASCII"
    )


class MessageOut(BaseModel):
    id: int
    case_number: str
    author_kind: Author
    account_id: int | None
    body: str
    status: Status
    flags: list[FlagOut] | None = Field(
        description="What the R5.7 checks found; shown only to the sender and the platform"
    )
    revises_id: int | None = Field(description="The held message this one edits")
    superseded_by: int | None = Field(description="The edit that replaced this held message")
    template_id: int | None
    created_at: datetime
    rule: str | None = Field(default=None, description="R5.7 when the message is held")
    notice: str | None = Field(default=None, description="Why the message is held")


def message_out(m: svc.MessageView, locale: str) -> MessageOut:
    flags = (
        [
            FlagOut(
                kind=f.kind,
                kind_label=gettext(KIND_LABELS[f.kind], locale),
                start=f.start,
                end=f.end,
                text=f.text,
                match=f.match,
                read_as=f.read_as,
            )
            for f in m.flags
        ]
        if m.flags is not None
        else None
    )
    notice = None
    if m.held and m.flags is not None and m.superseded_by is None:
        kinds = dict.fromkeys(gettext(KIND_LABELS[f.kind], locale) for f in m.flags)
        sep = "、" if locale == "zh_CN" else ", "
        notice = translate(HELD_NOTICE, locale, kinds=sep.join(kinds))
    return MessageOut(
        id=m.id,
        case_number=m.case_number,
        author_kind=cast(Author, m.author_kind),
        account_id=m.account_id,
        body=m.body,
        status=cast(Status, m.status),
        flags=flags,
        revises_id=m.revises_id,
        superseded_by=m.superseded_by,
        template_id=m.template_id,
        created_at=m.created_at,
        rule=RULE if m.held else None,
        notice=notice,
    )


class MessageIn(BaseModel):
    body: Body = Field(default="", description="May be empty when `template_id` is given")
    template_id: Annotated[int, Int(1, 2**31 - 1)] | None = Field(
        default=None, description="A reply template of the shop (shop only)"
    )


class EditIn(BaseModel):
    body: Annotated[str, FreeText(svc.BODY_MAX_CHARS, min_length=1)]


@router.get("/cases/{number}/messages", response_model=list[MessageOut])
def list_messages(number: CaseNumber, request: Request, auth: Auth) -> list[MessageOut]:
    """The case's conversation, oldest first. Held messages appear only to their sender and
    to platform agents."""
    locale = locale_of(request)
    rows = svc.list_messages(ctx_of(request), auth.actor, number)
    return [message_out(m, locale) for m in rows]


@router.post("/cases/{number}/messages", response_model=MessageOut, status_code=201)
def post_message(
    number: CaseNumber,
    body: MessageIn,
    request: Request,
    auth: Auth,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """R5.7: write on the case (buyer, shop or platform agent; needs `messages:write`).
    A flagged shop message is stored held (`status: "held"`) for the sender to edit."""
    locale = locale_of(request)
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: message_out(
            svc.post_message(
                ctx_of(request), auth.actor, number, body.body, template_id=body.template_id
            ),
            locale,
        ),
        status=201,
    )


@router.post("/messages/{message_id}/edit", response_model=MessageOut, status_code=201)
def edit_message(
    message_id: MessageId,
    body: EditIn,
    request: Request,
    auth: Auth,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """R5.7: the sender rewrites their held message. The edit is a new message (the held
    one is kept, superseded); it is checked again and published or held."""
    locale = locale_of(request)
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: message_out(
            svc.edit_message(ctx_of(request), auth.actor, message_id, body.body), locale
        ),
        status=201,
    )


# --------------------------------------------------------------------------- templates
class TemplateOut(BaseModel):
    id: int
    shop: str
    title: str
    body: str
    created_at: datetime
    archived_at: datetime | None
    archived: bool


def template_out(t: svc.TemplateView) -> TemplateOut:
    return TemplateOut(
        id=t.id,
        shop=t.shop_code,
        title=t.title,
        body=t.body,
        created_at=t.created_at,
        archived_at=t.archived_at,
        archived=t.archived_at is not None,
    )


class TemplateIn(BaseModel):
    title: Annotated[str, Text(svc.TITLE_MAX_CHARS, min_length=1, blank=False)]
    body: Annotated[str, FreeText(svc.BODY_MAX_CHARS, min_length=1, blank=False)]


@router.get("/shops/{code}/reply-templates", response_model=list[TemplateOut])
def list_templates(
    code: ShopCode,
    request: Request,
    auth: Auth,
    include_archived: Annotated[QueryBool, Query()] = False,
) -> list[TemplateOut]:
    """The shop's reply templates (话术库): its accounts with `handle_aftersales`, and the
    platform."""
    rows = svc.list_templates(ctx_of(request), auth.actor, code, include_archived=include_archived)
    return [template_out(t) for t in rows]


@router.post("/shops/{code}/reply-templates", response_model=TemplateOut, status_code=201)
def create_template(
    code: ShopCode,
    body: TemplateIn,
    request: Request,
    auth: Auth,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """A new reply template; its body must pass the R5.7 checks (422 otherwise)."""
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: template_out(
            svc.create_template(ctx_of(request), auth.actor, code, title=body.title, body=body.body)
        ),
        status=201,
    )


@router.post("/shops/{code}/reply-templates/{template_id}/archive", response_model=TemplateOut)
def archive_template(
    code: ShopCode,
    template_id: TemplateId,
    request: Request,
    auth: Auth,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Archive a template (templates are never deleted); archiving twice changes nothing."""
    return respond(
        request,
        auth,
        idempotency_key,
        None,
        lambda: template_out(svc.archive_template(ctx_of(request), auth.actor, code, template_id)),
    )


# --------------------------------------------------------------------------- statistics
class CaseResponseOut(BaseModel):
    case_number: str
    opened_at: datetime
    first_response_at: datetime | None
    seconds: int | None
    target_minutes: int
    within_target: bool | None


class UnansweredCaseOut(BaseModel):
    case_number: str
    messages: int
    oldest_at: datetime
    due_at: datetime


class FirstResponseOut(BaseModel):
    cases: int = Field(description="Cases opened in the period")
    responded: int = Field(description="... on which the shop has published a message")
    within_target: int
    median_seconds: int | None = Field(description="Nearest-rank median")
    p90_seconds: int | None = Field(description="Nearest-rank 90th percentile")


class BuyerMessagesOut(BaseModel):
    total: int = Field(description="Buyer messages posted in the period")
    answered_in_time: int
    answered_late: int
    awaiting_reply: int = Field(description="Unanswered, still within the reply window")
    unanswered_overdue: int = Field(description="Unanswered past the reply window")


class MessageStatsOut(BaseModel):
    shop: str
    from_: datetime = Field(alias="from", serialization_alias="from")
    to: datetime
    as_of: datetime
    first_response: FirstResponseOut
    buyer_messages: BuyerMessagesOut
    unanswered_cases: list[UnansweredCaseOut] = Field(
        description="Cases with buyer messages unanswered past the window, oldest first "
        "(up to `limit`)"
    )
    slowest_cases: list[CaseResponseOut] = Field(
        description="Cases without a response first, then the slowest (up to `limit`)"
    )

    model_config = {"populate_by_name": True}


@router.get(
    "/shops/{code}/message-stats",
    response_model=MessageStatsOut,
    response_model_by_alias=True,
)
def message_stats(
    code: ShopCode,
    request: Request,
    auth: Auth,
    from_: Annotated[Moment | None, Query(alias="from")] = None,
    to: Moment | None = None,
    limit: Annotated[int, QueryInt(0, 500), Query()] = 50,
) -> MessageStatsOut:
    """R5.7 for one shop over `[from, to)` (default: the 30 days up to now): first-response
    time of the cases opened in the period (from the opening to the shop's first published
    message) and the buyer messages posted in it, answered or not. Numbers (target minutes,
    reply window) come from each case's profile version."""
    s = svc.message_stats(ctx_of(request), auth.actor, code, start=from_, end=to)
    slowest = sorted(
        s.responses,
        key=lambda c: (c.seconds is not None, -(c.seconds or 0), c.opened_at, c.case_number),
    )[:limit]
    return MessageStatsOut(
        shop=s.shop_code,
        from_=s.start,
        to=s.end,
        as_of=s.as_of,
        first_response=FirstResponseOut(
            cases=s.cases,
            responded=s.responded,
            within_target=s.within_target,
            median_seconds=s.median_seconds,
            p90_seconds=s.p90_seconds,
        ),
        buyer_messages=BuyerMessagesOut(
            total=s.buyer_messages,
            answered_in_time=s.answered_in_time,
            answered_late=s.answered_late,
            awaiting_reply=s.awaiting_reply,
            unanswered_overdue=s.unanswered_overdue,
        ),
        unanswered_cases=[
            UnansweredCaseOut(
                case_number=u.case_number,
                messages=u.messages,
                oldest_at=u.oldest_at,
                due_at=u.due_at,
            )
            for u in s.unanswered_cases[:limit]
        ],
        slowest_cases=[
            CaseResponseOut(
                case_number=c.case_number,
                opened_at=c.opened_at,
                first_response_at=c.first_response_at,
                seconds=c.seconds,
                target_minutes=c.target_minutes,
                within_target=c.within_target,
            )
            for c in slowest
        ],
    )
