"""R1 accounts and authentication through the API: Argon2id passwords, sessions with CSRF,
scoped and revocable API tokens, sub-account permissions, login rate limiting."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from aftersales.api.app import create_app
from aftersales.domain.accounts import AccountKind, Permission
from aftersales.services import accounts
from aftersales.services.actors import Actor
from aftersales.services.context import Context
from aftersales.store.db import Database
from aftersales.store.schema import accounts as accounts_table
from aftersales.store.schema import api_tokens, audit_log
from tests.conftest import FakeClock, make_context
from tests.factories import World, make_world

PASSWORD = "correct horse battery"


@dataclass
class Env:
    ctx: Context
    clock: FakeClock
    world: World
    client: TestClient
    shop_code: str

    def login(self, login: str, password: str = PASSWORD) -> tuple[TestClient, dict[str, str]]:
        c = TestClient(self.client.app)
        r = c.post("/api/v1/auth/login", json={"login": login, "password": password})
        assert r.status_code == 200, r.text
        return c, {"X-CSRF-Token": r.json()["csrf_token"], "Accept-Language": "en"}

    def token(self, login: str, *scopes: str) -> dict[str, str]:
        with self.ctx.db.read() as conn:
            acc = conn.execute(
                select(accounts_table.c.id).where(accounts_table.c.login == login)
            ).scalar_one()
        tok = accounts.create_token(
            self.ctx, Actor.system("operator"), name="t", scopes=scopes, account_id=acc
        )
        assert tok.token
        return {"Authorization": f"Bearer {tok.token}", "Accept-Language": "en"}


@pytest.fixture
def env(db: Database, clock: FakeClock) -> Iterator[Env]:
    ctx = make_context(db, clock)
    world = make_world(ctx)
    with ctx.db.read() as conn:
        from aftersales.store import catalog as catalog_store

        shop = catalog_store.get_shop(conn, world.shop_id)
        assert shop is not None
    accounts.create_account(ctx, None, kind=AccountKind.ADMIN, login="admin", password=PASSWORD)
    accounts.create_account(
        ctx,
        None,
        kind=AccountKind.MERCHANT,
        login="main",
        password=PASSWORD,
        shop_code=shop.code,
        main=True,
    )
    client = TestClient(create_app(ctx, embedded_worker=False, embedded_dispatcher=False))
    yield Env(ctx, clock, world, client, shop.code)


def test_R1_passwords_are_stored_as_argon2id_hashes(env: Env) -> None:
    with env.ctx.db.read() as conn:
        stored = conn.execute(
            select(accounts_table.c.password_hash).where(accounts_table.c.login == "main")
        ).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_R1_login_sets_an_httponly_session_cookie_and_returns_a_csrf_token(env: Env) -> None:
    r = env.client.post("/api/v1/auth/login", json={"login": "MAIN ", "password": PASSWORD})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert "aftersales_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert r.json()["account"]["main"] is True
    assert env.client.get("/api/v1/me").json()["login"] == "main"


def test_R1_wrong_password_is_401_and_does_not_say_which_part_was_wrong(env: Env) -> None:
    bad_pw = env.client.post(
        "/api/v1/auth/login",
        json={"login": "main", "password": "nope"},
        headers={"Accept-Language": "en"},
    )
    no_user = env.client.post(
        "/api/v1/auth/login",
        json={"login": "ghost", "password": "nope"},
        headers={"Accept-Language": "en"},
    )
    assert bad_pw.status_code == no_user.status_code == 401
    assert bad_pw.json()["detail"] == no_user.json()["detail"] == "Wrong login or password."
    assert bad_pw.headers["content-type"].startswith("application/problem+json")


def test_R1_failed_logins_are_rate_limited_per_login_even_with_the_right_password(
    env: Env,
) -> None:
    limit = env.ctx.settings.login_max_failures_per_login
    for _ in range(limit):
        assert (
            env.client.post(
                "/api/v1/auth/login", json={"login": "main", "password": "wrong"}
            ).status_code
            == 401
        )
    r = env.client.post(
        "/api/v1/auth/login",
        json={"login": "main", "password": PASSWORD},
        headers={"Accept-Language": "en"},
    )
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 0
    assert r.json()["code"] == "auth.too_many_attempts"
    env.clock.advance(minutes=env.ctx.settings.login_window_minutes + 1)
    assert (
        env.client.post(
            "/api/v1/auth/login", json={"login": "main", "password": PASSWORD}
        ).status_code
        == 200
    )


def test_R1_cookie_session_changes_need_the_csrf_token(env: Env) -> None:
    c, headers = env.login("main")
    body = {"login": "cs1", "password": PASSWORD, "permissions": ["handle_aftersales"]}
    no_csrf = c.post(f"/api/v1/shops/{env.shop_code}/accounts", json=body)
    assert no_csrf.status_code == 403 and no_csrf.json()["code"] == "auth.csrf_failed"
    wrong = c.post(
        f"/api/v1/shops/{env.shop_code}/accounts", json=body, headers={"X-CSRF-Token": "x"}
    )
    assert wrong.status_code == 403
    ok = c.post(f"/api/v1/shops/{env.shop_code}/accounts", json=body, headers=headers)
    assert ok.status_code == 201, ok.text
    assert ok.json()["permissions"] == ["handle_aftersales"]


def test_R1_logout_ends_the_session(env: Env) -> None:
    c, headers = env.login("main")
    assert c.post("/api/v1/auth/logout", headers=headers).json() == {"logged_out": True}
    assert c.get("/api/v1/me").status_code == 401


def test_R1_api_tokens_are_hashed_shown_once_scoped_and_revocable(env: Env) -> None:
    c, headers = env.login("main")
    r = c.post("/api/v1/tokens", json={"name": "erp", "scopes": ["cases:read"]}, headers=headers)
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    with env.ctx.db.read() as conn:
        hashes = list(conn.execute(select(api_tokens.c.token_hash)).scalars())
    assert token not in hashes and all(len(h) == 64 for h in hashes)
    assert all(t["token"] is None for t in c.get("/api/v1/tokens").json())
    bearer = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    assert env.client.get("/api/v1/cases", headers=bearer).status_code == 200
    # The token may read cases but not change the shop.
    r = env.client.patch(f"/api/v1/shops/{env.shop_code}", json={"name": "x"}, headers=bearer)
    assert r.status_code == 403 and r.json()["code"] == "auth.scope_missing"
    # A token cannot mint tokens.
    r = env.client.post(
        "/api/v1/tokens", json={"name": "x", "scopes": ["cases:read"]}, headers=bearer
    )
    assert r.status_code == 403
    revoked = c.post(f"/api/v1/tokens/{r_id(c)}/revoke", headers=headers)
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    assert env.client.get("/api/v1/cases", headers=bearer).status_code == 401


def r_id(c: TestClient) -> int:
    return int(c.get("/api/v1/tokens").json()[0]["id"])


def test_R1_token_scopes_are_limited_to_the_account_kind(env: Env) -> None:
    c, headers = env.login("main")
    r = c.post("/api/v1/tokens", json={"name": "x", "scopes": ["orders:write"]}, headers=headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "scopes"


def test_R1_2_main_account_grants_and_revokes_sub_account_permissions(env: Env) -> None:
    c, headers = env.login("main")
    sub = c.post(
        f"/api/v1/shops/{env.shop_code}/accounts",
        json={"login": "cs2", "password": PASSWORD},
        headers=headers,
    ).json()
    assert sub["permissions"] == [] and sub["main"] is False
    sub_client, sub_headers = env.login("cs2")
    r = sub_client.get("/api/v1/cases", headers=sub_headers)
    assert r.status_code == 403 and r.json()["rule"] == "R1.2"
    granted = c.put(
        f"/api/v1/accounts/{sub['id']}/permissions",
        json={"permissions": ["handle_aftersales", "view_analytics"]},
        headers=headers,
    )
    assert granted.status_code == 200
    assert granted.json()["permissions"] == ["handle_aftersales", "view_analytics"]
    assert sub_client.get("/api/v1/cases", headers=sub_headers).status_code == 200
    # A sub-account cannot grant itself more.
    r = sub_client.put(
        f"/api/v1/accounts/{sub['id']}/permissions",
        json={"permissions": list(Permission)},
        headers=sub_headers,
    )
    assert r.status_code == 403
    with env.ctx.db.read() as conn:
        actions = list(
            conn.execute(
                select(audit_log.c.action).where(audit_log.c.subject == f"account:{sub['id']}")
            ).scalars()
        )
    assert actions == ["created", "permissions_set"]


def test_R1_2_disabling_a_sub_account_ends_its_sessions_and_tokens(env: Env) -> None:
    c, headers = env.login("main")
    sub = c.post(
        f"/api/v1/shops/{env.shop_code}/accounts",
        json={"login": "cs3", "password": PASSWORD, "permissions": ["handle_aftersales"]},
        headers=headers,
    ).json()
    sub_client, _ = env.login("cs3")
    bearer = env.token("cs3", "cases:read")
    assert env.client.get("/api/v1/cases", headers=bearer).status_code == 200
    r = c.post(f"/api/v1/accounts/{sub['id']}/disable", headers=headers)
    assert r.status_code == 200 and r.json()["disabled"] is True
    assert sub_client.get("/api/v1/me").status_code == 401
    assert env.client.get("/api/v1/cases", headers=bearer).status_code == 401
    again = env.client.post("/api/v1/auth/login", json={"login": "cs3", "password": PASSWORD})
    assert again.status_code == 401


def _works(env: Env, bearer: dict[str, str]) -> bool:
    r = env.client.get("/api/v1/me", headers=bearer)
    assert r.status_code in (200, 401), r.text
    return r.status_code == 200


NEW_PASSWORD = "a brand new passphrase"


def test_hardening_a_password_change_ends_the_sessions_and_personal_tokens_of_the_account(
    env: Env,
) -> None:
    accounts.create_account(
        env.ctx, None, kind=AccountKind.SERVICE, login="ordersys", password=None
    )
    integration = env.token("ordersys", "orders:write")
    c, headers = env.login("main")
    second_session, _ = env.login("main")
    made = c.post("/api/v1/tokens", json={"name": "erp", "scopes": ["cases:read"]}, headers=headers)
    assert made.status_code == 201, made.text
    erp = {"Authorization": f"Bearer {made.json()['token']}"}
    by_operator = env.token("main", "cases:read")  # the main account's, though not self-made
    c.post(
        f"/api/v1/shops/{env.shop_code}/accounts",
        json={"login": "cs9", "password": PASSWORD, "permissions": ["handle_aftersales"]},
        headers=headers,
    )
    colleague = env.token("cs9", "cases:read")
    tokens = (integration, erp, by_operator, colleague)
    assert all(_works(env, t) for t in tokens)

    r = c.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert c.get("/api/v1/me").status_code == 401
    assert second_session.get("/api/v1/me").status_code == 401
    assert not _works(env, erp) and not _works(env, by_operator)
    assert _works(env, integration) and _works(env, colleague)  # other accounts' tokens
    listed = {
        t["name"]: t["revoked"]
        for t in env.login("main", NEW_PASSWORD)[0].get("/api/v1/tokens").json()
    }
    assert listed == {"erp": True, "t": True}
    old = env.client.post("/api/v1/auth/login", json={"login": "main", "password": PASSWORD})
    assert old.status_code == 401
    with env.ctx.db.read() as conn:
        details = conn.execute(
            select(audit_log.c.details).where(audit_log.c.action == "password_changed")
        ).scalar_one()
    assert len(details["tokens_revoked"]) == 2


def test_hardening_a_password_changed_with_a_token_revokes_that_token_too(env: Env) -> None:
    bearer = env.token("main", "cases:read")
    r = env.client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer,
    )
    assert r.status_code == 200, r.text
    assert not _works(env, bearer)
    again = env.client.post("/api/v1/auth/login", json={"login": "main", "password": NEW_PASSWORD})
    assert again.status_code == 200


def test_R1_2_one_main_account_per_shop(env: Env) -> None:
    admin = env.token("admin", "accounts:write")
    r = env.client.post(
        "/api/v1/accounts",
        json={
            "kind": "merchant",
            "login": "main2",
            "password": PASSWORD,
            "shop": env.shop_code,
            "main": True,
        },
        headers=admin,
    )
    assert r.status_code == 409 and r.json()["code"] == "account.exists"


def test_R1_expired_session_is_refused(env: Env) -> None:
    c, _ = env.login("main")
    env.clock.advance(hours=env.ctx.settings.session_hours, seconds=1)
    assert c.get("/api/v1/me").status_code == 401


def test_R1_expired_token_is_refused(env: Env) -> None:
    c, headers = env.login("main")
    tok = c.post(
        "/api/v1/tokens",
        json={"name": "x", "scopes": ["cases:read"], "expires_in_days": 1},
        headers=headers,
    ).json()["token"]
    bearer = {"Authorization": f"Bearer {tok}"}
    assert env.client.get("/api/v1/me", headers=bearer).status_code == 200
    env.clock.advance(days=1, seconds=1)
    assert env.client.get("/api/v1/me", headers=bearer).status_code == 401


def test_R1_shop_settings_main_account_changes_them_and_the_audit_log_keeps_before_after(
    env: Env,
) -> None:
    c, headers = env.login("main")
    r = c.patch(
        f"/api/v1/shops/{env.shop_code}",
        json={"return_address": "9 New Dock", "timezone": "Asia/Singapore"},
        headers=headers,
    )
    assert r.status_code == 200 and r.json()["return_address"] == "9 New Dock"
    bad = c.patch(f"/api/v1/shops/{env.shop_code}", json={"timezone": "Mars/Base"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.timezone"
    profile = c.patch(f"/api/v1/shops/{env.shop_code}", json={"profile": "tiktok"}, headers=headers)
    assert profile.status_code == 403
    with env.ctx.db.read() as conn:
        rows = list(conn.execute(select(audit_log).where(audit_log.c.action == "settings_changed")))
    assert len(rows) == 1
    assert rows[0].details["before"]["return_address"] == "1 Return Rd, Hangzhou"
    assert rows[0].details["after"]["timezone"] == "Asia/Singapore"


def test_R1_session_lifetime_comes_from_settings(db: Database, clock: FakeClock) -> None:
    ctx = make_context(db, clock)
    ctx.settings.session_hours = 2
    accounts.create_account(ctx, None, kind=AccountKind.AGENT, login="ag", password=PASSWORD)
    sess = accounts.login(ctx, "ag", PASSWORD)
    assert sess.expires_at - clock.now == timedelta(hours=2)


def test_R1_wrong_credentials_are_refused_before_what_a_body_lacks(env: Env) -> None:
    """A write's credentials are checked in its transaction, after its body is read; a
    body refused before that still answers for the credentials first: 401 for a token that
    is not one (or none at all), 403 for a session without its CSRF token, 422 only for a
    caller whose credentials hold."""
    orders = "/api/v1/orders"
    bogus = {"Authorization": "Bearer ast_1_not-a-token", "Accept-Language": "en"}
    wrong_token = env.client.post(orders, json={}, headers=bogus)
    assert wrong_token.status_code == 401, wrong_token.text
    assert wrong_token.json()["code"] == "auth.token_invalid"
    not_json = env.client.post(
        orders, content=b"{not json", headers={**bogus, "Content-Type": "application/json"}
    )
    assert not_json.status_code == 401 and not_json.json()["code"] == "auth.token_invalid"
    nobody = env.client.post(
        orders, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert nobody.status_code == 401 and nobody.json()["code"] == "auth.required"
    c, _ = env.login("main")
    no_csrf = c.post(f"/api/v1/shops/{env.shop_code}/accounts", json={"login": ""})
    assert no_csrf.status_code == 403 and no_csrf.json()["code"] == "auth.csrf_failed"
    good = env.token("admin", "orders:write")
    invalid = env.client.post(orders, json={}, headers=good)
    assert invalid.status_code == 422 and invalid.json()["code"] == "request.invalid"


def test_R1_a_route_that_takes_no_credentials_ignores_a_stale_session_on_bad_input(
    env: Env,
) -> None:
    """Logging in needs no session: an ended one beside an invalid login body is a 422."""
    c, headers = env.login("main")
    assert c.post("/api/v1/auth/logout", headers=headers).status_code == 200
    c.cookies.set("aftersales_session", "ended")
    r = c.post("/api/v1/auth/login", json={"login": "main"}, headers=headers)
    assert r.status_code == 422, r.text
