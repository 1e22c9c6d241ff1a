"""Evidence (R9.3): upload a file to a case, list a case's evidence, download one.

An upload is ``multipart/form-data`` with ``file``, ``kind`` and an optional
``description``. Its caller is authenticated, and allowed to add evidence to the case,
before a byte of the body is read (the route declares no body parameters; api/uploads.py
streams the body afterwards and cuts it off at the file type's limit). Every refusal is a
422 problem naming the field (``file``, ``kind`` or ``description``). Downloads are served
only to the parties of the case, always as an attachment, with
``X-Content-Type-Options: nosniff`` and ``Cache-Control: private, no-store``; ``HEAD``
answers the same headers without the file.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal, cast
from urllib.parse import quote

from fastapi import APIRouter, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from aftersales.api import uploads
from aftersales.api.common import ERRORS, FreeText, QueryInt, Text
from aftersales.api.deps import Auth, IdempotencyKey, ctx_of, respond
from aftersales.api.problems import locale_of
from aftersales.domain.errors import ValidationFailed
from aftersales.domain.evidence import (
    DESCRIPTION_MAX_CHARS,
    FILE_FIELD,
    KIND_LABELS,
    MEDIA_TYPES,
    RULE,
    UploadKind,
    extension_of,
    too_large,
)
from aftersales.domain.i18n import N_
from aftersales.i18n import gettext
from aftersales.services import evidence as svc

CaseNumber = Annotated[
    str, Text(16, pattern=r"^AS[0-9]{14}$"), Path(description="e.g. AS20261125000001")
]
EvidenceId = Annotated[int, QueryInt(1, 2**31 - 1), Path()]
Party = Literal["buyer", "merchant", "platform"]
# The upload route: exempt from the JSON body limit (api/limits.py), it streams its body
# with its own caps.
UPLOAD_PATH = re.compile(r"/api/v1/cases/[^/]+/evidence/?")
FIELD_CAP = 16 * 1024  # bytes of a form field other than the file (kind, description)


def _too_large(cap: int) -> ValidationFailed:
    return ValidationFailed(
        "evidence.request_too_large",
        N_("The upload is larger than {max} bytes."),
        field=FILE_FIELD,
        rule=RULE,
        max=cap,
    )


router = APIRouter(prefix="/api/v1", tags=["evidence"], responses=ERRORS)


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
    size: int = Field(description="Bytes of the file served")
    media_type: str = Field(description="Sniffed from the content")
    width: int | None = Field(description="Pixels (images)")
    height: int | None
    sha256: str = Field(description="Of the file served (an image: without its metadata)")
    original_sha256: str = Field(description="Of the file uploaded, for provenance")
    original_size: int = Field(description="Bytes of the file uploaded")
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
        original_sha256=e.original_hash,
        original_size=e.original_size,
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


class UploadFields(BaseModel):
    """The form fields of an upload besides the file."""

    kind: UploadKind
    description: Annotated[str, FreeText(DESCRIPTION_MAX_CHARS)] = ""


_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FILE_FIELD, "kind"],
                    "properties": {
                        FILE_FIELD: {
                            "type": "string",
                            "format": "binary",
                            "description": "JPEG, PNG, WebP, GIF, MP4, MOV or PDF",
                        },
                        "kind": {"type": "string", "enum": [k.value for k in UploadKind]},
                        "description": {
                            **TypeAdapter(
                                Annotated[str, FreeText(DESCRIPTION_MAX_CHARS)]
                            ).json_schema(),
                            "default": "",
                        },
                    },
                }
            }
        },
    }
}


def _fields(form: uploads.Form) -> UploadFields:
    """The fields, validated as FastAPI validates a form (the same problem document)."""
    errors: list[dict[str, Any]] = []
    if form.file is None:
        errors.append({"type": "missing", "loc": ("body", FILE_FIELD), "msg": "Field required"})
    fields = None
    try:
        fields = UploadFields.model_validate(form.fields)
    except ValidationError as exc:
        errors.extend({**e, "loc": ("body", *e["loc"])} for e in exc.errors())
    if errors or fields is None:
        raise RequestValidationError(errors)
    return fields


@router.post(
    "/cases/{number}/evidence",
    response_model=EvidenceOut,
    status_code=201,
    openapi_extra=_UPLOAD_BODY,
)
async def upload_evidence(
    number: CaseNumber,
    request: Request,
    auth: Auth,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """R9.3: add a file of evidence for the caller's side (the buyer, the shop's accounts
    that handle after-sales, or the platform). The caller is authenticated and allowed
    before any of the body is read; the file is cut off at its type's limit. The type is
    sniffed from the content and must agree with the part's `Content-Type` and the file
    name's extension; see docs/evidence.md for the limits."""
    ctx = ctx_of(request)
    locale = locale_of(request)
    # In a worker thread: the caller's credentials are checked here (a database read).
    await run_in_threadpool(lambda: svc.may_upload(ctx, auth.actor, number))
    limits = svc.limits_of(ctx.settings)
    form = await uploads.read_form(
        request,
        file_field=FILE_FIELD,
        file_cap=lambda content_type: svc.file_cap(limits, content_type),
        request_cap=svc.request_cap(ctx.settings),
        field_cap=FIELD_CAP,
        too_large=too_large,
        request_too_large=_too_large,
    )
    try:
        fields = _fields(form)
        upload = form.file
        assert upload is not None
        fingerprint = None
        if idempotency_key is not None:
            fingerprint = _Fingerprint(
                kind=fields.kind.value,
                description=fields.description,
                filename=upload.filename,
                content_type=upload.content_type,
                sha256=upload.sha256,
            )
        return await run_in_threadpool(
            respond,
            request,
            auth,
            idempotency_key,
            fingerprint,
            lambda: evidence_out(
                svc.upload_evidence(
                    ctx,
                    auth.actor,
                    number,
                    kind=fields.kind.value,
                    filename=upload.filename,
                    content_type=upload.content_type,
                    content=upload.file,
                    description=fields.description,
                ),
                locale,
            ),
            status=201,
        )
    finally:
        form.close()


@router.get("/cases/{number}/evidence", response_model=list[EvidenceOut])
def list_evidence(number: CaseNumber, request: Request, auth: Auth) -> list[EvidenceOut]:
    """The case's evidence from both sides and the platform, oldest first."""
    locale = locale_of(request)
    return [evidence_out(e, locale) for e in svc.list_evidence(ctx_of(request), auth.actor, number)]


_BINARY = {"schema": {"type": "string", "format": "binary"}}


def _download_headers(view: svc.EvidenceView) -> dict[str, str]:
    fallback = f"evidence-{view.id}.{extension_of(view.filename)}"
    return {
        "Content-Disposition": (
            f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(view.filename, safe='')}"
        ),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
        "Content-Length": str(view.size),
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }


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
    return StreamingResponse(chunks, media_type=view.media_type, headers=_download_headers(view))


@router.head(
    "/evidence/{evidence_id}",
    response_class=Response,
    responses={200: {"description": "The download's headers, without the file"}},
)
def evidence_headers(evidence_id: EvidenceId, request: Request, auth: Auth) -> Response:
    """The headers a download of this item answers with (type, length, disposition),
    and no body; the same checks as the download."""
    view, _ = svc.open_evidence(ctx_of(request), auth.actor, evidence_id)  # file not opened
    return Response(media_type=view.media_type, headers=_download_headers(view))
