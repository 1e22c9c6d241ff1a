"""Tiny real files: images made with Pillow (they decode in full), PNG, PDF and MP4 built
byte by byte, and the attacks of issues 6 and 11 (HTML disguised as PNG, SVG with script,
a decompression bomb's header, EXIF with GPS, polyglots, trailing data)."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

from PIL import Image


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int = 1, height: int = 1, *, pad: int = 0) -> bytes:
    """A PNG whose IHDR says width × height. Up to 4 million pixels it decodes (grey
    rows); larger ones carry a stub IDAT: a decompression bomb's header."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"\x00" * (width + 1) * height if width * height <= 4_000_000 else b"\x00\x00"
    body = _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(rows))
    if pad:
        body += _chunk(b"tEXt", b"c\x00" + b"x" * pad)
    return b"\x89PNG\r\n\x1a\n" + body + _chunk(b"IEND", b"")


def sized_png(total: int) -> bytes:
    """A valid PNG of exactly ``total`` bytes (a text chunk pads it)."""
    base = len(png(pad=1)) - 1
    return png(pad=total - base)


def _pillow(image: Image.Image, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def picture(width: int, height: int) -> Image.Image:
    """A white picture with a red top-left corner (to see its orientation)."""
    image = Image.new("RGB", (width, height), "white")
    image.paste("red", (0, 0, max(width // 3, 1), max(height // 3, 1)))
    return image


def jpeg(width: int = 2, height: int = 2, **options: Any) -> bytes:
    """A real JPEG (Pillow); ``options`` go to its encoder (``exif=...``)."""
    return _pillow(picture(width, height), "JPEG", quality=90, **options)


def jpeg_header(width: int, height: int) -> bytes:
    """Only a JPEG's header declaring width × height (no scan): a bomb's header."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3)
    sof += b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def gif(width: int = 1, height: int = 1, **options: Any) -> bytes:
    return _pillow(picture(width, height).convert("P"), "GIF", **options)


def gif_header(width: int, height: int) -> bytes:
    """Only a GIF's screen descriptor declaring width × height: a bomb's header."""
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00" + b";"


def animated_gif(width: int, height: int, frames: int) -> bytes:
    images = [picture(width, height).rotate(90 * k).convert("P") for k in range(frames)]
    return _pillow(images[0], "GIF", save_all=True, append_images=images[1:], duration=80)


def webp(width: int = 3, height: int = 2, **options: Any) -> bytes:
    return _pillow(picture(width, height), "WEBP", quality=90, **options)


def webp_header(width: int, height: int) -> bytes:
    """Only a WebP's VP8X header declaring width × height: a bomb's header."""
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00"
    vp8x += (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x


def exif(*, orientation: int = 1, gps: bool = True) -> Image.Exif:
    """EXIF as a phone writes it: camera, owner, time and (``gps``) where it was taken."""
    data = Image.Exif()
    data[0x010F] = "PhoneMaker"  # Make
    data[0x0110] = "Phone 15 Pro"  # Model
    data[0x013B] = "Li Lei"  # Artist
    data[0x0132] = "2026:11:24 09:15:00"  # DateTime
    data[0x0112] = orientation
    if gps:
        data[0x8825] = {  # GPSInfo: 30.2741 N, 120.1551 E (Hangzhou)
            1: "N",
            2: (30.0, 16.0, 26.76),
            3: "E",
            4: (120.0, 9.0, 18.36),
        }
    return data


# Byte strings whose presence in a file shows its EXIF survived.
EXIF_MARKERS = (b"PhoneMaker", b"Phone 15 Pro", b"Li Lei", b"Exif\x00\x00")


def pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def mp4(brand: bytes = b"isom") -> bytes:
    ftyp = b"ftyp" + brand + b"\x00\x00\x02\x00" + b"isomiso2mp41"
    mdat = b"mdat" + b"\x00" * 16
    return struct.pack(">I", 4 + len(ftyp)) + ftyp + struct.pack(">I", 4 + len(mdat)) + mdat


def mov() -> bytes:
    return mp4(b"qt  ")


HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script></svg>"
)
