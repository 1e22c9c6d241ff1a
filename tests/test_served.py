"""Issue 11 §1: the API as `aftersales serve` serves it, started as a real process (the way
`make run` starts it: the app built by uvicorn's factory, no context handed in), on SQLite
and on PostgreSQL. One server per database for the whole module keeps the cost low."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.api.http_support import CLI, _wait_healthy, free_port, fresh_database

# A setting the served schema must state: it proves the schema was built from the served
# process's own settings.
PASSWORD_MIN = "11"


@dataclass
class Served:
    base: str
    database: str  # "sqlite" or "postgresql"
    env: dict[str, str]

    def get(self, path: str, **kw: object) -> httpx.Response:
        return httpx.get(self.base + path, timeout=30, **kw)  # type: ignore[arg-type]


def _env(url: str, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERSALES_")}
    return {
        **env,
        "AFTERSALES_DATABASE_URL": url,
        "AFTERSALES_EVIDENCE_DIR": str(tmp / "evidence"),
        "AFTERSALES_PASSWORD_MIN_LENGTH": PASSWORD_MIN,
        "COLUMNS": "200",
    }


def _serve(env: dict[str, str], log: Path) -> Iterator[str]:
    """`aftersales serve` in its embedded shape on a free port, until it answers its health
    check; stopped afterwards."""
    port = free_port()
    with log.open("wb") as out:  # a file, not a pipe: a full pipe blocks the server
        proc = subprocess.Popen(
            [*CLI, "serve", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc, log)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)  # SIGTERM: uvicorn shuts down gracefully


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp(f"served-{request.param}")
    with fresh_database(request.param, tmp) as url:
        env = _env(url, tmp)
        for base in _serve(env, tmp / "serve.log"):
            yield Served(base, request.param, env)


def test_hardening_served_health_answers_with_its_database(served: Served) -> None:
    res = served.get("/api/health")
    assert res.status_code == 200
    body = res.json()
    assert body["status"] == "ok" and body["database"] == served.database
    assert body["worker"] == "embedded"


def test_hardening_served_openapi_document_is_200_and_states_the_served_settings(
    served: Served,
) -> None:
    res = served.get("/api/openapi.json")
    assert res.status_code == 200, res.text
    assert res.headers["content-type"].startswith("application/json")
    schema = res.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/cases" in schema["paths"] and "/api/health" in schema["paths"]
    # The new-password fields state this server's minimum, read from its own settings.
    change = schema["components"]["schemas"]["PasswordIn"]["properties"]["new_password"]
    assert change["minLength"] == int(PASSWORD_MIN)


class _Assets(HTMLParser):
    """The URLs a page loads: scripts, style sheets, icons, images."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("script", "img") and a.get("src"):
            self.urls.append(str(a["src"]))
        if tag == "link" and a.get("href"):
            self.urls.append(str(a["href"]))


ASSET_TYPES = {
    ".js": ("text/javascript", "application/javascript"),
    ".css": ("text/css",),
    ".png": ("image/png",),
}


@pytest.mark.parametrize(
    ("page", "script"), [("/api/docs", "SwaggerUIBundle"), ("/api/redoc", "Redoc")]
)
def test_hardening_served_docs_load_only_same_origin_assets_that_answer(
    served: Served, page: str, script: str
) -> None:
    res = served.get(page)
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/html")
    html = res.text
    assert "/api/openapi.json" in html
    # Nothing from another origin: no absolute URL anywhere in the page, inline code included.
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    parser = _Assets()
    parser.feed(html)
    suffixes = {Path(urlsplit(u).path).suffix for u in parser.urls}
    assert ".js" in suffixes and suffixes <= set(ASSET_TYPES), parser.urls
    loaded = ""
    for url in parser.urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc and url.startswith("/"), url
        asset = served.get(url)
        assert asset.status_code == 200, url
        media = asset.headers["content-type"].split(";")[0]
        assert media in ASSET_TYPES[Path(parts.path).suffix], (url, media)
        if media != "image/png":
            loaded += asset.text
    assert script in loaded  # the real bundle, not a stub
