"""Evidence (issue 6, R9.3): upload a file to a case, list a case's evidence, download one.

An upload is ``multipart/form-data`` with ``file``, ``kind`` and an optional
``description``. Every refusal is a 422 problem naming the field (``file``, ``kind`` or
``description``). A request body larger than the largest limit is cut off while it is
received. Downloads are served only to the parties of the case, always as an attachment,
with ``X-Content-Type-Options: nosniff`` and ``Cache-Control: private, no-store``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any, Literal, cast
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Path, Request, Response, UploadFile
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.types import Message

from aftersales.api.common import ERRORS, FreeText, QueryInt, Text
from aftersales.api.deps import Auth, IdempotencyKey, ctx_of, respond
from aftersales.api.problems import locale_of
from aftersales.domain.errors import ValidationFailed
from aftersales.domain.evidence import (
    DESCRIPTION_MAX_CHARS,
    FILE_FIELD,
    KIND_LABELS,
    MEDIA_TYPES,
    UploadKind,
    extension_of,
)
from aftersales.domain.i18n import N_
from aftersales.i18n import gettext
from aftersales.services import evidence as svc

CaseNumber = Annotated[
    Text(16, pattern=r"^AS[0-9]{14}$"), Path(description="e.g. AS20261125000001")
]
EvidenceId = Annotated[QueryInt(1, 2**31 - 1), Path()]
Party = Literal["buyer", "merchant", "platform"]


class _TooLarge(Exception):
    pass


def _too_large(cap: int) -> ValidationFailed:
    return ValidationFailed(
        "evidence.request_too_large",
        N_("The upload is larger than {max} bytes."),
        field=FILE_FIELD,
        max=cap,
    )


def _caused_by_cut(exc: BaseException) -> bool:
    """FastAPI answers any failure while parsing a form with a 400; find ours behind it."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, _TooLarge):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class CappedRoute(APIRoute):
    """Refuses a body over the largest evidence limit before parsing it (Content-Length)
    and cuts a longer one off while it is received (chunked uploads), instead of spooling
    it all to disk first."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def capped(request: Request) -> Response:
            if request.method in ("GET", "HEAD"):
                return await handler(request)
            cap = svc.request_cap(ctx_of(request).settings)
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > cap:
                raise _too_large(cap)
            received = 0
            receive = request.receive

            async def counted() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > cap:
                        raise _TooLarge
                return message

            try:
                return await handler(Request(request.scope, counted))
            except HTTPException as exc:
                if _caused_by_cut(exc):
                    raise _too_large(cap) from None
                raise

        return capped


router = APIRouter(prefix="/api/v1", tags=["evidence"], responses=ERRORS, route_class=CappedRoute)


class EvidenceOut(BaseModel):
    id: int
    case_number: str
    party: Party = Field(description="The side the item was submitted for")
    kind: UploadKind
    kind_label: str
    uploaded_by: str
    first_submission: bool = Field(
        description="R9.3: the buyer's first submission on the case (it weighs most)"
    )
    size: int = Field(description="Bytes")
    media_type: str = Field(description="Sniffed from the content")
    width: int | None = Field(description="Pixels (images)")
    height: int | None
    sha256: str
    filename: str = Field(description="The uploader's file name, for display only")
    description: str
    created_at: datetime
    download: str = Field(description="Where the parties of the case download the file")


def evidence_out(e: svc.EvidenceView, locale: str) -> EvidenceOut:
    return EvidenceOut(
        id=e.id,
        case_number=e.case_number,
        party=cast(Party, e.party),
        kind=UploadKind(e.kind),
        kind_label=gettext(KIND_LABELS[UploadKind(e.kind)], locale),
        uploaded_by=e.uploaded_by,
        first_submission=e.first_submission,
        size=e.size,
        media_type=e.media_type,
        width=e.width,
        height=e.height,
        sha256=e.content_hash,
        filename=e.filename,
        description=e.description,
        created_at=e.created_at,
        download=f"/api/v1/evidence/{e.id}",
    )


class _Fingerprint(BaseModel):
    """What an Idempotency-Key's request is compared by (the file by its hash)."""

    kind: str
    description: str
    filename: str
    content_type: str | None
    sha256: str


def _hash_of(upload: UploadFile) -> str:
    digest = hashlib.sha256()
    upload.file.seek(0)
    while chunk := upload.file.read(1024 * 1024):
        digest.update(chunk)
    upload.file.seek(0)
    return digest.hexdigest()


@router.post("/cases/{number}/evidence", response_model=EvidenceOut, status_code=201)
def upload_evidence(
    number: CaseNumber,
    request: Request,
    auth: Auth,
    file: Annotated[UploadFile, File(description="JPEG, PNG, WebP, GIF, MP4, MOV or PDF")],
    kind: Annotated[UploadKind, Form()],
    description: Annotated[FreeText(DESCRIPTION_MAX_CHARS), Form()] = "",
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """R9.3: add a file of evidence for the caller's side (the buyer, the shop's accounts
    that handle after-sales, or the platform). The type is sniffed from the content and
    must agree with the part's `Content-Type` and the file name's extension; see
    docs/evidence.md for the limits."""
    locale = locale_of(request)
    filename = file.filename or ""
    fingerprint = None
    if idempotency_key is not None:
        fingerprint = _Fingerprint(
            kind=kind.value,
            description=description,
            filename=filename,
            content_type=file.content_type,
            sha256=_hash_of(file),
        )
    return respond(
        request,
        auth,
        idempotency_key,
        fingerprint,
        lambda: evidence_out(
            svc.upload_evidence(
                ctx_of(request),
                auth.actor,
                number,
                kind=kind.value,
                filename=filename,
                content_type=file.content_type,
                content=file.file,
                description=description,
            ),
            locale,
        ),
        status=201,
    )


@router.get("/cases/{number}/evidence", response_model=list[EvidenceOut])
def list_evidence(number: CaseNumber, request: Request, auth: Auth) -> list[EvidenceOut]:
    """The case's evidence from both sides and the platform, oldest first."""
    locale = locale_of(request)
    return [evidence_out(e, locale) for e in svc.list_evidence(ctx_of(request), auth.actor, number)]


_BINARY = {"schema": {"type": "string", "format": "binary"}}


@router.get(
    "/evidence/{evidence_id}",
    response_class=Response,
    responses={
        200: {
            "description": "The file, as an attachment, with its sniffed type",
            "content": {name: _BINARY for name in MEDIA_TYPES},
        }
    },
)
def download_evidence(evidence_id: EvidenceId, request: Request, auth: Auth) -> Response:
    """Download one item (the parties of its case only; to anyone else it does not
    exist). Always an attachment, never rendered inline."""
    view, chunks = svc.open_evidence(ctx_of(request), auth.actor, evidence_id)
    fallback = f"evidence-{view.id}.{extension_of(view.filename)}"
    headers = {
        "Content-Disposition": (
            f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(view.filename, safe='')}"
        ),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
        "Content-Length": str(view.size),
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    return StreamingResponse(chunks, media_type=view.media_type, headers=headers)
