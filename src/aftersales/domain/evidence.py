"""Evidence uploads (R9.3): what a file must be to be accepted as evidence.

Pure checks over a file's name, its declared type, its first bytes and its size; no I/O.
The type is *sniffed* from magic numbers (a short, explicit allow-list: JPEG, PNG, WebP,
GIF, MP4/QuickTime, PDF); the declared ``Content-Type`` and the name's extension must agree
with it. Images are refused when their header declares more pixels than the limit (a
decompression bomb) — the dimensions are read from the header, before anything is decoded.
:func:`check_image_file` then walks the whole image's structure (PNG chunks, GIF blocks,
JPEG segments and entropy-coded data, the WebP RIFF container): it must end the way its
type ends, carry no more than a little data after that end, and hold no more pixels in
all its frames than the limit. (Decoding and re-encoding is the service's:
``services/images.py``.) The numbers (byte limits per media class, the pixel limit, the
trailing bytes tolerated) are operational settings the caller passes in as :class:`Limits`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import unquote

from aftersales.domain.errors import ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.domain.policy import EvidenceKind, Party

RULE = "R9.3"
FILE_FIELD = "file"
DESCRIPTION_MAX_CHARS = 1000  # an input limit, not a rule
FILENAME_MAX_CHARS = 200
HEAD_BYTES = 256 * 1024  # how much of a file the sniffers read (JPEG headers incl. EXIF)


class UploadKind(StrEnum):
    """What an uploaded item is evidence *of* (each item is typed)."""

    PHOTO = "photo"
    VIDEO = "video"
    UNBOXING_VIDEO = "unboxing_video"
    CHAT_LOG = "chat_log"  # chat screenshots or an exported log
    CARRIER_PROOF = "carrier_proof"
    QC_RECORD = "qc_record"
    FORCE_MAJEURE_APPROVAL = "force_majeure_approval"
    DOCUMENT = "document"


class MediaClass(StrEnum):
    """Size limits are per class."""

    IMAGE = "image"
    VIDEO = "video"
    PDF = "pdf"


@dataclass(frozen=True, slots=True)
class MediaType:
    name: str  # the sniffed type served back (Content-Type)
    media_class: MediaClass
    extensions: frozenset[str]


_TYPES = (
    MediaType("image/jpeg", MediaClass.IMAGE, frozenset({"jpg", "jpeg"})),
    MediaType("image/png", MediaClass.IMAGE, frozenset({"png"})),
    MediaType("image/webp", MediaClass.IMAGE, frozenset({"webp"})),
    MediaType("image/gif", MediaClass.IMAGE, frozenset({"gif"})),
    MediaType("video/mp4", MediaClass.VIDEO, frozenset({"mp4", "m4v"})),
    MediaType("video/quicktime", MediaClass.VIDEO, frozenset({"mov"})),
    MediaType("application/pdf", MediaClass.PDF, frozenset({"pdf"})),
)
MEDIA_TYPES: dict[str, MediaType] = {t.name: t for t in _TYPES}
ALLOWED_EXTENSIONS: frozenset[str] = frozenset(e for t in _TYPES for e in t.extensions)
# Declared types some clients send for the same thing.
_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png"}
# Never acceptable anywhere in a name (`x.php.jpg` is as suspect as `x.jpg.php`).
_DANGEROUS = frozenset(
    {
        "php", "php3", "php4", "php5", "phtml", "phar", "asp", "aspx", "jsp", "jspx", "cgi",
        "pl", "py", "rb", "sh", "bash", "exe", "dll", "bat", "cmd", "com", "msi", "scr",
        "ps1", "vbs", "js", "mjs", "jar", "htm", "html", "xhtml", "shtml", "svg", "svgz",
        "xml", "hta", "swf",
    }
)  # fmt: skip

# Which media classes each kind accepts.
KIND_MEDIA: dict[UploadKind, frozenset[MediaClass]] = {
    UploadKind.PHOTO: frozenset({MediaClass.IMAGE}),
    UploadKind.VIDEO: frozenset({MediaClass.VIDEO}),
    UploadKind.UNBOXING_VIDEO: frozenset({MediaClass.VIDEO}),
    UploadKind.CHAT_LOG: frozenset({MediaClass.IMAGE, MediaClass.PDF}),
    UploadKind.CARRIER_PROOF: frozenset({MediaClass.IMAGE, MediaClass.PDF}),
    UploadKind.QC_RECORD: frozenset({MediaClass.IMAGE, MediaClass.PDF, MediaClass.VIDEO}),
    UploadKind.FORCE_MAJEURE_APPROVAL: frozenset({MediaClass.IMAGE, MediaClass.PDF}),
    UploadKind.DOCUMENT: frozenset({MediaClass.IMAGE, MediaClass.PDF}),
}

# The evidence kinds the policy's rules name (refusal codes, templates).
POLICY_KIND: dict[UploadKind, EvidenceKind] = {
    UploadKind.PHOTO: EvidenceKind.PHOTO,
    UploadKind.VIDEO: EvidenceKind.VIDEO,
    UploadKind.UNBOXING_VIDEO: EvidenceKind.UNBOXING_VIDEO,
    UploadKind.CHAT_LOG: EvidenceKind.CHAT_LOG,
    UploadKind.CARRIER_PROOF: EvidenceKind.CARRIER_PROOF,
    UploadKind.QC_RECORD: EvidenceKind.QC_RECORD,
    UploadKind.FORCE_MAJEURE_APPROVAL: EvidenceKind.FORCE_MAJEURE_APPROVAL,
    UploadKind.DOCUMENT: EvidenceKind.DOCUMENT,
}

KIND_LABELS: dict[UploadKind, str] = {
    UploadKind.PHOTO: N_("Photo"),
    UploadKind.VIDEO: N_("Video"),
    UploadKind.UNBOXING_VIDEO: N_("Unboxing video"),
    UploadKind.CHAT_LOG: N_("Chat log"),
    UploadKind.CARRIER_PROOF: N_("Carrier proof"),
    UploadKind.QC_RECORD: N_("QC record"),
    UploadKind.FORCE_MAJEURE_APPROVAL: N_("Force-majeure approval"),
    UploadKind.DOCUMENT: N_("Document"),
}


@dataclass(frozen=True, slots=True)
class Limits:
    image_bytes: int
    video_bytes: int
    pdf_bytes: int
    max_pixels: int
    max_trailing_bytes: int = 64 * 1024

    def bytes_for(self, media_class: MediaClass) -> int:
        return {
            MediaClass.IMAGE: self.image_bytes,
            MediaClass.VIDEO: self.video_bytes,
            MediaClass.PDF: self.pdf_bytes,
        }[media_class]

    @property
    def largest(self) -> int:
        return max(self.image_bytes, self.video_bytes, self.pdf_bytes)


def _refuse(code: str, message: str, **params: Any) -> ValidationFailed:
    return ValidationFailed(code, message, field=FILE_FIELD, rule=RULE, **params)


# --------------------------------------------------------------------------- names
_SEPARATORS = re.compile(r"[/\\]")


def check_filename(name: str) -> str:
    """The original name, for display only (files are stored under their hash). Refuses
    control characters (NUL included), path separators and ``..``, an extension outside
    the allow-list, and a dangerous extension anywhere in the name (``x.jpg.php``)."""
    if not name or not name.strip():
        raise _refuse("evidence.filename_missing", N_("The file needs a name."))
    # Clients percent-encode what a header cannot carry (`%00`, `%2F`): judge both forms.
    for form in dict.fromkeys((name, unquote(name))):
        _check_name_characters(form)
    clean = unicodedata.normalize("NFC", name.strip())
    if len(clean) > FILENAME_MAX_CHARS:
        raise _refuse(
            "evidence.filename_too_long",
            N_("The file name is at most {max} characters."),
            max=FILENAME_MAX_CHARS,
        )
    parts = clean.lower().split(".")
    if len(parts) < 2 or parts[-1] not in ALLOWED_EXTENSIONS:
        raise _refuse(
            "evidence.extension_not_allowed",
            N_("Files ending in .{extension} are not accepted; allowed: {allowed}."),
            extension=parts[-1] if len(parts) > 1 else "",
            allowed=", ".join(sorted(ALLOWED_EXTENSIONS)),
        )
    if any(p.strip() in _DANGEROUS for p in parts[1:-1]):
        raise _refuse(
            "evidence.double_extension",
            N_("The file name hides another type behind its extension."),
        )
    return clean


def _check_name_characters(name: str) -> None:
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
        raise _refuse(
            "evidence.filename_invalid",
            N_("The file name contains control characters (such as NUL)."),
        )
    if _SEPARATORS.search(name) or ".." in name:
        raise _refuse(
            "evidence.filename_path",
            N_("The file name may not contain a path (/, \\ or ..)."),
        )


def extension_of(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower()


# --------------------------------------------------------------------------- types
def declared_type(content_type: str | None) -> MediaType:
    """The type the client declared for the file part: must be on the allow-list."""
    raw = (content_type or "").split(";", 1)[0].strip().lower()
    media = MEDIA_TYPES.get(_ALIASES.get(raw, raw))
    if media is None:
        raise _refuse(
            "evidence.type_not_allowed",
            N_("Files of type {type} are not accepted; allowed: {allowed}."),
            type=raw or "-",
            allowed=", ".join(MEDIA_TYPES),
        )
    return media


def sniff(head: bytes) -> MediaType | None:
    """The type a file's first bytes show, from the allow-list, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return MEDIA_TYPES["image/jpeg"]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return MEDIA_TYPES["image/png"]
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return MEDIA_TYPES["image/webp"]
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return MEDIA_TYPES["image/gif"]
    if head.startswith(b"%PDF-"):
        return MEDIA_TYPES["application/pdf"]
    if head[4:8] == b"ftyp" and len(head) >= 12:
        brand = head[8:12]
        return MEDIA_TYPES["video/quicktime" if brand == b"qt  " else "video/mp4"]
    return None


