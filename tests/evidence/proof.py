"""The evidence a refusal rests on (R5.5): the shop uploads files of the kinds a refusal
code requires, and the refusal names their ids."""

from __future__ import annotations

import io

from aftersales.domain.policy import EvidenceKind
from aftersales.services import evidence
from aftersales.services.actors import Actor
from aftersales.services.context import Context
from tests.evidence import files

_FILES = {
    EvidenceKind.UNBOXING_VIDEO: ("unboxing.mp4", "video/mp4", files.mp4),
    EvidenceKind.VIDEO: ("clip.mp4", "video/mp4", files.mp4),
}


def upload(ctx: Context, actor: Actor, number: str, kind: EvidenceKind | str) -> int:
    """One file of ``kind`` added to the case by ``actor``; its id."""
    kind = EvidenceKind(kind)
    name, ctype, make = _FILES.get(kind, (f"{kind.value}.png", "image/png", files.png))
    return evidence.upload_evidence(
        ctx,
        actor,
        number,
        kind=kind.value,
        filename=name,
        content_type=ctype,
        content=io.BytesIO(make()),
    ).id


def proof(ctx: Context, actor: Actor, number: str, *kinds: EvidenceKind | str) -> list[int]:
    """The shop's evidence items of ``kinds`` on the case, uploaded now: their ids."""
    return [upload(ctx, actor, number, kind) for kind in kinds]
