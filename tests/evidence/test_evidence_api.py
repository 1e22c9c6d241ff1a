"""Evidence over HTTP (issue 6 item 2, R9.3), on SQLite and PostgreSQL.

Every upload attack of the issue is refused with a 422 naming the field, and leaves no
row and no file behind. Downloads go to the parties of the case only, as attachments.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.api.support import (
    ADMIN,
    AGENT,
    BUYER_A,
    BUYER_B,
    SERVICE,
    X_MAIN,
    X_SUB_HANDLE,
    X_SUB_PLAIN,
    Y_MAIN,
    ApiWorld,
)
from tests.conftest import storage_free
from tests.evidence import files


def _dir(world: ApiWorld) -> Path:
    path = world.ctx.settings.evidence_dir
    assert path is not None
    return path


def stored_files(world: ApiWorld) -> list[Path]:
    root = _dir(world)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def upload(
    world: ApiWorld,
    principal: str,
    case: str,
    name: str,
    data: bytes,
    content_type: str,
    kind: str = "photo",
    description: str = "",
) -> httpx.Response:
    return world.call(
        principal,
        "POST",
        f"/api/v1/cases/{case}/evidence",
        files={"file": (name, data, content_type)},
        data={"kind": kind, "description": description},
    )


def items(world: ApiWorld, case: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = world.ok(ADMIN, "GET", f"/api/v1/cases/{case}/evidence")
    return result


def same_picture(a: bytes, b: bytes, tolerance: int = 0) -> bool:
    """Same size, and each pixel's channels within ``tolerance`` (lossy re-encoding)."""
    with Image.open(io.BytesIO(a)) as x, Image.open(io.BytesIO(b)) as y:
        one, two = x.convert("RGB"), y.convert("RGB")
        if one.size != two.size:
            return False
        pairs = zip(one.get_flattened_data(), two.get_flattened_data(), strict=True)
        return all(abs(p - q) <= tolerance for u, v in pairs for p, q in zip(u, v, strict=True))


def limit(world: ApiWorld, **kw: int) -> None:
    world.ctx.settings = world.ctx.settings.model_copy(update=kw)


