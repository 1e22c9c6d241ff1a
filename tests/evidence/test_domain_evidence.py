"""Domain checks of evidence uploads (no database): sniffing, names, sizes, pixels."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest

from aftersales.domain.errors import ValidationFailed
from aftersales.domain.evidence import (
    MEDIA_TYPES,
    Accepted,
    Limits,
    UploadKind,
    check_content,
    check_filename,
    check_image_file,
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
    assert (
        _check(files.jpeg_header(60_000, 60_000), "a.jpg", "image/jpeg")
        == "evidence.image_too_large"
    )
    assert (
        _check(files.gif_header(65_535, 65_535), "a.gif", "image/gif") == "evidence.image_too_large"
    )
    assert (
        _check(files.webp_header(16_000, 16_000), "a.webp", "image/webp")
        == "evidence.image_too_large"
    )


def test_an_image_whose_dimensions_cannot_be_read_is_refused() -> None:
    truncated = b"\xff\xd8\xff\xe0\x00\x10JFIF"  # no frame header
    assert _check(truncated, "a.jpg", "image/jpeg") == "evidence.image_unreadable"


def test_R9_3_only_the_buyers_first_item_is_the_first_submission() -> None:
    assert is_first_submission(Party.BUYER, 0)
    assert not is_first_submission(Party.BUYER, 1)
    assert not is_first_submission(Party.MERCHANT, 0)
    assert not is_first_submission(Party.PLATFORM, 0)


# --------------------------------------------------------------------------- issue 11 §8
def _mpo(width: int, height: int) -> bytes:
    """A JPEG with a second picture declared in its MPF segment (as phones write an HDR
    gain map or a camera a preview)."""
    out = io.BytesIO()
    main, extra = files.picture(width, height), files.picture(width // 2, height // 2)
    main.save(out, "MPO", save_all=True, append_images=[extra])
    return out.getvalue()


WELL_FORMED = {
    "png": (files.png(5, 4), "image/png", 1),
    "png_padded_inside": (files.png(pad=5000), "image/png", 1),
    "jpeg": (files.jpeg(33, 17), "image/jpeg", 1),
    "jpeg_with_exif": (files.jpeg(20, 20, exif=files.exif()), "image/jpeg", 1),
    "jpeg_progressive": (files.jpeg(40, 30, progressive=True), "image/jpeg", 1),
    "mpo_second_picture_counts_as_part_of_it": (_mpo(40, 30), "image/jpeg", 1),
    "gif": (files.gif(9, 7), "image/gif", 1),
    "gif_animated": (files.animated_gif(8, 8, 3), "image/gif", 3),
    "webp": (files.webp(12, 10), "image/webp", 1),
    "webp_lossless": (files.webp(12, 10, lossless=True), "image/webp", 1),
}


@pytest.mark.parametrize("sample", sorted(WELL_FORMED))
def test_hardening_an_images_end_and_frames_are_found_from_its_structure(sample: str) -> None:
    data, media, frames = WELL_FORMED[sample]
    accepted = Accepted(MEDIA_TYPES[media], 8, 8)
    found = check_image_file(data, accepted, LIMITS)
    assert (found.end, found.frames) == (len(data), frames)
    # Data after the end is counted to the byte: up to the limit it is tolerated.
    limits = replace(LIMITS, max_trailing_bytes=100)
    assert check_image_file(data + b"\x00" * 100, accepted, limits).end == len(data)
    with pytest.raises(ValidationFailed) as err:
        check_image_file(data + b"<html>" + b"\x00" * 95, accepted, limits)
    assert (err.value.code, err.value.params["extra"]) == ("evidence.trailing_data", 101)


@pytest.mark.parametrize("sample", sorted(WELL_FORMED))
def test_hardening_a_cut_image_is_malformed(sample: str) -> None:
    data, media, _ = WELL_FORMED[sample]
    with pytest.raises(ValidationFailed) as err:
        check_image_file(data[: len(data) // 2], Accepted(MEDIA_TYPES[media], 8, 8), LIMITS)
    assert err.value.code == "evidence.image_malformed"
    assert (err.value.params["field"], err.value.rule) == ("file", "R9.3")


def test_hardening_all_frames_count_against_the_pixel_limit() -> None:
    gif = files.animated_gif(100, 100, 5)
    accepted = Accepted(MEDIA_TYPES["image/gif"], 100, 100)
    assert check_image_file(gif, accepted, replace(LIMITS, max_pixels=50_000)).frames == 5
    with pytest.raises(ValidationFailed) as err:
        check_image_file(gif, accepted, replace(LIMITS, max_pixels=49_999))
    assert err.value.code == "evidence.animation_too_large"
