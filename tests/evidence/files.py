"""Tiny real files, built byte by byte: valid headers of every allowed type, and the
attacks of issue 6 (HTML disguised as PNG, SVG with script, a decompression bomb)."""

from __future__ import annotations

import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int = 1, height: int = 1, *, pad: int = 0) -> bytes:
    """A PNG whose IHDR says width × height (a 1×1 one decodes; a huge one is a bomb)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\x00\x00"))
    if pad:
        body += _chunk(b"tEXt", b"c\x00" + b"x" * pad)
    return b"\x89PNG\r\n\x1a\n" + body + _chunk(b"IEND", b"")


def sized_png(total: int) -> bytes:
    """A valid PNG of exactly ``total`` bytes (a text chunk pads it)."""
    base = len(png(pad=1)) - 1
    return png(pad=total - base)


def jpeg(width: int = 2, height: int = 2) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3)
    sof += b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def gif(width: int = 1, height: int = 1) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00" + b";"


def webp(width: int = 3, height: int = 2) -> bytes:
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00"
    vp8x += (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x


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
