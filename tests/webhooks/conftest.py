"""Webhook test helpers: a real HTTP receiver on 127.0.0.1 and a context that may send to
it (``webhook_allow_private_networks``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from aftersales.domain.accounts import AccountKind
from aftersales.domain.case_types import ActorKind
from aftersales.services.actors import Actor
from aftersales.services.context import Context
from aftersales.store import catalog as catalog_store
from aftersales.store.db import Database
from tests.conftest import FakeClock, make_context


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    """Records every POST; answers ``status`` (default 204) after failing the first
    ``fail_first[path]`` requests to a path with ``fail_status``."""

    base_url: str = ""
    requests: list[Received] = field(default_factory=list)
    fail_first: dict[str, int] = field(default_factory=dict)
    fail_status: int = 500
    status: int = 204
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return self.base_url + path

    def to(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def answer(self, req: Received) -> int:
        with self.lock:
            self.requests.append(req)
            left = self.fail_first.get(req.path, 0)
            if left > 0:
                self.fail_first[req.path] = left - 1
                return self.fail_status
            return self.status


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            code = rec.answer(Received(self.path, headers, body))
            self.send_response(code)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    rec.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()


def webhook_context(database: Database, clock: FakeClock, **settings: Any) -> Context:
    ctx = make_context(database, clock)
    values: dict[str, Any] = {
        "webhook_allow_private_networks": True,
        "webhook_timeout_seconds": 5.0,
        "webhook_retry_base_seconds": 30,
        "webhook_retry_max_seconds": 3600,
        "webhook_max_attempts": 12,
        "webhook_lease_seconds": 60,
        **settings,
    }
    ctx.settings = ctx.settings.model_copy(update=values)
    return ctx


@pytest.fixture
def wctx(db: Database, clock: FakeClock) -> Context:
    return webhook_context(db, clock)


ADMIN = Actor(ActorKind.PLATFORM, "account:admin", account_kind=AccountKind.ADMIN)


def shop_code(ctx: Context, shop_id: int) -> str:
    with ctx.db.read() as conn:
        shop = catalog_store.get_shop(conn, shop_id)
        assert shop is not None
        return shop.code
