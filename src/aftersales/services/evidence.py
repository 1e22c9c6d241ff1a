"""Evidence on a case (R9.3): upload, list and download.

* Who uploads: the case's buyer, the shop's accounts with ``handle_aftersales`` (R1.2)
  and platform agents and admins (as the platform), with a ``cases:write`` token.
* What is accepted: see :mod:`aftersales.domain.evidence` (sniffed type on an allow-list,
  agreeing with the declared type and the extension; size per media class; pixel limit;
  an image's whole structure and its trailing data).
* What is served: an image is decoded in full and re-encoded without its metadata
  (EXIF/GPS, XMP, comments, trailing data), upright (:mod:`aftersales.services.images`);
  that file is the blob the parties download, and the uploaded file's SHA-256 and size are
  recorded on the item (``original_hash``, ``original_size``). Other types are served as
  uploaded.
  A refused upload stores nothing: the file is received into a private temporary file
  (cut off as soon as it passes its limit) and reaches the blob store only once every
  check passed; the row and its timeline entry are written in one transaction after that.
  (Should that transaction fail, the stored blob is unreferenced: content-addressed, it
  is harmless and is reused by the next upload of the same bytes.)
* Who downloads: the parties of the case (the buyer, the shop's accounts with
  ``handle_aftersales``, the platform); to anyone else an item is "not found" exactly like
  one that does not exist.
* The buyer's first item on the case is marked ``first_submission`` (R9.3: it weighs
  most).
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from aftersales.domain import evidence as rules
from aftersales.domain.case import Case
from aftersales.domain.case_types import Action, ActorKind
from aftersales.domain.errors import Forbidden, NotFound, ValidationFailed
from aftersales.domain.evidence import RULE, Limits, UploadKind
from aftersales.domain.i18n import N_
from aftersales.domain.policy import Party
from aftersales.services import engine, images
from aftersales.services.actors import Actor, can_see, require_case_access
from aftersales.services.context import Context
from aftersales.settings import Settings
from aftersales.store import cases as case_store
from aftersales.store import evidence as store
from aftersales.store.records import known

CHUNK = 1024 * 1024
_UPLOADERS = (ActorKind.BUYER, ActorKind.MERCHANT, ActorKind.PLATFORM)


@dataclass(frozen=True, slots=True)
class EvidenceView:
    id: int
    case_number: str
    party: str  # buyer | merchant | platform
    kind: str
    uploaded_by: str
    content_hash: str  # of the file served (an image: re-encoded without its metadata)
    size: int
    original_hash: str  # of the file uploaded (provenance)
    original_size: int
    media_type: str
    width: int | None
    height: int | None
    filename: str
    description: str
    first_submission: bool
    created_at: datetime


def limits_of(settings: Settings) -> Limits:
    return Limits(
        image_bytes=settings.evidence_max_image_bytes,
        video_bytes=settings.evidence_max_video_bytes,
        pdf_bytes=settings.evidence_max_pdf_bytes,
        max_pixels=settings.evidence_max_pixels,
        max_trailing_bytes=settings.evidence_max_trailing_bytes,
    )


def request_cap(settings: Settings) -> int:
    """The most bytes an upload request may carry: the largest file plus the multipart
    envelope (fields and headers)."""
    return limits_of(settings).largest + 64 * 1024


def file_cap(limits: Limits, content_type: str | None) -> int:
    """The most bytes a file declared as ``content_type`` may have (a type that is not
    accepted at all is refused at once)."""
    return limits.bytes_for(rules.declared_type(content_type).media_class)


def may_upload(ctx: Context, actor: Actor, case_number: str) -> None:
    """Refuses an uploader who may not add evidence to the case (404, 403), before any of
    the file is received."""
    with ctx.db.read() as conn:
        _require_uploader(actor, case_store.load_case(conn, case_number), case_number)


def _view(row: store.EvidenceItem, case_number: str) -> EvidenceView:
    return EvidenceView(
        id=row.id,
        case_number=case_number,
        party=row.party,
        kind=row.kind,
        uploaded_by=row.uploaded_by,
        content_hash=row.content_hash,
        size=int(row.size),
        # Items uploaded before 0011 were served as uploaded.
        original_hash=row.original_hash or row.content_hash,
        original_size=int(row.original_size if row.original_size is not None else row.size),
        media_type=row.media_type,
        width=row.width,
        height=row.height,
        filename=row.filename,
        description=row.description,
        first_submission=bool(row.first_submission),
        created_at=row.created_at,
    )


def _require_uploader(actor: Actor, case: Case | None, number: str) -> Case:
    if actor.kind is ActorKind.CARRIER:
        case = None  # carriers push tracking; they do not take part in a dispute
    case = require_case_access(actor, case, number, write=True)
    if actor.kind not in _UPLOADERS:
        raise Forbidden(
            "evidence.uploader_not_allowed",
            N_("Only the buyer, the shop and the platform add evidence to a case."),
            rule=RULE,
        )
    return case


def _kind(value: str) -> UploadKind:
    try:
        return UploadKind(value)
    except ValueError:
        raise ValidationFailed(
            "evidence.kind_unknown",
            N_("Unknown evidence kind {kind}."),
            field="kind",
            kind=value,
        ) from None


def _description(value: str) -> str:
    text = value.strip()
    if len(text) > rules.DESCRIPTION_MAX_CHARS:
        raise ValidationFailed(
            "text.too_long",
            N_("This text is at most {max} characters."),
            field="description",
            max=rules.DESCRIPTION_MAX_CHARS,
        )
    if "\x00" in text:
        raise ValidationFailed(
            "text.invalid",
            N_("This text contains characters that cannot be stored."),
            field="description",
        )
    return text


def _spool(source: BinaryIO, spool: BinaryIO, limit: int) -> tuple[str, int, bytes]:
    """Copy the upload into ``spool``, hashing it; stop as soon as it passes ``limit``."""
    digest = hashlib.sha256()
    head = bytearray()
    size = 0
    while chunk := source.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise rules.too_large(limit)
        digest.update(chunk)
        if len(head) < rules.HEAD_BYTES:
            head += chunk[: rules.HEAD_BYTES - len(head)]
        spool.write(chunk)
    return digest.hexdigest(), size, bytes(head)


@dataclass(frozen=True, slots=True)
class _Served:
    """The file the parties download: an image re-encoded without its metadata (``data``),
    anything else the upload itself (``data`` None: the spool)."""

    content_hash: str
    size: int
    width: int | None
    height: int | None
    data: bytes | None = None


def _served(
    spool: BinaryIO, digest: str, size: int, accepted: rules.Accepted, limits: Limits
) -> _Served:
    if accepted.media.media_class is not rules.MediaClass.IMAGE:
        return _Served(digest, size, accepted.width, accepted.height)
    original = spool.read()
    cleaned = images.clean(original, accepted, rules.check_image_file(original, accepted, limits))
    return _Served(
        hashlib.sha256(cleaned.data).hexdigest(),
        len(cleaned.data),
        cleaned.width,
        cleaned.height,
        cleaned.data,
    )


def upload_evidence(
    ctx: Context,
    actor: Actor,
    case_number: str,
    *,
    kind: str,
    filename: str,
    content_type: str | None,
    content: BinaryIO,
    description: str = "",
) -> EvidenceView:
    """Add one file of evidence to the case for the uploader's side (R9.3)."""
    limits = limits_of(ctx.settings)
    with ctx.db.read() as conn:
        _require_uploader(actor, case_store.load_case(conn, case_number), case_number)
    upload_kind = _kind(kind)
    text = _description(description)
    name = rules.check_filename(filename)
    declared = rules.declared_type(content_type)
    with tempfile.TemporaryFile(prefix="aftersales-upload-") as spool:
        digest, size, head = _spool(content, spool, limits.bytes_for(declared.media_class))
        accepted = rules.check_content(upload_kind, name, declared, head, size, limits)
        spool.seek(0)
        served = _served(spool, digest, size, accepted, limits)
        ctx.blobs().put(served.content_hash, served.data if served.data is not None else spool)
    now = ctx.now()
    with ctx.db.write() as conn:
        case = _require_uploader(actor, case_store.load_case(conn, case_number), case_number)
        assert case.id is not None and actor.id is not None
        store.lock_case(conn, case.id)
        party = rules.party_of(actor.kind.value)
        first = rules.is_first_submission(party, store.count_by_party(conn, case.id, party))
        item_id = store.insert_item(
            conn,
            case_id=case.id,
            uploaded_by=actor.id,
            account_id=actor.account_id,
            party=party.value,
            kind=upload_kind.value,
            content_hash=served.content_hash,
            size=served.size,
            original_hash=digest,
            original_size=size,
            media_type=accepted.media.name,
            width=served.width,
            height=served.height,
            filename=name,
            description=text,
            first_submission=first,
            now=now,
        )
        engine.note(
            conn,
            case,
            actor,
            Action.EVIDENCE_ADDED,
            RULE,
            {
                "evidence_id": item_id,
                "kind": upload_kind.value,
                "party": party.value,
                "media_type": accepted.media.name,
                "size": served.size,
                "original_sha256": digest,
                "original_size": size,
                "first_submission": first,
            },
            now,
        )
        return _view(known(store.item_by_id(conn, item_id)), case.number)


