"""Issue 11 §1: the API as `aftersales serve` serves it, started as a real process (the way
`make run` starts it: the app built by uvicorn's factory, no context handed in), on SQLite
and on PostgreSQL. One server per database for the whole module keeps the cost low."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
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


ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


@dataclass
class Served:
    base: str
    database: str  # "sqlite" or "postgresql"
    env: dict[str, str]
    demo: str = ""  # what `aftersales demo` printed, when the demo was loaded

    def get(self, path: str, **kw: object) -> httpx.Response:
        return httpx.get(self.base + path, timeout=30, **kw)  # type: ignore[arg-type]


def _env(url: str, tmp: Path) -> dict[str, str]:
    """A shell as after `make run`: no AFTERSALES_* of the caller, and the virtualenv's
    bin directory not on PATH (so `aftersales` alone is not found)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERSALES_")}
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and Path(p) != VENV_BIN]
    return {
        **env,
        "PATH": os.pathsep.join(path),
        "AFTERSALES_DATABASE_URL": url,
        "AFTERSALES_EVIDENCE_DIR": str(tmp / "evidence"),
        "AFTERSALES_PASSWORD_MIN_LENGTH": PASSWORD_MIN,
        "COLUMNS": "200",
    }


def _run(command: list[str] | str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A command from the checkout root (a string: through bash, exactly as printed)."""
    args = ["bash", "-c", command] if isinstance(command, str) else [*CLI, *command]
    res = subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert res.returncode == 0, f"{command}:\n{res.stdout}\n{res.stderr}"
    return res


def _serve(env: dict[str, str], log: Path) -> Iterator[str]:
    """`aftersales serve` in its embedded shape on a free port, until it answers its health
    check; stopped afterwards."""
    port = free_port()
    with log.open("wb") as out:  # a file, not a pipe: a full pipe blocks the server
        proc = subprocess.Popen(
            [*CLI, "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc, log)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)  # SIGTERM: uvicorn shuts down gracefully


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`make run` as a newcomer runs it, on a scratch SQLite file and a free port: it
    migrates, loads the demo, prints the demo's logins and the address, and serves."""
    tmp = tmp_path_factory.mktemp("make-run")
    env = _env(f"sqlite:///{tmp / 'aftersales.db'}", tmp)
    del env["AFTERSALES_EVIDENCE_DIR"]  # the default: beside the database file
    for name in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS"):  # not a sub-make of `make test`
        env.pop(name, None)
    port = free_port()
    log = tmp / "make-run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["make", "run", f"PORT={port}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: make, and the server under it
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600  # the demo is built first
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        yield Served(base, "sqlite", env, log.read_text())
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """One server per database: SQLite with the demo, an empty PostgreSQL."""
    if request.param == "sqlite":
        yield request.getfixturevalue("demo_server")
        return
    tmp = tmp_path_factory.mktemp("served-pg")
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


def test_hardening_served_write_with_a_wrong_token_is_401_before_its_body_is_judged(
    served: Served,
) -> None:
    res = httpx.post(
        served.base + "/api/v1/orders",
        json={},
        headers={"Authorization": "Bearer ast_1_not-a-token", "Accept-Language": "en"},
        timeout=30,
    )
    assert res.status_code == 401, res.text
    assert res.json()["code"] == "auth.token_invalid"


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


# ------------------------------------------------------------------------- the home page
def _links(html: str) -> list[str]:
    return re.findall(r'<a href="([^"]+)"', html)


def test_hardening_served_root_is_a_page_leading_to_docs_health_and_openapi(
    served: Served,
) -> None:
    res = served.get("/", headers={"Accept-Language": "en"})
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/html")
    links = _links(res.text)
    assert {"/api/docs", "/api/redoc", "/api/openapi.json", "/api/health"} <= set(links)
    for href in links:
        assert served.get(href).status_code == 200, href
    assert "API documentation" in res.text and 'lang="en"' in res.text


def test_hardening_served_root_answers_head_like_get_without_a_body(served: Served) -> None:
    got = served.get("/", headers={"Accept-Language": "en"})
    head = httpx.head(served.base + "/", headers={"Accept-Language": "en"}, timeout=30)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]


@pytest.mark.parametrize(
    ("header", "lang", "text"),
    [
        ("zh-CN,zh;q=0.9", "zh-CN", "API 文档"),
        ("en-US,en;q=0.8", "en", "Health check"),
        (None, "zh-CN", "健康检查"),
    ],
)
def test_hardening_served_root_speaks_the_callers_language(
    served: Served, header: str | None, lang: str, text: str
) -> None:
    res = served.get("/", headers={"Accept-Language": header} if header else {})
    assert f'lang="{lang}"' in res.text and text in res.text
    assert res.headers["content-language"] == lang