# --------------------------------------------------------------------------- attacks
ATTACKS = {
    "jpg_php_double_extension": ("receipt.jpg.php", files.jpeg(), "image/jpeg", "file"),
    "php_hidden_inside_the_name": ("receipt.php.jpg", files.jpeg(), "image/jpeg", "file"),
    "nul_in_the_name": ("photo\x00.png", files.png(), "image/png", "file"),
    "dot_dot_slash_in_the_name": ("../../photo.png", files.png(), "image/png", "file"),
    "backslash_in_the_name": ("..\\photo.png", files.png(), "image/png", "file"),
    "html_disguised_as_png": ("photo.png", files.HTML, "image/png", "file"),
    "svg_with_script": ("drawing.svg", files.SVG, "image/svg+xml", "file"),
    "svg_with_script_named_png": ("drawing.png", files.SVG, "image/png", "file"),
    "declared_type_disagrees": ("photo.png", files.png(), "image/jpeg", "file"),
    "extension_disagrees": ("photo.jpg", files.png(), "image/png", "file"),
    "decompression_bomb_png": ("bomb.png", files.png(100_000, 100_000), "image/png", "file"),
    "decompression_bomb_jpeg": (
        "bomb.jpg",
        files.jpeg_header(65_000, 65_000),
        "image/jpeg",
        "file",
    ),
    "empty_file": ("photo.png", b"", "image/png", "file"),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_upload_attack_is_refused_naming_the_field_and_nothing_is_stored(
    world: ApiWorld, attack: str
) -> None:
    name, data, ctype, field = ATTACKS[attack]
    before = stored_files(world)
    resp = upload(world, BUYER_A, world.case_a, name, data, ctype)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    doc = resp.json()
    assert [e["field"] for e in doc["errors"]] == [field], doc
    assert doc["code"].startswith("evidence."), doc
    assert items(world, world.case_a) == []
    assert stored_files(world) == before


def _raw_upload(world: ApiWorld, filename: bytes, data: bytes, ctype: str) -> httpx.Response:
    """A multipart body written by hand: the name's bytes go on the wire as they are."""
    boundary = b"b0undary"
    body = (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="kind"\r\n\r\nphoto\r\n'
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="'
        + filename + b'"\r\nContent-Type: ' + ctype.encode() + b"\r\n\r\n"
        + data + b"\r\n--" + boundary + b"--\r\n"
    )  # fmt: skip
    return world.call(
        BUYER_A,
        "POST",
        f"/api/v1/cases/{world.case_a}/evidence",
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=b0undary"},
    )


@pytest.mark.parametrize("name", [b"photo\x00.png", b"photo.png\x00.php", b"../photo.png"])
def test_raw_nul_and_path_in_the_name_on_the_wire_are_refused(world: ApiWorld, name: bytes) -> None:
    resp = _raw_upload(world, name, files.png(), "image/png")
    assert resp.status_code == 422, resp.text
    assert resp.json()["errors"][0]["field"] == "file"
    assert resp.json()["code"] in ("evidence.filename_invalid", "evidence.filename_path")
    assert items(world, world.case_a) == [] and stored_files(world) == []


def test_a_file_one_byte_over_the_limit_is_refused_and_one_at_it_is_accepted(
    world: ApiWorld,
) -> None:
    limit(world, evidence_max_image_bytes=4096)
    over = upload(world, BUYER_A, world.case_a, "big.png", files.sized_png(4097), "image/png")
    assert over.status_code == 422, over.text
    assert over.json()["code"] == "evidence.too_large"
    assert over.json()["errors"][0]["field"] == "file"
    assert items(world, world.case_a) == [] and stored_files(world) == []
    at = upload(world, BUYER_A, world.case_a, "big.png", files.sized_png(4096), "image/png")
    assert at.status_code == 201, at.text
    assert at.json()["original_size"] == 4096  # served without its 4 KB text chunk


@storage_free()  # cut off while the body is received, before any use case
def test_a_body_over_the_largest_limit_is_cut_off_before_it_is_parsed(world: ApiWorld) -> None:
    limit(world, evidence_max_image_bytes=1000, evidence_max_video_bytes=1000)
    limit(world, evidence_max_pdf_bytes=1000)
    huge = files.sized_png(200_000)
    resp = upload(world, BUYER_A, world.case_a, "huge.png", huge, "image/png")
    assert resp.status_code == 422, resp.text
    assert resp.json()["code"] == "evidence.request_too_large"
    assert resp.json()["errors"][0]["field"] == "file"

    # The same without a Content-Length (chunked): cut off while it is received.
    boundary = "xyzzy"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nphoto\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="h.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()

    def body() -> Iterator[bytes]:
        yield head
        for i in range(0, len(huge), 8192):
            yield huge[i : i + 8192]
        yield f"\r\n--{boundary}--\r\n".encode()

    resp = world.call(
        BUYER_A,
        "POST",
        f"/api/v1/cases/{world.case_a}/evidence",
        content=body(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert resp.status_code == 422, resp.text
    assert resp.json()["code"] == "evidence.request_too_large"
    assert items(world, world.case_a) == [] and stored_files(world) == []


def _chunked_upload(world: ApiWorld, ctype: str, data: bytes, **fields: str) -> httpx.Response:
    """An upload without a Content-Length: the file part declares ``ctype``."""
    boundary = "fence"
    head = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in {"kind": "photo", **fields}.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.png"\r\n'
        f"Content-Type: {ctype}\r\n\r\n"
    )

    def body() -> Iterator[bytes]:
        yield head.encode()
        for i in range(0, len(data), 1000):
            yield data[i : i + 1000]
        yield f"\r\n--{boundary}--\r\n".encode()

    return world.call(
        BUYER_A,
        "POST",
        f"/api/v1/cases/{world.case_a}/evidence",
        content=body(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )


def test_hardening_an_upload_is_cut_off_at_its_types_limit_not_the_largest(
    world: ApiWorld,
) -> None:
    limit(world, evidence_max_image_bytes=3000, evidence_max_video_bytes=500_000)
    resp = _chunked_upload(world, "image/png", files.sized_png(20_000))
    assert resp.status_code == 422, resp.text
    doc = resp.json()
    assert (doc["code"], doc["rule"], doc["errors"][0]["field"]) == (
        "evidence.too_large",
        "R9.3",
        "file",
    )
    assert "3000" in doc["detail"]
    # A declared type that is never accepted is refused before its bytes are kept.
    html = _chunked_upload(world, "text/html", files.HTML * 100)
    assert html.status_code == 422 and html.json()["code"] == "evidence.type_not_allowed"
    assert items(world, world.case_a) == [] and stored_files(world) == []


def test_hardening_upload_fields_are_validated_and_capped(world: ApiWorld) -> None:
    long = _chunked_upload(world, "image/png", files.png(), description="d" * 20_000)
    assert long.status_code == 422, long.text
    assert long.json()["code"] == "request.field_too_large"
    assert long.json()["errors"][0]["field"] == "body.description"
    text = _chunked_upload(world, "image/png", files.png(), description="d" * 1001)
    assert text.status_code == 422
    assert text.json()["errors"][0] == {
        "field": "body.description",
        "code": "string_too_long",
        "message": text.json()["errors"][0]["message"],
    }
    missing = world.call(
        BUYER_A,
        "POST",
        f"/api/v1/cases/{world.case_a}/evidence",
        files={"kind": (None, "photo")},  # multipart, with no file part
    )
    assert missing.status_code == 422, missing.text
    assert [e["field"] for e in missing.json()["errors"]] == ["body.file"]
    not_multipart = world.call(
        BUYER_A, "POST", f"/api/v1/cases/{world.case_a}/evidence", {"kind": "photo"}
    )
    assert not_multipart.status_code == 422
    assert not_multipart.json()["code"] == "request.multipart_required"
    assert items(world, world.case_a) == [] and stored_files(world) == []


def test_a_kind_that_cannot_be_that_type_names_the_kind_field(world: ApiWorld) -> None:
    resp = upload(world, BUYER_A, world.case_a, "a.pdf", files.pdf(), "application/pdf", "photo")
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "kind"
    unknown = upload(world, BUYER_A, world.case_a, "a.png", files.png(), "image/png", "selfie")
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "body.kind"
    assert items(world, world.case_a) == [] and stored_files(world) == []


# --------------------------------------------------------------------------- happy paths
ALLOWED = {
    "png": ("p.png", files.png(2, 3), "image/png", "photo"),
    "jpeg": ("p.jpeg", files.jpeg(40, 50), "image/jpeg", "photo"),
    "gif": ("chat.gif", files.gif(), "image/gif", "chat_log"),
    "webp": ("p.webp", files.webp(30, 20), "image/webp", "carrier_proof"),
    "pdf": ("qc.pdf", files.pdf(), "application/pdf", "qc_record"),
    "mp4": ("unboxing.mp4", files.mp4(), "video/mp4", "unboxing_video"),
    "mov": ("clip.MOV", files.mov(), "video/quicktime", "video"),
    "force_majeure_pdf": ("ok.pdf", files.pdf(), "application/pdf", "force_majeure_approval"),
}


@pytest.mark.parametrize("sample", sorted(ALLOWED))
def test_each_allowed_type_is_accepted_stored_by_hash_and_downloadable(
    world: ApiWorld, sample: str
) -> None:
    name, data, ctype, kind = ALLOWED[sample]
    resp = upload(world, X_MAIN, world.case_a, name, data, ctype, kind, "from the warehouse")
    assert resp.status_code == 201, resp.text
    item = resp.json()
    assert item["media_type"] == ctype
    assert item["kind"] == kind and item["party"] == "merchant"
    assert item["filename"] == name
    assert item["original_size"] == len(data)
    assert item["original_sha256"] == hashlib.sha256(data).hexdigest()
    assert [p.name for p in stored_files(world)] == [item["sha256"]]
    got = world.call(BUYER_A, "GET", item["download"])
    assert got.status_code == 200 and got.headers["content-type"] == ctype
    assert len(got.content) == item["size"]
    assert hashlib.sha256(got.content).hexdigest() == item["sha256"]
    if ctype.startswith("image/"):  # re-encoded: the same picture, a new file
        lossy = ctype in ("image/jpeg", "image/webp")
        assert same_picture(got.content, data, tolerance=48 if lossy else 0)
    else:
        assert got.content == data and item["sha256"] == item["original_sha256"]


def test_download_headers_make_the_file_an_attachment_never_sniffed_or_cached(
    world: ApiWorld,
) -> None:
    item = upload(world, BUYER_A, world.case_a, "开箱 照片.png", files.png(), "image/png").json()
    resp = world.call(X_SUB_HANDLE, "GET", f"/api/v1/evidence/{item['id']}")
    assert resp.status_code == 200
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["cache-control"] == "private, no-store"
    assert resp.headers["content-type"] == "image/png"
    disposition = resp.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%E5%BC%80%E7%AE%B1%20%E7%85%A7%E7%89%87.png" in disposition


def test_a_buyer_of_another_case_cannot_fetch_the_evidence(world: ApiWorld) -> None:
    item = upload(world, BUYER_A, world.case_a, "p.png", files.png(), "image/png").json()
    hidden = world.call(BUYER_B, "GET", f"/api/v1/evidence/{item['id']}")
    missing = world.call(BUYER_B, "GET", "/api/v1/evidence/2147483000")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["code"] == missing.json()["code"] == "evidence.not_found"
    for principal in (Y_MAIN, SERVICE):
        assert world.call(principal, "GET", f"/api/v1/evidence/{item['id']}").status_code == 404
    assert world.call(X_SUB_PLAIN, "GET", f"/api/v1/evidence/{item['id']}").status_code == 403
    listed = world.call(BUYER_B, "GET", f"/api/v1/cases/{world.case_a}/evidence")
    assert listed.status_code == 404


def test_R9_3_the_buyers_first_submission_is_marked_and_only_it(world: ApiWorld) -> None:
    case = world.case_a
    merchant = upload(world, X_MAIN, case, "m.png", files.png(), "image/png").json()
    first = upload(world, BUYER_A, case, "a.png", files.png(1, 2), "image/png").json()
    second = upload(world, BUYER_A, case, "b.png", files.png(2, 1), "image/png").json()
    platform = upload(world, AGENT, case, "c.pdf", files.pdf(), "application/pdf", "document")
    assert platform.status_code == 201, platform.text
    assert platform.json()["party"] == "platform"
    assert (merchant["first_submission"], first["first_submission"]) == (False, True)
    assert second["first_submission"] is False
    listed = items(world, case)
    assert [i["id"] for i in listed] == [
        merchant["id"],
        first["id"],
        second["id"],
        platform.json()["id"],
    ]
    assert [i["first_submission"] for i in listed] == [False, True, False, False]
    assert {i["party"] for i in listed} == {"buyer", "merchant", "platform"}


def test_R9_3_each_upload_is_a_timeline_entry_that_leaves_the_state(world: ApiWorld) -> None:
    before = world.ok(BUYER_A, "GET", f"/api/v1/cases/{world.case_a}")
    item = upload(world, BUYER_A, world.case_a, "a.png", files.png(), "image/png").json()
    after = world.ok(BUYER_A, "GET", f"/api/v1/cases/{world.case_a}")
    assert (after["state"], after["version"]) == (before["state"], before["version"])
    events = world.ok(X_MAIN, "GET", f"/api/v1/cases/{world.case_a}/timeline")
    last = events[-1]
    assert last["action"] == "evidence_added" and last["rule"] == "R9.3"
    assert last["from_state"] == last["to_state"] == before["state"]
    assert last["changes"]["evidence_id"]["after"] == item["id"]
    assert last["changes"]["first_submission"]["after"] is True


def test_identical_files_are_stored_once(world: ApiWorld) -> None:
    data = files.png(3, 3)
    a = upload(world, BUYER_A, world.case_a, "a.png", data, "image/png").json()
    b = upload(world, X_MAIN, world.case_a, "b.png", data, "image/png").json()
    assert a["sha256"] == b["sha256"] and a["id"] != b["id"]
    assert len(stored_files(world)) == 1


def test_an_idempotent_retry_returns_the_first_item(world: ApiWorld) -> None:
    def send() -> httpx.Response:
        return world.call(
            BUYER_A,
            "POST",
            f"/api/v1/cases/{world.case_a}/evidence",
            files={"file": ("a.png", files.png(), "image/png")},
            data={"kind": "photo"},
            headers={"Idempotency-Key": "evidence-1"},
        )

    first, again = send(), send()
    assert first.status_code == again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert first.json() == again.json()
    assert len(items(world, world.case_a)) == 1


def test_hardening_head_on_a_download_answers_the_get_headers_without_the_file(
    world: ApiWorld,
) -> None:
    data = files.png(3, 2)
    item = upload(world, BUYER_A, world.case_a, "开箱.png", data, "image/png").json()
    got = world.call(X_SUB_HANDLE, "GET", item["download"])
    head = world.call(X_SUB_HANDLE, "HEAD", item["download"])
    assert head.status_code == 200, head.text
    assert head.content == b""
    for name in (
        "content-type",
        "content-length",
        "content-disposition",
        "x-content-type-options",
        "cache-control",
        "content-security-policy",
    ):
        assert head.headers[name] == got.headers[name], name
    assert int(head.headers["content-length"]) == len(got.content) == item["size"]
    # The same refusals as the download.
    assert world.call(BUYER_B, "HEAD", item["download"]).status_code == 404
    assert world.call(X_SUB_PLAIN, "HEAD", item["download"]).status_code == 403


# --------------------------------------------------------------------------- issue 11 §8
def _download(world: ApiWorld, item: dict[str, Any]) -> bytes:
    got = world.call(X_MAIN, "GET", item["download"])  # the other party
    assert got.status_code == 200, got.text
    return got.content


@pytest.mark.parametrize(
    ("name", "ctype", "make"),
    [
        ("p.jpg", "image/jpeg", lambda e: files.jpeg(60, 40, exif=e)),
        ("p.png", "image/png", lambda e: files._pillow(files.picture(60, 40), "PNG", exif=e)),
        ("p.webp", "image/webp", lambda e: files.webp(60, 40, exif=e)),
    ],
)
def test_hardening_photo_metadata_is_stripped_and_its_orientation_applied(
    world: ApiWorld, name: str, ctype: str, make: Any
) -> None:
    # Orientation 6: the camera was turned; the picture must be shown rotated 90° clockwise.
    original = make(files.exif(orientation=6, gps=True))
    assert all(m in original for m in files.EXIF_MARKERS[:3])
    resp = upload(world, BUYER_A, world.case_a, name, original, ctype)
    assert resp.status_code == 201, resp.text
    item = resp.json()
    served = _download(world, item)
    assert not any(m in served for m in files.EXIF_MARKERS), "EXIF reached the other party"
    with Image.open(io.BytesIO(served)) as image:
        assert image.format == {"image/jpeg": "JPEG", "image/png": "PNG"}.get(ctype, "WEBP")
        assert not image.getexif() and "exif" not in image.info
        assert image.size == (40, 60)  # upright
        rgb = image.convert("RGB")
        red = rgb.getpixel((rgb.width - 3, 2))  # the red corner went top-right
        white = rgb.getpixel((2, 2))
    assert isinstance(red, tuple) and isinstance(white, tuple)
    assert red[0] > 200 and red[1] < 80 and min(white) > 200
    assert (item["width"], item["height"]) == (40, 60)
    assert item["original_sha256"] == hashlib.sha256(original).hexdigest() != item["sha256"]
    assert item["original_size"] == len(original) and item["size"] == len(served)
    assert [p.name for p in stored_files(world)] == [item["sha256"]]  # only the clean file


def test_hardening_a_gif_carrying_a_script_is_served_as_pixels_only(world: ApiWorld) -> None:
    script = b"<script>alert(document.cookie)</script>"
    commented = files.gif(8, 8, comment=script)
    polyglot = files.gif(8, 8) + b"/*" + script + b"*/"  # a script after the trailer
    for data in (commented, polyglot):
        assert script in data
        resp = upload(world, BUYER_A, world.case_a, "chat.gif", data, "image/gif", "chat_log")
        assert resp.status_code == 201, resp.text
        served = _download(world, resp.json())
        assert script not in served and b"script" not in served
        assert same_picture(served, files.gif(8, 8))


def test_hardening_a_jpeg_html_polyglot_keeps_no_payload(world: ApiWorld) -> None:
    photo = files.jpeg(32, 32)
    small = photo + files.HTML  # a few bytes after the image's end: dropped
    resp = upload(world, BUYER_A, world.case_a, "p.jpg", small, "image/jpeg")
    assert resp.status_code == 201, resp.text
    served = _download(world, resp.json())
    assert b"<script" not in served and b"<html" not in served.lower()
    large = photo + files.HTML * 2000  # 160 KB after its end: refused
    refused = upload(world, BUYER_A, world.case_a, "p.jpg", large, "image/jpeg")
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "evidence.trailing_data"
    assert refused.json()["rule"] == "R9.3"
    assert len(items(world, world.case_a)) == 1


def _refusal(world: ApiWorld, name: str, data: bytes, ctype: str, lang: str = "en") -> Any:
    resp = world.call(
        BUYER_A,
        "POST",
        f"/api/v1/cases/{world.case_a}/evidence",
        files={"file": (name, data, ctype)},
        data={"kind": "photo"},
        headers={"Accept-Language": lang},
    )
    assert resp.status_code == 422, resp.text
    doc = resp.json()
    assert doc["errors"][0]["field"] == "file" and doc["rule"] == "R9.3", doc
    return doc


def _truncated_png(width: int, height: int) -> bytes:
    """A well-formed PNG (IHDR, IDAT, IEND) whose compressed pixels stop half-way."""
    whole = files.png(width, height)
    pixels = zlib.compress(b"\x00" * (width + 1) * height)
    idat = files._chunk(b"IDAT", pixels[: len(pixels) // 2])
    return whole[: 8 + 25] + idat + files._chunk(b"IEND", b"")


IMAGE_ATTACKS: dict[str, tuple[str, Callable[[], bytes], str, str]] = {
    # a 1×1 PNG carrying 3 MB after its end (the 200 MB PNG, within a test's limit)
    "png_with_data_after_its_end": (
        "p.png",
        lambda: files.png() + b"\x00" * 3_000_000,
        "image/png",
        "evidence.trailing_data",
    ),
    "png_header_without_its_pixels": (
        "p.png",
        lambda: _truncated_png(400, 300),
        "image/png",
        "evidence.image_undecodable",
    ),
    "png_without_its_end": (
        "p.png",
        lambda: files.png(2, 2)[:-12],
        "image/png",
        "evidence.image_malformed",
    ),
    "jpeg_cut_in_its_scan": (
        "p.jpg",
        lambda: files.jpeg(64, 64)[:-200],
        "image/jpeg",
        "evidence.image_malformed",
    ),
    "gif_without_its_trailer": (
        "p.gif",
        lambda: files.gif(4, 4)[:-1],
        "image/gif",
        "evidence.image_malformed",
    ),
    "gif_animation_over_the_pixel_limit": (
        "p.gif",
        lambda: files.animated_gif(300, 300, 12),  # 12 × 90 000 > 1 000 000
        "image/gif",
        "evidence.animation_too_large",
    ),
    "webp_cut_short": (
        "p.webp",
        lambda: files.webp(40, 40)[:-10],
        "image/webp",
        "evidence.image_malformed",
    ),
    "png_signature_then_html": (
        "p.png",
        lambda: files.png()[:33] + files.HTML + files._chunk(b"IEND", b""),
        "image/png",
        "evidence.image_malformed",
    ),
}


@pytest.mark.parametrize("attack", sorted(IMAGE_ATTACKS))
def test_hardening_an_image_that_does_not_decode_as_its_type_is_refused(
    world: ApiWorld, attack: str
) -> None:
    limit(world, evidence_max_image_bytes=5_000_000, evidence_max_pixels=1_000_000)
    name, make, ctype, code = IMAGE_ATTACKS[attack]
    doc = _refusal(world, name, make(), ctype)
    assert doc["code"] == code, doc
    assert items(world, world.case_a) == [] and stored_files(world) == []


def test_hardening_image_refusals_are_translated(world: ApiWorld) -> None:
    data = files.png() + b"\x00" * 100_000
    en = _refusal(world, "p.png", data, "image/png", "en")
    zh = _refusal(world, "p.png", data, "image/png", "zh-CN")
    assert en["code"] == zh["code"] == "evidence.trailing_data"
    assert "100000" in en["detail"] and "100000" in zh["detail"]
    assert en["detail"] != zh["detail"] and "字节" in zh["detail"]


def test_hardening_a_png_padded_inside_is_stored_as_its_pixels(world: ApiWorld) -> None:
    limit(world, evidence_max_image_bytes=5_000_000)
    padded = files.png(pad=3_000_000)  # a 1×1 picture with 3 MB in a text chunk
    resp = upload(world, BUYER_A, world.case_a, "p.png", padded, "image/png")
    assert resp.status_code == 201, resp.text
    item = resp.json()
    assert item["original_size"] == len(padded) and item["size"] < 1000
    assert sum(p.stat().st_size for p in stored_files(world)) == item["size"]


@storage_free()  # the body is cut off before any use case runs
def test_hardening_a_caller_gone_mid_upload_is_no_server_error_and_stores_nothing(
    world: ApiWorld, caplog: pytest.LogCaptureFixture
) -> None:
    """The client closes its connection half-way through the file: a 400
    ``request.incomplete`` for no one to read, nothing logged as an error, nothing kept."""
    boundary = "gone"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nphoto\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="g.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode() + files.sized_png(4096)[:2000]
    incoming = [
        {"type": "http.request", "body": head, "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = {
        **world.headers(BUYER_A),
        "content-type": f"multipart/form-data; boundary={boundary}",
        "content-length": "100000",
        "accept-language": "en",
    }
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"/api/v1/cases/{world.case_a}/evidence",
        "raw_path": f"/api/v1/cases/{world.case_a}/evidence".encode(),
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "root_path": "",
        "state": {},
    }
    with caplog.at_level(logging.INFO):
        asyncio.run(world.client.app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    payload = json.loads(
        b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    )
    assert start["status"] == 400 and payload["code"] == "request.incomplete"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert items(world, world.case_a) == [] and stored_files(world) == []