def _reader_case(actor: Actor, case: Case | None, number: str) -> Case:
    if actor.kind is ActorKind.CARRIER:
        case = None
    return require_case_access(actor, case, number, write=False)


def list_evidence(ctx: Context, actor: Actor, case_number: str) -> list[EvidenceView]:
    """The case's evidence, oldest first (metadata; both sides and the platform see all)."""
    with ctx.db.read() as conn:
        case = _reader_case(actor, case_store.load_case(conn, case_number), case_number)
        assert case.id is not None
        return [_view(r, case.number) for r in store.items_of_case(conn, case.id)]


def open_evidence(ctx: Context, actor: Actor, item_id: int) -> tuple[EvidenceView, Iterator[bytes]]:
    """One item's metadata and its bytes, for a party of the case; anyone else is told it
    does not exist."""
    with ctx.db.read() as conn:
        row = store.item_by_id(conn, item_id)
        case = case_store.load_case_by_id(conn, row.case_id) if row is not None else None
        if (
            row is None
            or case is None
            or actor.kind is ActorKind.CARRIER
            or not can_see(actor, case)
        ):
            raise NotFound("evidence.not_found", N_("Evidence {id} not found."), id=item_id)
        _reader_case(actor, case, case.number)
        view = _view(row, case.number)
    blob_store = ctx.blobs()
    if not blob_store.exists(view.content_hash):
        raise NotFound(
            "evidence.file_missing",
            N_("The file of evidence {id} is missing from storage."),
            id=item_id,
        )
    return view, blob_store.chunks(view.content_hash)


__all__ = ["EvidenceView", "Party", "list_evidence", "open_evidence", "upload_evidence"]
