"""Evidence images: decode fully, refuse what is not the sniffed type, and
re-encode without metadata, with Pillow.

An uploaded photo carries what its camera wrote: EXIF with GPS position, time, device and
owner, XMP, IPTC, comments, thumbnails, and sometimes data after the image (a polyglot's
payload). The other party gets only the picture: every frame is decoded (which also
proves the file *is* a picture of its sniffed type, all the way through, not a header in
front of something else), its EXIF orientation is applied so it still looks right, a
colour profile is converted to sRGB, and the pixels alone are written into a new file of
the same type. Nothing of the original's bytes is copied: a polyglot's payload, metadata
and trailing data cannot reach the stored file. The original's SHA-256 and size are
recorded beside the item for provenance.

Before Pillow sees the bytes, :func:`aftersales.domain.evidence.check_image_file` has
checked the file's structure, its trailing data and the pixels of all its frames against
the limit, so nothing larger than the limit is decoded.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageCms, ImageOps, JpegImagePlugin

from aftersales.domain.errors import ValidationFailed
from aftersales.domain.evidence import FILE_FIELD, RULE, Accepted, ImageFile, MediaType
from aftersales.domain.i18n import N_

# Pillow's format names per sniffed type (a JPEG with a multi-picture segment opens as MPO).
_FORMATS = {
    "image/jpeg": ("JPEG", frozenset({"JPEG", "MPO"})),
    "image/png": ("PNG", frozenset({"PNG"})),
    "image/gif": ("GIF", frozenset({"GIF"})),
    "image/webp": ("WEBP", frozenset({"WEBP"})),
}
_OPEN_AS = ("JPEG", "PNG", "GIF", "WEBP")  # an MPO opens through the JPEG plugin
_SRGB = ImageCms.createProfile("sRGB")


@dataclass(frozen=True, slots=True)
class Cleaned:
    data: bytes
    width: int
    height: int


def _refuse(code: str, message: str, **params: Any) -> ValidationFailed:
    return ValidationFailed(code, message, field=FILE_FIELD, rule=RULE, **params)


def _undecodable(media: MediaType) -> ValidationFailed:
    return _refuse(
        "evidence.image_undecodable",
        N_("The file does not decode as a {type} image."),
        type=media.name,
    )


def _open(data: bytes, media: MediaType) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data), formats=_OPEN_AS)
    except Exception:  # Pillow raises many kinds for a broken file; all mean "not an image"
        raise _undecodable(media) from None
    _, formats = _FORMATS[media.name]
    if image.format not in formats:
        raise _refuse(
            "evidence.decoded_type_mismatch",
            N_("The file decodes as {decoded}, not as {type}."),
            decoded=str(image.format),
            type=media.name,
        )
    return image


def _target_mode(frame: Image.Image, media: MediaType) -> str:
    alpha = frame.has_transparency_data
    if media.name == "image/jpeg":
        return "L" if frame.mode in ("1", "L") else "RGB"
    if alpha:
        return "RGBA"
    return "L" if frame.mode in ("1", "L") else "RGB"


def _pixels_only(frame: Image.Image, media: MediaType) -> Image.Image:
    """The frame's pixels, upright, in sRGB, in a new image that carries nothing else."""
    upright = ImageOps.exif_transpose(frame)
    mode = _target_mode(upright, media)
    icc = upright.info.get("icc_profile")
    converted = None
    if icc and mode in ("RGB", "RGBA") and upright.mode in ("RGB", "RGBA", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(upright, source, _SRGB, outputMode=mode)
        except (ImageCms.PyCMSError, OSError, ValueError):
            converted = None  # an unreadable profile is dropped with the rest
    pixels = converted if converted is not None else upright.convert(mode)
    return Image.frombytes(mode, pixels.size, pixels.tobytes())


def _encode(frames: list[Image.Image], source: Image.Image, media: MediaType) -> bytes:
    """``frames`` as a new file of the source's type; an animation keeps its timing."""
    out = io.BytesIO()
    name, _ = _FORMATS[media.name]
    first, rest = frames[0], frames[1:]
    options: dict[str, Any] = {}
    if rest:
        options = {
            "save_all": True,
            "append_images": rest,
            "duration": [int(f.info.get("duration", 100)) for f in frames],
        }
        if "loop" in source.info:
            options["loop"] = int(source.info["loop"])
    if name == "JPEG":
        qtables = getattr(source, "quantization", None)
        if qtables:  # keep the original's quality: re-encode with its quantisation tables
            sampling = JpegImagePlugin.get_sampling(source)
            options.update(qtables=qtables, subsampling=sampling if sampling >= 0 else 2)
        else:
            options.update(quality=90)
    elif name == "WEBP":
        options.update(quality=90)
    first.save(out, format=name, **options)
    return out.getvalue()


def clean(data: bytes, accepted: Accepted, structure: ImageFile) -> Cleaned:
    """The image decoded in full and re-encoded as its own type with its pixels alone
    (upright, sRGB). Refused (422 ``file``, R9.3) when it does not decode as its sniffed
    type or its decoded size is not its header's."""
    media = accepted.media
    image = _open(data, media)
    frames: list[Image.Image] = []
    try:
        if image.size != (accepted.width, accepted.height):
            raise _undecodable(media)
        # An MPO's other pictures (a preview, a gain map) are dropped, not decoded.
        count = 1 if image.format == "MPO" else getattr(image, "n_frames", 1)
        if count > max(structure.frames, 1):
            raise _undecodable(media)  # more frames than its structure declares
        for index in range(count):
            image.seek(index)
            image.load()
            frame = _pixels_only(image, media)
            frame.info["duration"] = image.info.get("duration", 100)
            frames.append(frame)
        encoded = _encode(frames, image, media)
    except ValidationFailed:
        raise
    except Exception:  # a broken frame, a truncated stream, a decompression bomb
        raise _undecodable(media) from None
    finally:
        image.close()
    return Cleaned(encoded, frames[0].width, frames[0].height)
