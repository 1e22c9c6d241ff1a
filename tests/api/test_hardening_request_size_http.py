"""Issue 11 §3, against a real ``aftersales serve`` process: a body over the limit is
refused with 413 as soon as the limit is crossed, before it is parsed or its caller is
authenticated, and the server does not grow by more than a few MB beyond the limit; an
unauthenticated upload is answered 401 before its body is read.

Memory is read from ``/proc/<pid>/status`` of the serving process: its peak (``VmHWM``,
reset through ``/proc/<pid>/clear_refs`` before each request) and its resident size
(``VmRSS``). "Before the body is read" is shown without a clock: a raw socket sends the
headers and a first slice of a body it declares much larger, and reads the answer while
the rest of the body is still unsent.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.api.http_support import free_port, serving

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")

CLI = [sys.executable, "-m", "aftersales.cli"]
MiB = 1024 * 1024
DEFAULT_LIMIT = MiB  # AFTERSALES_MAX_BODY_BYTES's default (README, settings.py)
# "A few MB": what handling one refused request may add to the process beyond the limit.
SLACK = 4 * MiB
BIG = 64 * MiB  # much bigger than the limit
CASE = "/api/v1/cases/AS20261125000001/evidence"


@dataclass
class Served:
    base_url: str
    port: int
    pid: int
    log: Path

    def status(self, key: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
        raise AssertionError(f"{key} not in /proc/{self.pid}/status")

    @contextmanager
    def growth(self) -> Iterator[dict[str, int]]:
        """How much the process grew during the block: its peak and its resident size."""
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")  # peak := current
        before = self.status("VmRSS")
        seen: dict[str, int] = {}
        yield seen
        seen["peak"] = self.status("VmHWM") - before
        seen["rss"] = self.status("VmRSS") - before
        seen["before"] = before


@contextmanager
def serve(tmp: Path, **settings: str) -> Iterator[Served]:
    env = {
        **os.environ,
        "AFTERSALES_DATABASE_URL": f"sqlite:///{tmp / 'size.db'}",
        "AFTERSALES_EVIDENCE_DIR": str(tmp / "evidence"),
    }
    env.pop("AFTERSALES_MAX_BODY_BYTES", None)
    env.update(settings)
    subprocess.run([*CLI, "db", "upgrade"], env=env, check=True, capture_output=True)
    port = free_port()
    log = tmp / "serve.log"
    with serving(env, port, log) as proc:
        yield Served(f"http://127.0.0.1:{port}", port, proc.pid, log)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("served")) as server:
        # Warm up every path measured below, so imports and first-use caches are not
        # counted as growth.
        for _ in range(2):
            _post_json(server, b"x" * (2 * MiB))
            _post_json(server, _chunks(2 * MiB))
            httpx.post(server.base_url + CASE, files={"file": ("a.png", b"x" * 1000, "image/png")})
        yield server


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    """A body without a Content-Length: httpx sends it chunked."""
    piece = b"[" + b"1," * (size // 2 - 1) + b"1"
    sent = 0
    while sent < total:
        yield piece
        sent += len(piece)


def _post_json(server: Served, body: bytes | Iterator[bytes], lang: str = "en") -> httpx.Response:
    return httpx.post(
        server.base_url + "/api/v1/auth/login",
        content=body,
        headers={"Content-Type": "application/json", "Accept-Language": lang},
        timeout=120,
    )


def _assert_413(resp: httpx.Response, limit: int) -> dict[str, object]:
    assert resp.status_code == 413, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    doc: dict[str, object] = resp.json()
    assert doc["code"] == "request.too_large" and doc["status"] == 413
    assert str(limit) in str(doc["detail"]), doc
    return doc


def _answer_while_sending(
    server: Served, head: bytes, first: bytes, declared_rest: int
) -> tuple[int, bytes]:
    """Send the request head and the first slice of its body, then read the answer with
    the rest (``declared_rest`` bytes) unsent. Returns the status and the whole answer."""
    assert declared_rest > 0
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        sock.sendall(head + first)
        answer = b""
        while b"\r\n\r\n" not in answer and (data := sock.recv(65536)):
            answer += data
        headers = answer.split(b"\r\n\r\n", 1)[0].lower()
        length = int(headers.split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
        while len(answer.split(b"\r\n\r\n", 1)[1]) < length and (data := sock.recv(65536)):
            answer += data
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    return status, answer


# --------------------------------------------------------------------------- JSON bodies
def test_hardening_json_body_over_the_limit_is_413_from_its_content_length(
    served: Served,
) -> None:
    with served.growth() as grew:
        resp = _post_json(served, b"x" * BIG)
    doc = _assert_413(resp, DEFAULT_LIMIT)
    assert doc["errors"] == [
        {"field": "body", "code": "request.too_large", "message": doc["detail"]}
    ]
    assert grew["peak"] <= SLACK and grew["rss"] <= SLACK, grew
    # In the caller's language.
    zh = _post_json(served, b"x" * (DEFAULT_LIMIT + 1), lang="zh-CN")
    zh_doc = _assert_413(zh, DEFAULT_LIMIT)
    assert zh_doc["detail"] != doc["detail"] and "字节" in str(zh_doc["detail"])
    print(f"\n413 with Content-Length, {BIG // MiB} MiB body: server grew {grew}")


def test_hardening_json_body_over_the_limit_is_refused_before_it_is_read(
    served: Served,
) -> None:
    head = (
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(BIG).encode() + b"\r\n\r\n"
    )
    status, answer = _answer_while_sending(served, head, b'{"login": "', BIG - 11)
    assert status == 413, answer
    assert b'"code":"request.too_large"' in answer


def test_hardening_chunked_json_body_is_cut_off_when_it_passes_the_limit(
    served: Served,
) -> None:
    with served.growth() as grew:
        resp = _post_json(served, _chunks(BIG))
    _assert_413(resp, DEFAULT_LIMIT)
    assert grew["peak"] <= DEFAULT_LIMIT + SLACK and grew["rss"] <= DEFAULT_LIMIT + SLACK, grew
    print(f"\n413 chunked, {BIG // MiB} MiB body: server grew {grew}")

    # Cut off while it streams: one chunk past the limit is enough for the answer.
    head = (
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    piece = b"1" * (DEFAULT_LIMIT + 1)
    first = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    status, answer = _answer_while_sending(served, head, first, BIG)
    assert status == 413, answer


def test_hardening_a_body_at_the_limit_is_still_parsed(served: Served) -> None:
    login = json.dumps({"login": "nobody", "password": "not-the-password"}).encode()
    at_limit = login + b" " * (DEFAULT_LIMIT - len(login))
    resp = _post_json(served, at_limit)
    assert resp.status_code == 401, resp.text  # parsed, then refused as a wrong login
    for body in (at_limit, iter([at_limit[:1000], at_limit[1000:]])):
        assert _post_json(served, body).json()["code"] == "auth.bad_login"


def test_hardening_the_body_limit_is_a_setting(tmp_path: Path) -> None:
    with serve(tmp_path, AFTERSALES_MAX_BODY_BYTES="5000") as server:
        login = json.dumps({"login": "nobody", "password": "not-the-password"}).encode()
        assert _post_json(server, login + b" " * (5000 - len(login))).status_code == 401
        _assert_413(_post_json(server, login + b" " * (5001 - len(login))), 5000)
        _assert_413(_post_json(server, _chunks(6000, size=1000)), 5000)


# --------------------------------------------------------------------------- uploads
def _multipart_head(length: int | None) -> bytes:
    framing = (
        b"Content-Length: " + str(length).encode() if length is not None
        else b"Transfer-Encoding: chunked"
    )  # fmt: skip
    return (
        b"POST " + CASE.encode() + b" HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: multipart/form-data; boundary=bnd\r\n" + framing + b"\r\n\r\n"
    )


_PART = (
    b'--bnd\r\nContent-Disposition: form-data; name="kind"\r\n\r\nphoto\r\n'
    b'--bnd\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
    b"Content-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n"
)


def test_hardening_unauthenticated_upload_is_401_before_its_body_is_read(
    served: Served,
) -> None:
    declared = 150 * MiB
    first = _PART + b"\x00" * (64 * 1024)
    status, answer = _answer_while_sending(
        served, _multipart_head(declared), first, declared - len(first)
    )
    assert status == 401, answer
    assert b"auth.required" in answer

    chunk = f"{len(first):x}\r\n".encode() + first + b"\r\n"
    status, answer = _answer_while_sending(served, _multipart_head(None), chunk, declared)
    assert status == 401, answer

    # Sent in full, it is not kept: the server does not grow by the upload.
    body = _PART + b"\x00" * BIG + b"\r\n--bnd--\r\n"
    with served.growth() as grew:
        resp = httpx.post(
            served.base_url + CASE,
            content=body,
            headers={"Content-Type": "multipart/form-data; boundary=bnd"},
            timeout=120,
        )
    assert resp.status_code == 401 and resp.json()["code"] == "auth.required"
    assert grew["peak"] <= SLACK and grew["rss"] <= SLACK, grew
    print(f"\n401 upload, {BIG // MiB} MiB body: server grew {grew}")