def _u16be(b: bytes, i: int) -> int:
    return int.from_bytes(b[i : i + 2], "big")


def _jpeg_size(head: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 4 <= len(head):
        if head[i] != 0xFF:
            return None
        marker = head[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # no length
            i += 2
            continue
        length = _u16be(head, i + 2)
        if length < 2:
            return None
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            if i + 9 > len(head):
                return None
            return _u16be(head, i + 7), _u16be(head, i + 5)  # width, height
        if marker == 0xDA:  # start of scan before any frame header
            return None
        i += 2 + length
    return None


def image_size(head: bytes, media: MediaType) -> tuple[int, int] | None:
    """(width, height) from the image's header, without decoding it; None if unreadable."""
    if media.name == "image/png":
        if head[12:16] != b"IHDR" or len(head) < 24:
            return None
        return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    if media.name == "image/gif":
        if len(head) < 10:
            return None
        return int.from_bytes(head[6:8], "little"), int.from_bytes(head[8:10], "little")
    if media.name == "image/webp":
        chunk = head[12:16]
        if chunk == b"VP8X" and len(head) >= 30:
            w = int.from_bytes(head[24:27], "little") + 1
            return w, int.from_bytes(head[27:30], "little") + 1
        if chunk == b"VP8 " and len(head) >= 30 and head[23:26] == b"\x9d\x01\x2a":
            w = int.from_bytes(head[26:28], "little") & 0x3FFF
            return w, int.from_bytes(head[28:30], "little") & 0x3FFF
        if chunk == b"VP8L" and len(head) >= 25 and head[20] == 0x2F:
            bits = int.from_bytes(head[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        return None
    if media.name == "image/jpeg":
        return _jpeg_size(head)
    return None


@dataclass(frozen=True, slots=True)
class Accepted:
    media: MediaType
    width: int | None
    height: int | None


def check_content(
    kind: UploadKind,
    filename: str,
    declared: MediaType,
    head: bytes,
    size: int,
    limits: Limits,
) -> Accepted:
    """The sniffed type must be on the allow-list, equal the declared type and match the
    name's extension; the kind must accept its class; the size and (for images) the
    pixel count must be within the limits."""
    sniffed = sniff(head)
    if sniffed is None:
        raise _refuse(
            "evidence.content_not_allowed",
            N_("The file's content is not an accepted type ({allowed})."),
            allowed=", ".join(MEDIA_TYPES),
        )
    if sniffed.name != declared.name:
        raise _refuse(
            "evidence.type_mismatch",
            N_("The file was declared as {declared} but its content is {sniffed}."),
            declared=declared.name,
            sniffed=sniffed.name,
        )
    if extension_of(filename) not in sniffed.extensions:
        raise _refuse(
            "evidence.extension_mismatch",
            N_("The file name's extension does not match its content ({sniffed})."),
            sniffed=sniffed.name,
        )
    if sniffed.media_class not in KIND_MEDIA[kind]:
        raise ValidationFailed(
            "evidence.kind_mismatch",
            N_("A {kind} cannot be a file of type {type}."),
            field="kind",
            rule=RULE,
            kind=kind.value,
            type=sniffed.name,
        )
    check_size(size, sniffed.media_class, limits)
    if size == 0:
        raise _refuse("evidence.empty", N_("The file is empty."))
    width = height = None
    if sniffed.media_class is MediaClass.IMAGE:
        dims = image_size(head, sniffed)
        if dims is None:
            raise _refuse(
                "evidence.image_unreadable",
                N_("The image's dimensions cannot be read from its header."),
            )
        width, height = dims
        if width <= 0 or height <= 0 or width * height > limits.max_pixels:
            raise _refuse(
                "evidence.image_too_large",
                N_("The image is {width} × {height} pixels; at most {max} pixels are accepted."),
                width=width,
                height=height,
                max=limits.max_pixels,
            )
    return Accepted(sniffed, width, height)


# --------------------------------------------------------------------------- structure
@dataclass(frozen=True, slots=True)
class ImageFile:
    """What walking an image's bytes found: where the image ends and how many frames it
    declares (an animation's frames each hold width × height pixels)."""

    end: int
    frames: int


def _u32be(b: bytes, i: int) -> int:
    return int.from_bytes(b[i : i + 4], "big")


def _png_extent(data: bytes) -> ImageFile | None:
    i, frames = 8, 1
    while i + 12 <= len(data):
        length, kind = _u32be(data, i), data[i + 4 : i + 8]
        if kind == b"acTL" and length >= 8:  # APNG: the number of frames
            frames = max(1, _u32be(data, i + 8))
        i += 12 + length
        if kind == b"IEND":
            return ImageFile(i, frames) if i <= len(data) else None
    return None


def _gif_sub_blocks(data: bytes, i: int) -> int | None:
    while i < len(data):
        size = data[i]
        i += 1 + size
        if size == 0:
            return i
    return None


def _gif_extent(data: bytes) -> ImageFile | None:
    if len(data) < 13:
        return None
    packed = data[10]
    i = 13 + (3 << ((packed & 7) + 1) if packed & 0x80 else 0)
    frames = 0
    while i < len(data):
        block = data[i]
        if block == 0x3B:  # trailer
            return ImageFile(i + 1, max(frames, 1))
        if block == 0x21:  # extension: label, then sub-blocks
            end = _gif_sub_blocks(data, i + 2)
        elif block == 0x2C:  # image descriptor, local colour table, LZW code size, data
            if i + 10 > len(data):
                return None
            local = data[i + 9]
            table = 3 << ((local & 7) + 1) if local & 0x80 else 0
            end = _gif_sub_blocks(data, i + 10 + table + 1)
            frames += 1
        else:
            return None
        if end is None:
            return None
        i = end
    return None


def _mpf_end(data: bytes, base: int) -> int:
    """The end of the last image a JPEG's MPF segment (multi-picture: a camera's preview,
    a phone's HDR gain map) declares after the primary one; 0 if none can be read."""
    order = data[base : base + 2]
    if order not in (b"II", b"MM"):
        return 0
    endian: Any = "little" if order == b"II" else "big"

    def num(at: int, size: int) -> int:
        return int.from_bytes(data[base + at : base + at + size], endian)

    ifd = num(4, 4)
    count = num(ifd, 2)
    for k in range(min(count, 64)):
        entry = ifd + 2 + 12 * k
        if num(entry, 2) != 0xB002:  # MP Entry
            continue
        length, offset = num(entry + 4, 4), num(entry + 8, 4)
        ends = [
            num(offset + 16 * n + 8, 4) + num(offset + 16 * n + 4, 4)
            for n in range(min(length // 16, 64))
            if num(offset + 16 * n + 8, 4)  # the primary image's offset is 0
        ]
        last = base + max(ends, default=0)
        return last if ends and last <= len(data) else 0
    return 0


def _jpeg_extent(data: bytes) -> ImageFile | None:
    i, declared = 2, 0
    while i + 2 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xD9:  # end of image
            return ImageFile(max(i + 2, declared), 1)
        if marker in (0x01, *range(0xD0, 0xD8)):  # no length
            i += 2
            continue
        if i + 4 > len(data):
            return None
        length = _u16be(data, i + 2)
        if length < 2:
            return None
        if marker == 0xE2 and data[i + 4 : i + 8] == b"MPF\x00":
            declared = max(declared, _mpf_end(data, i + 8))
        i += 2 + length
        if marker == 0xDA:  # start of scan: entropy-coded data up to the next marker
            while True:
                i = data.find(b"\xff", i)
                if i < 0 or i + 1 >= len(data):
                    return None
                following = data[i + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:  # stuffed byte, restart
                    i += 2
                elif following == 0xFF:
                    i += 1
                else:
                    break
    return None


def _webp_extent(data: bytes) -> ImageFile | None:
    if len(data) < 12:
        return None
    size = int.from_bytes(data[4:8], "little")
    end = 8 + size + (size & 1)
    if end > len(data) or size < 4:
        return None
    i, frames = 12, 0
    while i + 8 <= end:
        length = int.from_bytes(data[i + 4 : i + 8], "little")
        frames += data[i : i + 4] == b"ANMF"
        i += 8 + length + (length & 1)
    return ImageFile(end, max(frames, 1))


_EXTENTS = {
    "image/png": _png_extent,
    "image/gif": _gif_extent,
    "image/jpeg": _jpeg_extent,
    "image/webp": _webp_extent,
}


def check_image_file(data: bytes, accepted: Accepted, limits: Limits) -> ImageFile:
    """The whole image must be well formed as its sniffed type, carry at most
    ``limits.max_trailing_bytes`` after its end (a polyglot's payload, a phone's appended
    video), and hold at most ``limits.max_pixels`` in all its frames."""
    found = _EXTENTS[accepted.media.name](data)
    if found is None:
        raise _refuse(
            "evidence.image_malformed",
            N_("The image is broken: it does not end the way a {type} file ends."),
            type=accepted.media.name,
        )
    trailing = len(data) - found.end
    if trailing > limits.max_trailing_bytes:
        raise _refuse(
            "evidence.trailing_data",
            N_(
                "The image carries {extra} bytes of other data after its end (at most "
                "{max} are accepted); send the picture alone."
            ),
            extra=trailing,
            max=limits.max_trailing_bytes,
        )
    width, height = accepted.width or 0, accepted.height or 0
    if found.frames > 1 and found.frames * width * height > limits.max_pixels:
        raise _refuse(
            "evidence.animation_too_large",
            N_(
                "The image has {frames} frames of {width} × {height} pixels; at most {max} "
                "pixels in all are accepted."
            ),
            frames=found.frames,
            width=width,
            height=height,
            max=limits.max_pixels,
        )
    return found


def too_large(limit: int) -> ValidationFailed:
    return _refuse(
        "evidence.too_large",
        N_("The file is larger than {max} bytes, the limit for this type."),
        max=limit,
    )


def check_size(size: int, media_class: MediaClass, limits: Limits) -> None:
    limit = limits.bytes_for(media_class)
    if size > limit:
        raise too_large(limit)


def party_of(actor_kind: str) -> Party:
    """The side an uploader speaks for: a buyer, the shop, or the platform."""
    return {"buyer": Party.BUYER, "merchant": Party.MERCHANT}.get(actor_kind, Party.PLATFORM)


def is_first_submission(party: Party, buyer_items_before: int) -> bool:
    """R9.3: the buyer's first submission on the case weighs most."""
    return party is Party.BUYER and buyer_items_before == 0
