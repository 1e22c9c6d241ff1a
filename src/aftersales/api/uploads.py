"""Reading a ``multipart/form-data`` upload as it streams in, with caps.

FastAPI parses ``UploadFile``/``Form`` parameters *before* it solves the route's
dependencies (``fastapi/routing.py``: the body is read, then ``solve_dependencies``; see
fastapi/fastapi#4941), so an upload declared that way is received in full, spooled to
disk, before its caller is authenticated. A route that uploads therefore declares no body
parameters: its dependencies (authentication) run first, then it calls :func:`read_form`,
which feeds the body to python-multipart's streaming parser chunk by chunk and stops at
the first cap crossed:

* the whole body: ``request_cap`` (refused up front from ``Content-Length``, or while a
  chunked body arrives);
* the file part: ``file_cap(content_type)``, asked when the part's headers are complete,
  so a file is cut off at *its* type's limit (and a type that is not accepted at all is
  refused before any of its bytes are kept);
* every other part: ``field_cap`` bytes, held in memory.

The file is written to a private temporary file and hashed on the way; nothing else of the
body is kept.
"""

from __future__ import annotations

import codecs
import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from python_multipart import MultipartParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from aftersales.domain.errors import ValidationFailed
from aftersales.domain.i18n import N_

MAX_PARTS = 16


@dataclass
class UploadedFile:
    filename: str
    content_type: str | None
    file: BinaryIO
    size: int = 0
    sha256: str = ""


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    file: UploadedFile | None = None

    def close(self) -> None:
        if self.file is not None:
            self.file.file.close()


def _invalid() -> ValidationFailed:
    return ValidationFailed(
        "request.multipart_invalid",
        N_("The body is not valid multipart/form-data."),
        field="body",
    )


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    content_type: str | None = None
    headers: dict[bytes, bytes] = field(default_factory=dict)
    data: bytearray = field(default_factory=bytearray)
    cap: int = 0
    size: int = 0


class _Reader:
    def __init__(
        self,
        file_field: str,
        file_cap: Callable[[str | None], int],
        field_cap: int,
        too_large: Callable[[int], ValidationFailed],
    ) -> None:
        self.file_field = file_field
        self.file_cap = file_cap
        self.field_cap = field_cap
        self.too_large = too_large
        self.form = Form()
        self.part = _Part()
        self.header_name = bytearray()
        self.header_value = bytearray()
        self.parts = 0
        self.file_done = False
        self.digest = hashlib.sha256()
        self.pending: list[bytes] = []  # file bytes to write (off the event loop)

    # python-multipart callbacks ------------------------------------------------------
    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise _invalid()
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.part.headers[bytes(self.header_name).lower()] = bytes(self.header_value)
        self.header_name.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        part = self.part
        _, options = parse_options_header(part.headers.get(b"content-disposition", b""))
        if b"name" not in options:
            raise _invalid()
        part.name = _text(options[b"name"])
        if part.name != self.file_field:
            part.cap = self.field_cap
            return
        if self.form.file is not None:
            raise ValidationFailed(
                "request.one_file_only",
                N_("Send one file per upload."),
                field=self.file_field,
            )
        part.filename = _text(options.get(b"filename", b""))
        raw_type = part.headers.get(b"content-type")
        part.content_type = raw_type.decode("latin-1") if raw_type is not None else None
        part.cap = self.file_cap(part.content_type)
        self.form.file = UploadedFile(
            part.filename,
            part.content_type,
            tempfile.TemporaryFile(prefix="aftersales-upload-"),  # noqa: SIM115 - closed by Form
        )

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self.part
        chunk = data[start:end]
        part.size += len(chunk)
        if part.size > part.cap:
            if part.name == self.file_field:
                raise self.too_large(part.cap)
            raise ValidationFailed(
                "request.field_too_large",
                N_("This field is at most {max} bytes."),
                field=f"body.{part.name}",
                max=part.cap,
            )
        if part.name == self.file_field:
            self.digest.update(chunk)
            self.pending.append(chunk)
        else:
            part.data += chunk

    def on_part_end(self) -> None:
        part = self.part
        if part.name == self.file_field:
            assert self.form.file is not None
            self.form.file.size = part.size
            self.form.file.sha256 = self.digest.hexdigest()
            self.file_done = True
            return
        try:
            self.form.fields[part.name] = codecs.decode(bytes(part.data), "utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed(
                "request.field_not_utf8",
                N_("This field is not valid UTF-8 text."),
                field=f"body.{part.name}",
            ) from None

    async def flush(self) -> None:
        if self.pending and self.form.file is not None:
            data, self.pending = b"".join(self.pending), []
            await run_in_threadpool(self.form.file.file.write, data)


def _text(raw: bytes) -> str:
    """A header parameter: UTF-8 as browsers send it, else Latin-1 (as Starlette reads
    it), so every byte stays visible to the checks that follow."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


async def read_form(
    request: Request,
    *,
    file_field: str,
    file_cap: Callable[[str | None], int],
    request_cap: int,
    field_cap: int,
    too_large: Callable[[int], ValidationFailed],
    request_too_large: Callable[[int], ValidationFailed],
) -> Form:
    """The upload's fields and its one file (spooled, hashed), read within the caps. A cap
    crossed raises at once: the rest of the body is not read."""
    content_type = request.headers.get("content-type", "")
    kind, params = parse_options_header(content_type)
    if kind != b"multipart/form-data" or not params.get(b"boundary"):
        raise ValidationFailed(
            "request.multipart_required",
            N_("Send the upload as multipart/form-data."),
            field="body",
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > request_cap:
        raise request_too_large(request_cap)
    reader = _Reader(file_field, file_cap, field_cap, too_large)
    try:
        parser = MultipartParser(
            params[b"boundary"],
            {
                "on_part_begin": reader.on_part_begin,
                "on_header_field": reader.on_header_field,
                "on_header_value": reader.on_header_value,
                "on_header_end": reader.on_header_end,
                "on_headers_finished": reader.on_headers_finished,
                "on_part_data": reader.on_part_data,
                "on_part_end": reader.on_part_end,
            },
        )
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > request_cap:
                raise request_too_large(request_cap)
            parser.write(chunk)
            await reader.flush()
        parser.finalize()
        if reader.form.file is not None and not reader.file_done:
            raise _invalid()
        if reader.form.file is not None:
            reader.form.file.file.seek(0)
        return reader.form
    except FormParserError:
        reader.form.close()
        raise _invalid() from None
    except BaseException:
        reader.form.close()
        raise
