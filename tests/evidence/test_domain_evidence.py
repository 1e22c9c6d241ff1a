"""Domain checks of evidence uploads (no database): sniffing, names, sizes, pixels."""

from __future__ import annotations

import pytest

from aftersales.domain.errors import ValidationFailed
from aftersales.domain.evidence import (
    MEDIA_TYPES,
    Limits,
    UploadKind,
    check_content,
    check_filename,
    declared_type,
    image_size,
    is_first_submission,
    sniff,
)
from aftersales.domain.policy import Party
from tests.evidence import files

LIMITS = Limits(image_bytes=10_000, video_bytes=20_000, pdf_bytes=15_000, max_pixels=1_000_000)


@pytest.mark.parametrize(
    ("data", "media", "dims"),
    [
        (files.png(3, 4), "image/png", (3, 4)),
        (files.jpeg(5, 6), "image/jpeg", (5, 6)),
        (files.gif(7, 8), "image/gif", (7, 8)),
        (files.webp(9, 10), "image/webp", (9, 10)),
        (files.pdf(), "application/pdf", None),
        (files.mp4(), "video/mp4", None),
        (files.mov(), "video/quicktime", None),
    ],
)
def test_sniffs_every_allowed_type_and_reads_image_dimensions_from_the_header(
    data: bytes, media: str, dims: tuple[int, int] | None
) -> None:
    sniffed = sniff(data)
    assert sniffed is not None and sniffed.name == media
    if dims is not None:
        assert image_size(data, sniffed) == dims


@pytest.mark.parametrize("data", [files.HTML, files.SVG, b"", b"MZ\x90\x00", b"PK\x03\x04"])
def test_anything_else_sniffs_as_nothing(data: bytes) -> None:
    assert sniff(data) is None


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("receipt.jpg.php", "evidence.extension_not_allowed"),
        ("receipt.php.jpg", "evidence.double_extension"),
        ("photo\x00.jpg", "evidence.filename_invalid"),
        ("../../etc/passwd.jpg", "evidence.filename_path"),
        ("dir/photo.jpg", "evidence.filename_path"),
        ("dir\\photo.jpg", "evidence.filename_path"),
        ("drawing.svg", "evidence.extension_not_allowed"),
        ("noextension", "evidence.extension_not_allowed"),
        ("", "evidence.filename_missing"),
        ("a" * 300 + ".jpg", "evidence.filename_too_long"),
    ],
)
def test_bad_file_names_are_refused_naming_the_file_field(name: str, code: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        check_filename(name)
    assert err.value.code == code
    assert err.value.params["field"] == "file"


def test_a_plain_name_is_kept_for_display() -> None:
    assert check_filename(" 开箱 视频.MP4 ") == "开箱 视频.MP4"


def test_declared_svg_and_html_are_not_on_the_allow_list() -> None:
    for declared in ("image/svg+xml", "text/html", "application/octet-stream", None):
        with pytest.raises(ValidationFailed) as err:
            declared_type(declared)
        assert err.value.code == "evidence.type_not_allowed"
    assert declared_type("image/jpg; charset=x").name == "image/jpeg"


def _check(data: bytes, name: str, declared: str, kind: UploadKind = UploadKind.PHOTO) -> str:
    try:
        check_content(kind, name, MEDIA_TYPES[declared], data[:4096], len(data), LIMITS)
    except ValidationFailed as exc:
        return exc.code
    return "ok"


def test_content_declared_type_and_extension_must_agree() -> None:
    assert _check(files.png(), "a.png", "image/png") == "ok"
    assert _check(files.HTML, "a.png", "image/png") == "evidence.content_not_allowed"
    assert _check(files.jpeg(), "a.png", "image/png") == "evidence.type_mismatch"
    assert _check(files.png(), "a.jpg", "image/png") == "evidence.extension_mismatch"
    assert _check(files.pdf(), "a.pdf", "application/pdf") == "evidence.kind_mismatch"
    assert _check(files.pdf(), "a.pdf", "application/pdf", UploadKind.CHAT_LOG) == "ok"
    assert _check(files.mp4(), "a.mp4", "video/mp4", UploadKind.UNBOXING_VIDEO) == "ok"


def test_size_limit_is_per_media_class_and_exact() -> None:
    assert _check(files.sized_png(10_000), "a.png", "image/png") == "ok"
    assert _check(files.sized_png(10_001), "a.png", "image/png") == "evidence.too_large"


def test_decompression_bomb_is_refused_from_its_header() -> None:
    assert _check(files.png(1000, 1000), "a.png", "image/png") == "ok"
    assert _check(files.png(1001, 1000), "a.png", "image/png") == "evidence.image_too_large"
    assert _check(files.png(100_000, 100_000), "a.png", "image/png") == "evidence.image_too_large"
    assert _check(files.jpeg(60_000, 60_000), "a.jpg", "image/jpeg") == "evidence.image_too_large"
    assert _check(files.gif(65_535, 65_535), "a.gif", "image/gif") == "evidence.image_too_large"
    assert _check(files.webp(16_000, 16_000), "a.webp", "image/webp") == "evidence.image_too_large"


def test_an_image_whose_dimensions_cannot_be_read_is_refused() -> None:
    truncated = b"\xff\xd8\xff\xe0\x00\x10JFIF"  # no frame header
    assert _check(truncated, "a.jpg", "image/jpeg") == "evidence.image_unreadable"


def test_R9_3_only_the_buyers_first_item_is_the_first_submission() -> None:
    assert is_first_submission(Party.BUYER, 0)
    assert not is_first_submission(Party.BUYER, 1)
    assert not is_first_submission(Party.MERCHANT, 0)
    assert not is_first_submission(Party.PLATFORM, 0)