def test_hardening_served_root_shows_demo_logins_only_where_the_demo_is(served: Served) -> None:
    html = served.get("/", headers={"Accept-Language": "en"}).text
    if not served.demo:
        assert "demo-password" not in html and "shop1" not in html
        assert "holds no demo data" in html and " demo</code>" in html  # how to load it
        return
    assert "demo-password" in html
    for code, logins in _demo_shops(served.demo).items():
        row = next(line for line in html.splitlines() if code in line)
        for login in logins:
            assert f"<code>{login}</code>" in row
    assert "<code>admin</code>" in html and "<code>buyer1</code>" in html
    assert "demo --if-empty</code>" in html


def test_hardening_served_root_escapes_what_it_shows(demo_server: Served) -> None:
    from aftersales.domain.accounts import AccountKind
    from aftersales.services import accounts, shops
    from aftersales.services.actors import Actor
    from aftersales.services.context import Context
    from aftersales.settings import Settings

    ctx = Context.from_settings(Settings(database_url=demo_server.env["AFTERSALES_DATABASE_URL"]))
    evil = '<script>alert("x")</script>'
    shops.create_shop(
        ctx,
        Actor.system("test"),
        code="DEMO9-0000000000",
        name=evil,
        timezone="Asia/Shanghai",
        profile_id="douyin",
        return_address="x",
    )
    accounts.create_account(
        ctx,
        None,
        kind=AccountKind.MERCHANT,
        login="<b>o'neil</b>",
        password="demo-password",
        shop_code="DEMO9-0000000000",
        main=True,
    )
    ctx.db.dispose()
    html = demo_server.get("/").text
    assert evil not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "&lt;b&gt;o&#39;neil&lt;/b&gt;" in html


# -------------------------------------------------------------- the demo, as make run runs it
def _demo_shops(printed: str) -> dict[str, list[str]]:
    """Shop code -> logins, from the demo's printed login block."""
    shops = {}
    for code, logins in re.findall(r"^  \S+ (DEMO\d+-\d{10}) .*?: (.*)$", printed, re.M):
        shops[code] = [part.split(" (")[0] for part in re.split(r"\), ", logins)]
    return shops


def _hints(printed: str) -> list[str]:
    """The commands it prints to try, after their label (in either language)."""
    return re.findall(r"^\S+: (\S*aftersales .+)$", printed, re.M)


def test_hardening_make_run_prints_the_address_to_open(demo_server: Served) -> None:
    assert f"open {demo_server.base}/ " in demo_server.demo
    assert demo_server.get("/").status_code == 200


def test_hardening_demo_prints_shop_codes_beside_their_logins(demo_server: Served) -> None:
    shops = _demo_shops(demo_server.demo)
    assert len(shops) == 3
    assert [logins for _, logins in sorted(shops.items())] == [
        [f"shop{i}", f"shop{i}-cs"] for i in (1, 2, 3)
    ]
    # make run speaks the CLI's default language, zh_CN.
    assert re.search(r"^  平台: admin, agent$", demo_server.demo, re.M)
    assert re.search(r"^  买家: buyer1, .*buyer6$", demo_server.demo, re.M)
    assert "演示账号（密码 demo-password）" in demo_server.demo


def test_hardening_demo_hints_run_as_printed_from_the_checkout_root(demo_server: Served) -> None:
    hints = _hints(demo_server.demo)
    assert len(hints) >= 10
    for hint in hints:  # make run starts .venv/bin/aftersales: that is what it prints
        assert hint.startswith(".venv/bin/aftersales "), hint
        _run(hint, demo_server.env)  # bash, from the checkout root, the venv not on PATH


def test_hardening_demo_if_empty_prints_the_shop_codes_and_logins_again(
    demo_server: Served,
) -> None:
    again = _run(["demo", "--if-empty", "--lang", "en"], demo_server.env).stdout
    assert "Demo data already present" in again
    shops = _demo_shops(again)
    for code, logins in _demo_shops(demo_server.demo).items():
        assert shops[code] == logins
    for line in ("  platform: admin, agent", "  buyers: buyer1, buyer2"):
        assert line in again
    for hint in _hints(again):
        _run(hint, demo_server.env)


def test_demo_then_case_show_prints_a_full_timeline(demo_server: Served) -> None:
    from aftersales.domain.case_types import CaseType

    number = re.search(r"case show (AS\d+)", demo_server.demo)
    assert number, demo_server.demo
    for t in CaseType:
        assert t.value in demo_server.demo
    shown = _run(["case", "show", number.group(1), "--lang", "en"], demo_server.env)
    for step in ("Request opened", "Return approved", "Return shipped", "Refunded", "R5.4"):
        assert step in shown.stdout
    zh = _run(["case", "show", number.group(1), "--lang", "zh_CN"], demo_server.env)
    assert "Request opened" not in zh.stdout and number.group(1) in zh.stdout
