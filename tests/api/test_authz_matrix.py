"""The BOLA/BFLA matrix: every API route × every principal against an allow/deny table.

Principals (see ``tests.api.support``): anonymous, buyer A (orders and a case in shop X),
buyer B (shop Y), X's main account, X's sub-account granted ``handle_aftersales``, X's
sub-account granted nothing, Y's main account, a platform agent, a platform admin and
the order system (a service account). Each holds an API token with every scope its kind
may carry, so a refusal here is about *who*, not about the token.

The statuses mean:

* 2xx: allowed. Every allowed row is sent a valid body on an object in a state where the
  action is possible (a fresh case per allowed principal for state-changing actions), so
  an allowed request must succeed outright: no row accepts a 409/422 as "past
  authorization".
* 404: the object is not visible to the caller (another buyer's case, another shop's
  shop/account/endpoint...). The body must equal the 404 for an object that does not
  exist at all, apart from the id it echoes (no existence oracle).
* 403: the caller sees the object but may not do this (a sub-account without the
  permission, the buyer on a merchant action, a platform agent on a shop's action, a
  function the caller's kind may not use at all).
* 401: anonymous.

Every refused request must leave the object as it was (read back as the admin).

The tables are checked against ``app.routes``: a new route with no row here fails
``test_every_route_has_an_expectation_row`` by name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import fastapi.routing
import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute

from aftersales.domain.accounts import KIND_SCOPES, AccountKind, Scope
from aftersales.services import accounts
from aftersales.services.actors import Actor
from tests.api.support import (
    ADMIN,
    AGENT,
    ANONYMOUS,
    BUYER_A,
    BUYER_B,
    PASSWORD,
    PRINCIPALS,
    REF_A,
    REF_B,
    SERVICE,
    SHOP_X,
    SHOP_Y,
    X_MAIN,
    X_SUB_HANDLE,
    X_SUB_PLAIN,
    Y_MAIN,
    ApiWorld,
    serial,
    tracking_number,
)

GHOST_INT = 2**31 - 2  # a valid id no row has
GHOST_CASE = "AS20261120999999"
GHOST_ORDER = "ORDNOSUCH"
GHOST_SHOP = "NOSUCHSHOP"
GHOST_BUYER = "no-such-buyer"


# --------------------------------------------------------------------------- the tables
def expect(default: int, **status: int) -> dict[str, int]:
    """``default`` for every principal not named; anonymous is 401 unless named."""
    table = dict.fromkeys(PRINCIPALS, default)
    table[ANONYMOUS] = 401
    table.update(status)
    assert set(table) == set(PRINCIPALS), set(table) - set(PRINCIPALS)
    return table


def everyone(status: int, **overrides: int) -> dict[str, int]:
    return expect(status, **overrides)


# Reading a case of buyer A on shop X (and anything read through it).
CASE_READ = expect(
    404, buyer_a=200, x_main=200, x_sub_handle=200, x_sub_plain=403, agent=200, admin=200
)
# A merchant's move on A's case (the case is in a state where the move is possible).
MERCHANT_ACTION = expect(
    404, buyer_a=403, x_main=200, x_sub_handle=200, x_sub_plain=403, agent=403, admin=403
)
# A buyer's move on A's case.
BUYER_ACTION = expect(
    404, buyer_a=200, x_main=403, x_sub_handle=403, x_sub_plain=403, agent=403, admin=403
)
# Shop administration: the main account (or an admin); the shop's sub-accounts see the
# object but may not manage it.
SHOP_ADMIN = expect(404, x_main=200, admin=200, x_sub_handle=403, x_sub_plain=403)
# Accounts and tokens of shop X: visible to X's main account and admins only.
X_ACCOUNT_ADMIN = expect(404, x_main=200, admin=200)
# Shop settings any account of the shop (and the platform) may read.
SHOP_READ = expect(404, x_main=200, x_sub_handle=200, x_sub_plain=200, agent=200, admin=200)
# R1.2: automation settings: the main account, a sub-account granted configure_strategies
# (neither sub-account here has it), or an admin.
CONFIGURE = expect(404, x_main=200, admin=200, x_sub_handle=403, x_sub_plain=403, agent=403)


def _strategy_of_x(w: ApiWorld) -> int:
    made = w.ok(
        X_MAIN,
        "POST",
        f"/api/v1/shops/{SHOP_X}/strategies",
        {"kind": "auto_approve_return", "name": f"s{serial()}", "enabled": False},
    )
    return int(made["id"])


# A 1×1 PNG (signature, IHDR, IDAT, IEND).
_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
    "3a7e9b550000000a49444154789c6360000000020001e221bc330000000049454e44ae426082"
)


def _evidence_upload() -> dict[str, Any]:
    return {"files": {"file": ("photo.png", _PNG, "image/png")}, "data": {"kind": "photo"}}


def _evidence_of_a(w: ApiWorld) -> int:
    resp = w.call(BUYER_A, "POST", f"/api/v1/cases/{w.case_a}/evidence", None, **_evidence_upload())
    assert resp.status_code == 201, resp.text
    return int(resp.json()["id"])


def _fm_body() -> dict[str, Any]:
    return {
        "shop": SHOP_X,
        "kind": "snowstorm",
        "regions": ["CN-BJ"],
        "starts_on": "2026-11-19",
        "ends_on": "2026-11-21",
        "description": "Roads closed by snow.",
    }


def _fm_report_of_x(w: ApiWorld) -> int:
    return int(w.ok(X_MAIN, "POST", "/api/v1/reports/force-majeure", _fm_body())["id"])


def _buyer_report_body() -> dict[str, Any]:
    return {"shop": SHOP_X, "buyer": REF_A, "reason": "Claims every parcel is empty."}


def _buyer_report_of_x(w: ApiWorld) -> int:
    return int(w.ok(X_MAIN, "POST", "/api/v1/reports/buyers", _buyer_report_body())["id"])


# R15: a shop files its own reports (after-sales permission); the platform reviews them.
REPORT_FILE = expect(404, x_main=201, x_sub_handle=201, x_sub_plain=403, agent=403, admin=403)
# A shop's after-sales accounts list their own reports; the platform every shop's.
REPORT_LIST = everyone(403, x_main=200, x_sub_handle=200, y_main=200, agent=200, admin=200)
# R15: a report is reviewed by the platform; the reporting shop sees it (403), others 404.
REPORT_REVIEW = expect(404, agent=200, admin=200, x_main=403, x_sub_handle=403, x_sub_plain=403)


def _offer_review_appeals(w: ApiWorld) -> None:
    """R12.3 is tiktok's and shop X runs douyin: for the R12.3 rows this world's douyin
    profile (a new version) offers the appeal with tiktok's numbers, so that the rows
    probe who may act, not which marketplace the shop is on."""
    profiles = w.ctx.profiles.current
    douyin, tiktok = profiles["douyin"], profiles["tiktok"]
    assert douyin.appeals is not None and tiktok.appeals is not None
    if douyin.appeals.negative_review is None:
        appeals = douyin.appeals.model_copy(
            update={"negative_review": tiktok.appeals.negative_review}
        )
        profiles["douyin"] = douyin.model_copy(
            update={"version": douyin.version + 1000, "appeals": appeals}
        )


def _review_body(w: ApiWorld) -> dict[str, Any]:
    number, line = w.push_order(SHOP_X, REF_A)
    return {"order_number": number, "order_line_id": line, "rating": 2, "topic": "other"}


def _review_appeal_probe(w: ApiWorld) -> Probe:
    """A negative review of buyer A's order in shop X (pushed by the order system, on a
    topic R12.3 lets the shop appeal) and an appeal body with every evidence kind."""
    _offer_review_appeals(w)
    nr = w.ctx.profiles.current["douyin"].appeals.negative_review  # type: ignore[union-attr]
    assert nr is not None
    case = w.ok(BUYER_A, "POST", "/api/v1/cases", _open_body(w))
    msg = w.ok(BUYER_A, "POST", f"/api/v1/cases/{case['number']}/messages", {"body": "Where?"})
    order, line = case["order_number"], case["lines"][0]["order_line_id"]
    topic = next(t for t in ("logistics", "other", "price") if t not in nr.excluded_topics)
    review = w.ok(
        SERVICE,
        "POST",
        "/api/v1/reviews",
        {
            "order_number": order,
            "order_line_id": line,
            "rating": nr.negative_max_rating,
            "topic": topic,
        },
    )
    refs = {"order": order, "logistics": tracking_number(), "chat": f"message:{msg['id']}"}
    evidence = [{"kind": k, "ref": refs[k]} for k in nr.required_evidence]
    return Probe(
        {"review_id": review["id"]}, {"reason": "Another shop's parcel.", "evidence": evidence}
    )


def _review_appeal_of_x(w: ApiWorld) -> int:
    p = _review_appeal_probe(w)
    path = f"/api/v1/reviews/{p.params['review_id']}/appeals"
    return int(w.ok(X_MAIN, "POST", path, p.body)["id"])


# R12.3: the shop appeals a review of its product (after-sales permission); the review's
# buyer and the platform see the review (403); the platform decides (REPORT_REVIEW).
REVIEW_APPEAL_FILE = expect(
    404, x_main=201, x_sub_handle=201, x_sub_plain=403, agent=403, admin=403, buyer_a=403
)


@dataclass(frozen=True)
class Probe:
    params: dict[str, Any]
    body: Any = None
    upload: dict[str, Any] | None = None  # multipart: httpx `files` and `data`


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    expect: dict[str, int]
    probe: Callable[[ApiWorld], Probe]
    ghost: dict[str, Any] = field(default_factory=dict)  # path params of a missing object
    ghost_body: Callable[[Any], Any] | None = None  # the body naming a missing object
    observe: str | None = None  # read back as the admin: refusals change nothing
    fresh: bool = True  # a new object per allowed principal (the first reuses the shared)
    revokes_tokens: bool = False  # an allowed call revokes the caller's tokens: renew them
    why: str = ""

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Refusal:
    """A refusal's body (R5.5): its code and the shop's evidence items of ``kind``,
    uploaded to the probed case first."""

    code: str
    kind: str

    def body(self, w: ApiWorld, number: str) -> dict[str, Any]:
        return {"refusal_code": self.code, "evidence_ids": w.proof(number, self.kind)}


def case_probe(
    state: str, body: Callable[[], Any] | Refusal | None = None
) -> Callable[[ApiWorld], Probe]:
    def probe(w: ApiWorld) -> Probe:
        number = w.case_in(state)
        if isinstance(body, Refusal):
            return Probe({"number": number}, body.body(w, number))
        return Probe({"number": number}, body() if body else {})

    return probe


def ship_body() -> dict[str, Any]:
    return {"carrier": "SF", "tracking_number": tracking_number()}


CASE = {"number": GHOST_CASE}
CASE_OBSERVE = "/api/v1/cases/{number}"

MERCHANT_MOVES: dict[str, tuple[str, Callable[[], Any] | Refusal | None]] = {
    "approve-refund": ("awaiting_merchant", None),
    "approve-return": ("awaiting_merchant", None),
    "approve-reship": ("awaiting_merchant_reship", None),
    "counter-offer": ("awaiting_merchant", lambda: {"amount": 5000}),
    "reject": ("awaiting_merchant", Refusal("buyer_agreed_to_cancel", "chat_log")),
    "confirm-receipt": ("return_shipped", None),
    "refund": ("return_shipped", None),
    "refuse-refund": ("return_received", Refusal("returned_goods_damaged", "carrier_proof")),
    "ship-replacement": ("awaiting_reship", ship_body),
    "request-intercept": ("awaiting_merchant_intercept", None),  # R16.2
}
BUYER_MOVES: dict[str, tuple[str, Callable[[], Any] | None]] = {
    "edit-request": ("awaiting_merchant", lambda: {"description": "It is torn, too."}),
    "accept-offer": ("awaiting_buyer", None),
    "ship-return": ("awaiting_return", ship_body),
    "resubmit": ("rejected", lambda: {"description": "Here is the chat log."}),
    "cancel": ("awaiting_merchant", None),
    "confirm-replacement": ("replacement_shipped", None),
}


# --------------------------------------------------------------------------- R9-R12
# The services refuse a caller whose kind never takes the step (not a party, not the
# merchant, not the buyer, not the platform) before looking the case up: 403 whatever the
# case, so no existence oracle; a caller of the right kind then sees the case or gets 404.
# R9.1: the buyer or the merchant (after a counter-offer both may); agents, admins and
# integrations are no party (403 intervention.parties_only).
ESCALATE = expect(
    404,
    buyer_a=201,
    x_main=201,
    x_sub_handle=201,
    x_sub_plain=403,
    agent=403,
    admin=403,
    service=403,
)
# R9.3: the merchant responds; every other kind 403 intervention.merchant_only.
RESPOND = expect(403, x_main=200, x_sub_handle=200, y_main=404)
# R9.4: the buyer withdraws; every other kind 403 intervention.buyer_only.
WITHDRAW = expect(403, buyer_a=200, buyer_b=404)
# R9.3 urgent, R10.4 ruling, R12.1 deciding an appeal, the queue: agents and admins only
# (403 intervention.platform_only before any lookup).
PLATFORM_ONLY = everyone(403, agent=200, admin=200)
# R12.1: the merchant appeals a ruling against it. On douyin buyer A sees the case but the
# ruling is not against the buyer (409 appeal.not_against_you, R12); R1.2: a sub-account
# appeals only with file_appeals, which neither sub-account holds.
APPEAL_FILE = expect(
    404,
    buyer_a=409,
    x_main=201,
    x_sub_handle=403,
    x_sub_plain=403,
    agent=403,
    admin=403,
    service=403,
)
INTERVENTION_OBSERVE = "/api/v1/cases/{number}/intervention"


def _appeal_probe(w: ApiWorld) -> Probe:
    case, appeal_id = w.merchant_appeal()
    # `number` only locates the observation (the path names the appeal alone)
    return Probe(
        {"appeal_id": appeal_id, "number": case}, {"decision": "uphold", "note": "Upheld."}
    )


def _open_round(w: ApiWorld) -> int:
    """The id of an open intervention round: a queue item (kind ``intervention``)."""
    return w.intervention_id(w.case_in("in_intervention"))


def _arbitration_rows() -> list[Row]:
    return [
        Row(
            "POST",
            "/api/v1/cases/{number}/intervention",
            ESCALATE,
            case_probe("awaiting_buyer", lambda: {"statement": "Please decide."}),
            CASE,
            observe=CASE_OBSERVE,
            why="R9.1: the buyer or the merchant, while a counter-offer waits",
        ),
        Row(
            "GET",
            "/api/v1/cases/{number}/intervention",
            CASE_READ,
            case_probe("in_intervention"),
            CASE,
            fresh=False,
        ),
        Row(
            "POST",
            "/api/v1/cases/{number}/intervention/response",
            RESPOND,
            case_probe("in_intervention", lambda: {"response": "The goods left QC intact."}),
            CASE,
            observe=INTERVENTION_OBSERVE,
            why="R9.3: once per round, so a fresh round per allowed principal",
        ),
        Row(
            "POST",
            "/api/v1/cases/{number}/intervention/urgent",
            PLATFORM_ONLY,
            case_probe("in_intervention"),
            CASE,
            observe=INTERVENTION_OBSERVE,
        ),
        Row(
            "POST",
            "/api/v1/cases/{number}/intervention/withdrawal",
            WITHDRAW,
            case_probe("in_intervention", lambda: {"settlement": "Partial refund agreed."}),
            CASE,
            observe=CASE_OBSERVE,
        ),
        Row(
            "POST",
            "/api/v1/cases/{number}/ruling",
            PLATFORM_ONLY,
            case_probe("in_intervention_ruleable", lambda: {"reasons": "The shop was silent."}),
            CASE,
            observe=CASE_OBSERVE,
            why="R10.4: after the evidence deadline (the round was opened in the past)",
        ),
        Row(
            "POST",
            "/api/v1/cases/{number}/appeals",
            APPEAL_FILE,
            case_probe(
                "awaiting_execution",
                lambda: {"grounds": "misjudgment", "statement": "The buyer broke it."},
            ),
            CASE,
            observe=INTERVENTION_OBSERVE,
            why="R12.1: one appeal per ruling, so a fresh ruling per allowed principal",
        ),
        Row(
            "POST",
            "/api/v1/appeals/{appeal_id}/decision",
            PLATFORM_ONLY,
            _appeal_probe,
            {"appeal_id": GHOST_INT},
            observe=INTERVENTION_OBSERVE,
            why="R12.1: the ruling was made by a third agent, so agent and admin may decide",
        ),
        Row(
            "POST",
            "/api/v1/queue/{kind}/{item_id}/assignment",
            PLATFORM_ONLY,
            lambda w: Probe({"kind": "intervention", "item_id": _open_round(w)}, {}),
            {"kind": "intervention", "item_id": GHOST_INT},
            observe="/api/v1/queue",
        ),
    ]


def _id_rows() -> list[Row]:
    rows = [
        # ------------------------------------------------------------------ accounts
        Row(
            "GET",
            "/api/v1/accounts/{account_id}",
            X_ACCOUNT_ADMIN,
            lambda w: Probe({"account_id": w.sub_account_of_x()}),
            {"account_id": GHOST_INT},
            fresh=False,
            why="self, the shop's main account or an admin",
        ),
        Row(
            "PUT",
            "/api/v1/accounts/{account_id}/permissions",
            X_ACCOUNT_ADMIN,
            lambda w: Probe({"account_id": w.sub_account_of_x()}, {"permissions": []}),
            {"account_id": GHOST_INT},
            observe="/api/v1/accounts/{account_id}",
        ),
        Row(
            "POST",
            "/api/v1/accounts/{account_id}/disable",
            X_ACCOUNT_ADMIN,
            lambda w: Probe({"account_id": w.sub_account_of_x()}),
            {"account_id": GHOST_INT},
            observe="/api/v1/accounts/{account_id}",
        ),
        Row(
            "POST",
            "/api/v1/tokens/{token_id}/revoke",
            X_ACCOUNT_ADMIN,
            lambda w: Probe({"token_id": w.token_of_x_account()}),
            {"token_id": GHOST_INT},
            why="the owner, the owner's main account or an admin",
        ),
        Row(
            "GET",
            "/api/v1/shops/{code}/accounts",
            expect(404, x_main=200, admin=200, x_sub_handle=403, x_sub_plain=403),
            lambda w: Probe({"code": SHOP_X}),
            {"code": GHOST_SHOP},
            fresh=False,
            why="agents cannot see accounts at all, so the list is 404 to them",
        ),
        Row(
            "POST",
            "/api/v1/shops/{code}/accounts",
            expect(404, x_main=201, admin=201, x_sub_handle=403, x_sub_plain=403, agent=403),
            lambda w: Probe({"code": SHOP_X}, {"login": f"clerk-{serial()}", "password": PASSWORD}),
            {"code": GHOST_SHOP},
        ),
        # ------------------------------------------------------------------ shops
        Row(
            "GET",
            "/api/v1/shops/{code}",
            expect(404, x_main=200, x_sub_handle=200, x_sub_plain=200, agent=200, admin=200),
            lambda w: Probe({"code": SHOP_X}),
            {"code": GHOST_SHOP},
            fresh=False,
        ),
        Row(
            "PATCH",
            "/api/v1/shops/{code}",
            expect(404, x_main=200, admin=200, x_sub_handle=403, x_sub_plain=403, agent=403),
            lambda w: Probe({"code": SHOP_X}, {"return_address": f"{serial()} New Rd"}),
            {"code": GHOST_SHOP},
            observe="/api/v1/shops/{code}",
        ),
        Row(
            "GET",
            "/api/v1/shops/{code}/standing",
            expect(
                404,
                x_main=200,
                x_sub_handle=403,
                x_sub_plain=403,
                agent=200,
                admin=200,
                service=200,
            ),
            lambda w: Probe({"code": SHOP_X}),
            {"code": GHOST_SHOP},
            fresh=False,
            why="R11.2: money standing; sub-accounts need view_analytics (R1.2)",
        ),
        Row(
            "POST",
            "/api/v1/shops/{code}/deposit",
            expect(403, admin=201, service=201),
            lambda w: Probe({"code": SHOP_X}, {"amount": 100, "reference": f"PAY-{serial()}"}),
            {"code": GHOST_SHOP},
            observe="/api/v1/shops/{code}/standing",
            why="R11.2: deposit payments come from the marketplace's payment system",
        ),
        # ------------------------------------------------------------------ orders
        Row(
            "GET",
            "/api/v1/orders/{number}",
            expect(
                404,
                buyer_a=200,
                x_main=200,
                x_sub_handle=200,
                x_sub_plain=200,
                agent=200,
                admin=200,
                service=200,
            ),
            lambda w: Probe({"number": w.order_a}),
            {"number": GHOST_ORDER},
            fresh=False,
            why="the buyer, the shop (no permission needed), the platform, the order system",
        ),
        Row(
            "POST",
            "/api/v1/orders/{number}/fulfilment",
            expect(403, service=200, admin=200),
            lambda w: Probe(
                {"number": w.push_order(shipped=False)[0]},
                {"shipped_at": (w.clock.now - timedelta(hours=1)).isoformat()},
            ),
            observe="/api/v1/orders/{number}",
            why="a function of the order system: refused (403) before any lookup",
        ),
        # ------------------------------------------------------------------ buyers
        Row(
            "GET",
            "/api/v1/buyers/{ref}/risk",
            expect(404, agent=200, admin=200),
            lambda w: Probe({"ref": REF_A}),
            {"ref": GHOST_BUYER},
            fresh=False,
            why="R15.2 risk is the platform's: to shops, buyers and services no buyer exists",
        ),
        # ------------------------------------------------------------------ cases
        Row(
            "GET",
            "/api/v1/cases/{number}",
            CASE_READ,
            lambda w: Probe({"number": w.case_a}),
            CASE,
            fresh=False,
        ),
        Row(
            "GET",
            "/api/v1/cases/{number}/timeline",
            CASE_READ,
            lambda w: Probe({"number": w.case_a}),
            CASE,
            fresh=False,
        ),
        # ------------------------------------------------------------------ messages
        Row(
            "GET",
            "/api/v1/cases/{number}/messages",
            CASE_READ,
            lambda w: Probe({"number": w.case_a}),
            CASE,
            fresh=False,
        ),
        Row(
            "POST",
            "/api/v1/cases/{number}/messages",
            expect(
                404,
                buyer_a=201,
                x_main=201,
                x_sub_handle=201,
                x_sub_plain=403,
                agent=201,
                admin=201,
            ),
            lambda w: Probe({"number": w.case_in("awaiting_merchant")}, {"body": "Hello"}),
            CASE,
            observe="/api/v1/cases/{number}/messages",
            fresh=False,
            why="the buyer, the shop's accounts that handle after-sales, the platform",
        ),
        Row(
            "POST",
            "/api/v1/messages/{message_id}/edit",
            expect(404, x_main=201, agent=403, admin=403),
            lambda w: Probe(
                {"message_id": w.held_message_of_x_main(w.case_in("awaiting_merchant"))},
                {"body": "Please write to us here."},
            ),
            {"message_id": GHOST_INT},
            why="a held message is visible to its sender and the platform; only the sender "
            "edits it",
        ),
        Row(
            "GET",
            "/api/v1/shops/{code}/reply-templates",
            expect(404, x_main=200, x_sub_handle=200, x_sub_plain=403, agent=200, admin=200),
            lambda w: Probe({"code": SHOP_X}),
            {"code": GHOST_SHOP},
            fresh=False,
        ),
        Row(
            "POST",
            "/api/v1/shops/{code}/reply-templates",
            expect(404, x_main=201, x_sub_handle=201, x_sub_plain=403, agent=403, admin=403),
            lambda w: Probe({"code": SHOP_X}, {"title": f"Hi {serial()}", "body": "We are on it."}),
            {"code": GHOST_SHOP},
            observe="/api/v1/shops/{code}/reply-templates?include_archived=true",
            fresh=False,
            why="the shop's own accounts that handle after-sales manage its templates",
        ),
        Row(
            "POST",
            "/api/v1/shops/{code}/reply-templates/{template_id}/archive",
            expect(404, x_main=200, x_sub_handle=200, x_sub_plain=403, agent=403, admin=403),
            lambda w: Probe({"code": SHOP_X, "template_id": w.template_of_x()}),
            {"code": GHOST_SHOP},
            observe="/api/v1/shops/{code}/reply-templates?include_archived=true",
        ),
        Row(
            "GET",
            "/api/v1/shops/{code}/message-stats",
            expect(404, x_main=200, x_sub_handle=200, x_sub_plain=403, agent=200, admin=200),
            lambda w: Probe({"code": SHOP_X}),
            {"code": GHOST_SHOP},
            fresh=False,
            why="sub-accounts need view_analytics or handle_aftersales",
        ),
        # ------------------------------------------------------------------ evidence
        Row(
            "GET",
            "/api/v1/cases/{number}/evidence",
            CASE_READ,
            lambda w: Probe({"number": w.case_a}),
            CASE,
            fresh=False,
        ),
        Row(
            "POST",
            "/api/v1/cases/{number}/evidence",
            expect(
                404,
                buyer_a=201,
                x_main=201,
                x_sub_handle=201,
                x_sub_plain=403,
                agent=201,
                admin=201,
            ),
            lambda w: Probe({"number": w.case_a}, upload=_evidence_upload()),
            CASE,
            observe="/api/v1/cases/{number}/evidence",
            fresh=False,
            why="R9.3: the buyer, the shop's accounts that handle after-sales, the platform",
        ),
        *(
            Row(
                method,  # HEAD: the download's headers
                "/api/v1/evidence/{evidence_id}",
                CASE_READ,
                lambda w: Probe({"evidence_id": _evidence_of_a(w)}),
                {"evidence_id": GHOST_INT},
                fresh=False,
                why="the parties of the case only",
            )
            for method in ("GET", "HEAD")
        ),
        # ------------------------------------------------------------------ judgment (R10)
        Row(
            "GET",
            "/api/v1/cases/{number}/recommendation",
            expect(
                404,
                agent=200,
                admin=200,
                buyer_a=403,
                x_main=403,
                x_sub_handle=403,
                x_sub_plain=403,
            ),
            lambda w: Probe({"number": w.case_a}),
            CASE,
            fresh=False,
            why="R10.5: the platform's; the parties see the case (403), anyone else 404",
        ),
        Row(
            "POST",
            "/api/v1/cases/{number}/evidence/{evidence_id}/assessments",
            expect(
                404,
                agent=201,
                admin=201,
                buyer_a=403,
                x_main=403,
                x_sub_handle=403,
                x_sub_plain=403,
            ),
            lambda w: Probe(
                {"number": w.case_a, "evidence_id": _evidence_of_a(w)},
                {"relevant": True, "credible": False, "supports": "buyer", "note": "Forged."},
            ),
            CASE,
            observe="/api/v1/cases/{number}/timeline",
            fresh=False,
            why="R9.3: platform agents and admins assess evidence",
        ),
        # ------------------------------------------------------------------ automation
        Row(
            "GET",
            "/api/v1/shops/{code}/automation",
            SHOP_READ,
            lambda w: Probe({"code": SHOP_X}),
            {"code": GHOST_SHOP},
            fresh=False,
            why="any account of the shop and the platform read the strategies",
        ),
        Row(
            "POST",
            "/api/v1/shops/{code}/service-hours",
            CONFIGURE,
            lambda w: Probe(
                {"code": SHOP_X},
                {"service_hours": {"days": [1, 2, 3], "start": "09:00", "end": "18:00"}},
            ),
            {"code": GHOST_SHOP},
            observe="/api/v1/shops/{code}/automation",
            why="R1.2: configure_strategies",
        ),
        Row(
            "POST",
            "/api/v1/shops/{code}/strategies",
            {k: (201 if v == 200 else v) for k, v in CONFIGURE.items()},
            lambda w: Probe(
                {"code": SHOP_X},
                {"kind": "auto_approve_return", "name": f"s{serial()}", "enabled": False},
            ),
            {"code": GHOST_SHOP},
            observe="/api/v1/shops/{code}/automation",
            why="R1.2: configure_strategies",
        ),
        Row(
            "PATCH",
            "/api/v1/shops/{code}/strategies/{strategy_id}",
            CONFIGURE,
            lambda w: Probe({"code": SHOP_X, "strategy_id": _strategy_of_x(w)}, {"priority": 7}),
            {"code": SHOP_X, "strategy_id": GHOST_INT},
            observe="/api/v1/shops/{code}/automation",
        ),
        Row(
            "POST",
            "/api/v1/shops/{code}/strategies/{strategy_id}/archive",
            CONFIGURE,
            lambda w: Probe({"code": SHOP_X, "strategy_id": _strategy_of_x(w)}),
            {"code": SHOP_X, "strategy_id": GHOST_INT},
            observe="/api/v1/shops/{code}/automation",
        ),
        Row(
            "GET",
            "/api/v1/cases/{number}/automation-preview",
            CASE_READ,
            case_probe("awaiting_merchant"),
            CASE,
            fresh=False,
        ),
        Row(
            "GET",
            "/api/v1/shops/{code}/express-refund",
            SHOP_READ,
            lambda w: Probe({"code": SHOP_X}),
            {"code": GHOST_SHOP},
            fresh=False,
        ),
        Row(
            "POST",
            "/api/v1/shops/{code}/express-refund",
            CONFIGURE,
            lambda w: Probe({"code": SHOP_X}, {"enabled": True}),
            {"code": GHOST_SHOP},
            observe="/api/v1/shops/{code}/express-refund",
            why="R1.2: configure_strategies (R7.3 switch)",
        ),
        Row(
            "GET",
            "/api/v1/cases/{number}/express-refund",
            CASE_READ,
            case_probe("awaiting_merchant"),
            CASE,
            fresh=False,
        ),
        Row(
            "GET",
            "/api/v1/cases/{number}/inspections",
            CASE_READ,
            case_probe("awaiting_merchant"),
            CASE,
            fresh=False,
        ),
        Row(
            "POST",
            "/api/v1/shops/{code}/warehouse-secret",
            CONFIGURE,
            lambda w: Probe({"code": SHOP_X}),
            {"code": GHOST_SHOP},
            why="the shop's signing secret for its warehouse",
        ),
        Row(
            "POST",
            "/api/v1/inbound/warehouse/{code}",
            everyone(401, anonymous=401),
            lambda w: Probe({"code": SHOP_X}, {"case_number": "X"}),
            {"code": GHOST_SHOP},
            why="no account: only the shop's warehouse signature is accepted",
        ),
        # ------------------------------------------------------------------ webhooks
        Row(
            "GET",
            "/api/v1/webhooks/endpoints/{endpoint_id}",
            SHOP_ADMIN,
            lambda w: Probe({"endpoint_id": w.endpoint_of_x()}),
            {"endpoint_id": GHOST_INT},
            fresh=False,
            why="agents do not manage webhooks: not visible to them",
        ),
        Row(
            "POST",
            "/api/v1/webhooks/endpoints/{endpoint_id}/disable",
            SHOP_ADMIN,
            lambda w: Probe({"endpoint_id": w.endpoint_of_x()}),
            {"endpoint_id": GHOST_INT},
            observe="/api/v1/webhooks/endpoints/{endpoint_id}",
        ),
        Row(
            "POST",
            "/api/v1/webhooks/endpoints/{endpoint_id}/rotate-secret",
            SHOP_ADMIN,
            lambda w: Probe({"endpoint_id": w.endpoint_of_x()}),
            {"endpoint_id": GHOST_INT},
            observe="/api/v1/webhooks/endpoints/{endpoint_id}",
        ),
        Row(
            "GET",
            "/api/v1/webhooks/endpoints/{endpoint_id}/deliveries",
            SHOP_ADMIN,
            lambda w: Probe({"endpoint_id": w.endpoint_of_x()}),
            {"endpoint_id": GHOST_INT},
            fresh=False,
        ),
        Row(
            "POST",
            "/api/v1/webhooks/endpoints/{endpoint_id}/deliveries/{delivery_id}/redeliver",
            expect(404, x_main=202, admin=202, x_sub_handle=403, x_sub_plain=403),
            lambda w: Probe(
                dict(zip(("endpoint_id", "delivery_id"), w.delivery_of_x(), strict=True))
            ),
            {"endpoint_id": GHOST_INT},
            observe="/api/v1/webhooks/endpoints/{endpoint_id}/deliveries",
        ),
        # ------------------------------------------------------------------ reports (R15)
        Row(
            "POST",
            "/api/v1/reports/force-majeure/{report_id}/review",
            REPORT_REVIEW,
            lambda w: Probe({"report_id": _fm_report_of_x(w)}, {"decision": "approve"}),
            {"report_id": GHOST_INT},
            observe="/api/v1/reports/force-majeure",
        ),
        Row(
            "POST",
            "/api/v1/reports/buyers/{report_id}/review",
            REPORT_REVIEW,
            lambda w: Probe({"report_id": _buyer_report_of_x(w)}, {"decision": "reject"}),
            {"report_id": GHOST_INT},
            observe="/api/v1/reports/buyers",
            why="rejected, so the probe rejects none of buyer A's requests",
        ),
        # ------------------------------------------------------------------ reviews (R12.3)
        Row(
            "GET",
            "/api/v1/shops/{code}/products/{sku}/reviews",
            SHOP_READ,
            lambda w: Probe({"code": SHOP_X, "sku": "TEE"}),
            {"code": GHOST_SHOP},
            fresh=False,
            why="the shop's accounts and the platform",
        ),
        Row(
            "POST",
            "/api/v1/reviews/{review_id}/appeals",
            REVIEW_APPEAL_FILE,
            _review_appeal_probe,
            {"review_id": GHOST_INT},
            observe="/api/v1/review-appeals",
        ),
        Row(
            "POST",
            "/api/v1/review-appeals/{appeal_id}/decision",
            REPORT_REVIEW,
            lambda w: Probe(
                {"appeal_id": _review_appeal_of_x(w)}, {"decision": "dismiss", "note": "No."}
            ),
            {"appeal_id": GHOST_INT},
            observe="/api/v1/review-appeals",
        ),
    ]
    rows += _arbitration_rows()
    for action, (state, body) in MERCHANT_MOVES.items():
        rows.append(
            Row(
                "POST",
                f"/api/v1/cases/{{number}}/{action}",
                MERCHANT_ACTION,
                case_probe(state, body),
                CASE,
                observe=CASE_OBSERVE,
            )
        )
    for action, (state, body) in BUYER_MOVES.items():
        rows.append(
            Row(
                "POST",
                f"/api/v1/cases/{{number}}/{action}",
                BUYER_ACTION,
                case_probe(state, body),
                CASE,
                observe=CASE_OBSERVE,
            )
        )
    return rows


def _order_body(w: ApiWorld) -> dict[str, Any]:
    now = w.clock.now
    return {
        "number": f"ORD{serial():08d}",
        "shop": SHOP_X,
        "buyer": {"ref": REF_A, "name": "Buyer A", "phone": "13800000000"},
        "currency": "CNY",
        "lines": [{"sku": "TEE", "title": "T-shirt", "quantity": 1, "unit_price": 1, "paid": 1}],
        "paid_at": (now - timedelta(days=1)).isoformat(),
    }


def _open_body(w: ApiWorld) -> dict[str, Any]:
    number, line = w.push_order(SHOP_X, REF_A)
    return {
        "order_number": number,
        "type": "return_refund",
        "lines": [{"order_line_id": line, "quantity": 1}],
        "reason": "changed_mind",
        "amount": 10000,
    }


def _receipt_body(w: ApiWorld) -> dict[str, Any]:
    now = w.clock.now.isoformat()
    return {
        "case_number": w.case_in("return_shipped"),
        "external_id": f"W{serial()}",
        "result": "fail",
        "received_at": now,
        "inspected_at": now,
    }


def _with(key: str, value: Any) -> Callable[[Any], Any]:
    return lambda body: {**body, key: value}


def _routes_without_id_rows() -> list[Row]:
    """Function-level authorization (BFLA) of the routes that take no id in the path; some
    name an object in the body (a shop, an order): those 404 like the id routes do."""
    none = lambda w: Probe({})  # noqa: E731
    return [
        Row("GET", "/api/health", everyone(200, anonymous=200), none, why="public"),
        Row("GET", "/", everyone(200, anonymous=200), none, why="public: the home page"),
        Row("HEAD", "/", everyone(200, anonymous=200), none, why="the home page's headers"),
        Row("GET", "/api/docs", everyone(200, anonymous=200), none, why="public: API docs"),
        Row("GET", "/api/redoc", everyone(200, anonymous=200), none, why="public: API docs"),
        Row(
            "POST",
            "/api/v1/auth/login",
            everyone(200, anonymous=200),
            lambda w: Probe({}, {"login": "agent", "password": PASSWORD}),
            why="public: logs in as the agent whatever the caller sends",
        ),
        Row("POST", "/api/v1/auth/logout", everyone(200, anonymous=200), none, why="public"),
        Row("GET", "/api/v1/me", everyone(200), none),
        Row(
            "POST",
            "/api/v1/me/password",
            everyone(200, service=401),
            lambda w: Probe({}, {"current_password": PASSWORD, "new_password": PASSWORD}),
            why="one's own password; a service account has none (401 bad_password)",
            revokes_tokens=True,  # a password change revokes the account's tokens
        ),
        Row("GET", "/api/v1/tokens", everyone(200), none),
        Row(
            "POST",
            "/api/v1/tokens",
            everyone(403),
            lambda w: Probe({}, {"name": "more", "scopes": ["cases:read"]}),
            why="tokens are minted from a login session only (auth.token_cannot_mint)",
        ),
        Row("GET", "/api/v1/shops", everyone(200), none, why="filtered to what one may see"),
        Row(
            "POST",
            "/api/v1/shops",
            everyone(403, admin=201),
            lambda w: Probe(
                {}, {"code": f"NEW{serial()}", "name": "New", "return_address": "1 Rd"}
            ),
        ),
        Row(
            "POST",
            "/api/v1/accounts",
            everyone(403, admin=201),
            lambda w: Probe(
                {}, {"kind": "agent", "login": f"agent-{serial()}", "password": PASSWORD}
            ),
            why="admins create any account; a service only buyers",
        ),
        Row(
            "POST",
            "/api/v1/orders",
            everyone(403, service=201, admin=201),
            lambda w: Probe({}, _order_body(w)),
        ),
        Row(
            "POST",
            "/api/v1/logistics/events",
            everyone(403, service=201, admin=201),
            lambda w: Probe(
                {},
                {
                    "carrier": "SF",
                    "tracking_number": tracking_number(),
                    "status": "in_transit",
                    "occurred_at": w.clock.now.isoformat(),
                },
            ),
        ),
        Row(
            "GET",
            "/api/v1/cases",
            everyone(200, x_sub_plain=403, service=403),
            none,
            why="filtered; a sub-account needs handle_aftersales, a service cases:read",
        ),
        Row(
            "POST",
            "/api/v1/cases",
            everyone(403, buyer_a=201, buyer_b=404),
            lambda w: Probe({}, _open_body(w)),
            ghost_body=_with("order_number", GHOST_ORDER),
            why="buyers only, on their own orders",
        ),
        Row(
            "POST",
            "/api/v1/warehouse/receipts",
            everyone(403, x_main=201, x_sub_handle=201, y_main=404),
            lambda w: Probe({}, _receipt_body(w)),
            ghost_body=_with("case_number", GHOST_CASE),
            why="the shop's own accounts that handle after-sales (its ERP)",
        ),
        Row("GET", "/api/v1/webhooks/event-types", everyone(200), none),
        Row(
            "GET",
            "/api/v1/webhooks/endpoints",
            everyone(403, x_main=200, y_main=200, admin=200),
            none,
        ),
        Row(
            "POST",
            "/api/v1/webhooks/endpoints",
            expect(404, x_main=201, admin=201, x_sub_handle=403, x_sub_plain=403),
            lambda w: Probe({}, {"shop": SHOP_X, "url": "http://127.0.0.1:9/new"}),
            ghost_body=_with("shop", GHOST_SHOP),
            fresh=False,
        ),
        # ------------------------------------------------------------------ reports (R15)
        Row(
            "POST",
            "/api/v1/reports/force-majeure",
            REPORT_FILE,
            lambda w: Probe({}, _fm_body()),
            ghost_body=_with("shop", GHOST_SHOP),
            why="the shop's own accounts that handle after-sales; the platform reviews",
        ),
        Row("GET", "/api/v1/reports/force-majeure", REPORT_LIST, none),
        Row(
            "POST",
            "/api/v1/reports/buyers",
            REPORT_FILE,
            lambda w: Probe({}, _buyer_report_body()),
            ghost_body=_with("shop", GHOST_SHOP),
        ),
        Row("GET", "/api/v1/reports/buyers", REPORT_LIST, none),
        # ------------------------------------------------------------------ R9.2, the queue
        Row(
            "POST",
            "/api/v1/dispute-flags",
            everyone(403, agent=201, admin=201),
            lambda w: Probe(
                {},
                {
                    "kind": "invalid_transaction",
                    "note": "Brushing order.",
                    "order_number": w.push_order(SHOP_X, REF_A)[0],
                },
            ),
            why="R9.2: the platform's; refused (403) before the order is looked up",
        ),
        Row(
            "GET",
            "/api/v1/queue",
            PLATFORM_ONLY,
            none,
            why="what waits for an agent: agents and admins only",
        ),
        # ------------------------------------------------------------------ reviews (R12.3)
        Row(
            "POST",
            "/api/v1/reviews",
            everyone(403, service=201, admin=201, buyer_a=201, buyer_b=404),
            lambda w: Probe({}, _review_body(w)),
            ghost_body=_with("order_number", GHOST_ORDER),
            why="the marketplace pushes a review; the order's buyer writes one",
        ),
        Row("GET", "/api/v1/review-appeals", REPORT_LIST, none),
    ]


ID_ROWS = _id_rows()
OTHER_ROWS = _routes_without_id_rows()


# --------------------------------------------------------------------------- running rows
def _path(row: Row, params: dict[str, Any]) -> str:
    return row.path.format(**params)


def _send(world: ApiWorld, row: Row, principal: str, probe: Probe) -> httpx.Response:
    return world.call(
        principal, row.method, _path(row, probe.params), probe.body, **(probe.upload or {})
    )


def _normalised(resp: httpx.Response, values: list[str]) -> dict[str, Any]:
    """The problem document with the ids it names replaced by a placeholder."""
    doc: dict[str, Any] = resp.json() if resp.content else {}  # HEAD: headers only
    out: dict[str, Any] = {}
    for k, v in doc.items():
        if isinstance(v, str):
            for value in values:
                v = re.sub(rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])", "<id>", v)
        out[k] = v
    return out


def _ghost_mismatch(
    world: ApiWorld, row: Row, principal: str, probe: Probe, resp: httpx.Response
) -> str | None:
    """The 404 for the hidden object must read exactly like the 404 for a missing one."""
    if not row.ghost and row.ghost_body is None:
        return f"{row.key}: a 404 row needs a ghost (an id of a missing object)"
    params = {**probe.params, **row.ghost}
    body = row.ghost_body(probe.body) if row.ghost_body else probe.body
    ghost = world.call(principal, row.method, _path(row, params), body, **(probe.upload or {}))
    real_ids = [str(v) for k, v in probe.params.items() if k in row.ghost]
    ghost_ids = [str(v) for v in row.ghost.values()]
    if row.ghost_body is not None:
        changed = [k for k in body if body[k] != probe.body[k]]
        real_ids += [str(probe.body[k]) for k in changed]
        ghost_ids += [str(body[k]) for k in changed]
    seen, missing = _normalised(resp, real_ids), None
    if ghost.status_code == 404:
        missing = _normalised(ghost, ghost_ids)
    if seen != missing or resp.headers["content-type"] != ghost.headers["content-type"]:
        return (
            f"{row.key} as {principal}: the 404 for a hidden object differs from the 404 for "
            f"a missing one:\n    hidden:  {resp.text}\n    missing: {ghost.status_code} "
            f"{ghost.text}"
        )
    return None


def _observe(world: ApiWorld, row: Row, probe: Probe) -> Any:
    if row.observe is None:
        return None
    return world.ok(ADMIN, "GET", row.observe.format(**probe.params))


def run_row(world: ApiWorld, row: Row) -> list[str]:
    """Every principal against one row; returns the mismatches (empty when all hold)."""
    problems: list[str] = []

    def check(principal: str, probe: Probe) -> httpx.Response:
        resp = _send(world, row, principal, probe)
        if row.revokes_tokens and resp.status_code < 300:
            world.renew_token(principal)
        want = row.expect[principal]
        if resp.status_code != want:
            kind = "UNEXPECTED ALLOW" if resp.status_code < 300 else "mismatch"
            problems.append(
                f"{kind}: {row.key} as {principal}: expected {want}, got {resp.status_code}: "
                f"{resp.text[:600]}"
            )
        return resp

    denied = [p for p in PRINCIPALS if row.expect[p] >= 300]
    allowed = [p for p in PRINCIPALS if row.expect[p] < 300]
    shared = row.probe(world)
    before = _observe(world, row, shared)
    for principal in denied:
        resp = check(principal, shared)
        if resp.status_code == 404 == row.expect[principal]:
            mismatch = _ghost_mismatch(world, row, principal, shared, resp)
            if mismatch:
                problems.append(mismatch)
    if _observe(world, row, shared) != before:
        problems.append(f"{row.key}: a refused request changed the object")
    for i, principal in enumerate(allowed):
        check(principal, shared if i == 0 or not row.fresh else row.probe(world))
    return problems


def _run(world: ApiWorld, rows: list[Row]) -> None:
    problems = [p for row in rows for p in run_row(world, row)]
    assert not problems, f"{len(problems)} authorization mismatches:\n" + "\n".join(problems)


# --------------------------------------------------------------------------- tests
def api_routes(app: FastAPI) -> set[str]:
    """``METHOD /path`` of every API route: the app's routes (FastAPI >= 0.16x nests
    included routers; ``iter_route_contexts`` flattens them) and the OpenAPI paths."""
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    found = set()
    for route in flatten(app.routes) if flatten else app.routes:
        if isinstance(getattr(route, "original_route", route), APIRoute):
            found |= {f"{m} {route.path}" for m in route.methods or ()}
    for path, item in app.openapi()["paths"].items():
        found |= {f"{m.upper()} {path}" for m in item}
    return found


def test_every_route_has_an_expectation_row(world: ApiWorld) -> None:
    """A new route fails here until someone decides who may call it."""
    routes = api_routes(world.app)
    assert len(routes) > 40, sorted(routes)  # the enumeration itself works
    with_id = {r for r in routes if "{" in r}
    id_rows = {row.key for row in ID_ROWS}
    other_rows = {row.key for row in OTHER_ROWS}
    assert not with_id - id_rows, (
        f"routes with an id and no matrix row: {sorted(with_id - id_rows)}"
    )
    assert not (routes - with_id) - other_rows, (
        f"routes without an id and no row: {sorted((routes - with_id) - other_rows)}"
    )
    assert not (id_rows | other_rows) - routes, (
        f"rows for routes that no longer exist: {sorted((id_rows | other_rows) - routes)}"
    )
    assert len(ID_ROWS) == len(id_rows) and len(OTHER_ROWS) == len(other_rows), "duplicate rows"


def test_routes_with_an_id_allow_exactly_the_expected_principals(world: ApiWorld) -> None:
    _run(world, ID_ROWS)


def test_routes_without_an_id_allow_exactly_the_expected_principals(world: ApiWorld) -> None:
    _run(world, OTHER_ROWS)


def test_hidden_case_404_is_byte_identical_to_a_missing_case_404(world: ApiWorld) -> None:
    """No existence oracle: another buyer's or another shop's case answers exactly like a
    case number nobody has (same status, headers and body but the number it echoes)."""
    real = world.case_a
    assert len(real) == len(GHOST_CASE)
    for principal in (BUYER_B, Y_MAIN, SERVICE):
        for method, suffix, body in (
            ("GET", "", None),
            ("GET", "/timeline", None),
            ("GET", "/messages", None),
            ("POST", "/cancel", {}),
            ("POST", "/approve-refund", {}),
            ("POST", "/messages", {"body": "hi"}),
        ):
            hidden = world.call(principal, method, f"/api/v1/cases/{real}{suffix}", body)
            missing = world.call(principal, method, f"/api/v1/cases/{GHOST_CASE}{suffix}", body)
            where = f"{method} …{suffix} as {principal}"
            assert hidden.status_code == missing.status_code == 404, (where, hidden.text)
            assert hidden.content.replace(real.encode(), GHOST_CASE.encode()) == missing.content
            assert hidden.json()["code"] == missing.json()["code"] == "case.not_found", where
            assert dict(hidden.headers) == dict(missing.headers), where


def test_nested_ids_must_belong_to_their_parent(world: ApiWorld) -> None:
    """An own parent with another shop's child is a missing child, not a way in."""
    y_endpoint = world.ok(
        ADMIN,
        "POST",
        "/api/v1/webhooks/endpoints",
        {"shop": SHOP_Y, "url": "http://127.0.0.1:9/y"},
    )["id"]
    world.push_order(SHOP_Y, REF_B)
    x_endpoint, _ = world.delivery_of_x()
    y_delivery = world.ok(ADMIN, "GET", f"/api/v1/webhooks/endpoints/{y_endpoint}/deliveries")[
        "items"
    ][0]["id"]
    resp = world.call(
        X_MAIN,
        "POST",
        f"/api/v1/webhooks/endpoints/{x_endpoint}/deliveries/{y_delivery}/redeliver",
    )
    assert resp.status_code == 404, resp.text
    assert resp.json()["code"] == "webhook.delivery_not_found"
    world.ok(
        Y_MAIN,
        "POST",
        f"/api/v1/shops/{SHOP_Y}/reply-templates",
        {"title": "Y greeting", "body": "Hello from Y."},
    )
    y_tpl = world.ok(ADMIN, "GET", f"/api/v1/shops/{SHOP_Y}/reply-templates")[0]["id"]
    resp = world.call(X_MAIN, "POST", f"/api/v1/shops/{SHOP_X}/reply-templates/{y_tpl}/archive")
    assert resp.status_code == 404, resp.text
    assert resp.json()["code"] == "template.not_found"
    # A buyer cannot post on another buyer's case by naming it through an own message id.
    y_msg = world.ok(BUYER_B, "POST", f"/api/v1/cases/{world.case_b}/messages", {"body": "hi"})
    resp = world.call(BUYER_A, "POST", f"/api/v1/messages/{y_msg['id']}/edit", {"body": "x"})
    assert resp.status_code == 404, resp.text


def test_lists_show_only_what_the_caller_may_see(world: ApiWorld) -> None:
    shops_of = {
        BUYER_A: {SHOP_X},
        BUYER_B: {SHOP_Y},
        X_MAIN: {SHOP_X},
        X_SUB_HANDLE: {SHOP_X},
        Y_MAIN: {SHOP_Y},
        AGENT: {SHOP_X, SHOP_Y},
        ADMIN: {SHOP_X, SHOP_Y},
    }
    for principal, shops in shops_of.items():
        page = world.ok(principal, "GET", "/api/v1/cases?limit=200")
        assert {c["shop"] for c in page["items"]} == shops, principal
        # A filter naming another shop narrows, it never widens.
        for other in {SHOP_X, SHOP_Y} - shops:
            page = world.ok(principal, "GET", f"/api/v1/cases?shop={other}")
            assert page["items"] == [], (principal, other)
    buyer_a_cases = world.ok(BUYER_A, "GET", "/api/v1/cases")["items"]
    assert world.case_b not in {c["number"] for c in buyer_a_cases}
    visible_shops = {
        BUYER_A: set(),
        X_MAIN: {SHOP_X},
        X_SUB_PLAIN: {SHOP_X},
        Y_MAIN: {SHOP_Y},
        AGENT: {SHOP_X, SHOP_Y},
        SERVICE: set(),
    }
    for principal, shops in visible_shops.items():
        listed = {s["code"] for s in world.ok(principal, "GET", "/api/v1/shops")}
        assert listed == shops, principal
    resp = world.call(X_MAIN, "GET", f"/api/v1/webhooks/endpoints?shop={SHOP_Y}")
    assert resp.status_code == 404, resp.text


# --------------------------------------------------------------------------- scopes
def _scoped_token(world: ApiWorld, principal: str, scopes: list[Scope]) -> dict[str, str]:
    view = accounts.create_token(
        world.ctx,
        Actor.system("operator"),
        name="narrow",
        scopes=[s.value for s in scopes],
        account_id=world.account_ids[principal],
    )
    return {"Authorization": f"Bearer {view.token}"}


SCOPE_CASES: list[tuple[str, list[Scope], str, str, Any]] = [
    # principal, the token's only scopes, method, path ({case}: A's case), body
    (BUYER_A, [Scope.CASES_READ], "POST", "/api/v1/cases/{case}/cancel", {}),
    (BUYER_A, [Scope.MESSAGES_WRITE], "GET", "/api/v1/cases/{case}", None),
    (BUYER_A, [Scope.CASES_READ], "POST", "/api/v1/cases/{case}/messages", {"body": "hi"}),
    (X_MAIN, [Scope.CASES_READ], "POST", "/api/v1/cases/{case}/approve-return", {}),
    (X_MAIN, [Scope.CASES_READ], "PATCH", f"/api/v1/shops/{SHOP_X}", {"name": "X"}),
    (X_MAIN, [Scope.CASES_READ], "GET", f"/api/v1/shops/{SHOP_X}/accounts", None),
    (X_MAIN, [Scope.MESSAGES_WRITE], "GET", "/api/v1/cases", None),
    (X_MAIN, [Scope.CASES_READ], "GET", "/api/v1/webhooks/endpoints", None),
    (AGENT, [Scope.CASES_READ], "POST", "/api/v1/cases/{case}/messages", {"body": "hi"}),
    (
        ADMIN,
        [Scope.CASES_READ],
        "POST",
        "/api/v1/shops",
        {"code": "Z", "name": "Z", "return_address": "Z"},
    ),
    (ADMIN, [Scope.CASES_READ], "PATCH", f"/api/v1/shops/{SHOP_X}", {"name": "X"}),
    (SERVICE, [Scope.LOGISTICS_WRITE], "POST", "/api/v1/orders", "order"),
    (SERVICE, [Scope.ORDERS_WRITE], "POST", "/api/v1/accounts", "buyer-account"),
]


def test_token_without_the_scope_is_refused_403_scope_missing(world: ApiWorld) -> None:
    failures = []
    for principal, scopes, method, path, body in SCOPE_CASES:
        kind = AccountKind(world.ok(principal, "GET", "/api/v1/me")["kind"])
        assert set(scopes) < KIND_SCOPES[kind]  # the account could hold the missing scope
        if body == "order":
            body = _order_body(world)
        elif body == "buyer-account":
            body = {"kind": "buyer", "login": "a2", "password": PASSWORD, "buyer_ref": REF_A}
        resp = world.client.request(
            method,
            path.format(case=world.case_a),
            json=body,
            headers=_scoped_token(world, principal, scopes),
        )
        if resp.status_code != 403 or resp.json().get("code") != "auth.scope_missing":
            failures.append(f"{method} {path} as {principal} {scopes}: {resp.text}")
    assert not failures, "\n".join(failures)


def test_a_missing_scope_does_not_reveal_another_buyers_case(world: ApiWorld) -> None:
    """Visibility comes before the scope check: 404, not 403, on a case one cannot see."""
    headers = _scoped_token(world, BUYER_B, [Scope.MESSAGES_WRITE])
    hidden = world.client.get(f"/api/v1/cases/{world.case_a}", headers=headers)
    assert hidden.status_code == 404, hidden.text
    own = world.client.get(f"/api/v1/cases/{world.case_b}", headers=headers)
    assert own.status_code == 403 and own.json()["code"] == "auth.scope_missing", own.text
    # By design a cases:write token may read what it may change, and only that.
    writer = _scoped_token(world, BUYER_B, [Scope.CASES_WRITE])
    assert world.client.get(f"/api/v1/cases/{world.case_b}", headers=writer).status_code == 200
    assert world.client.get(f"/api/v1/cases/{world.case_a}", headers=writer).status_code == 404


def test_a_cases_write_token_reads_the_cases_it_may_change(world: ApiWorld) -> None:
    """cases:write implies reading: the list it works from, a case, its timeline and its
    conversation; never another party's case."""
    writer = _scoped_token(world, BUYER_B, [Scope.CASES_WRITE])
    listed = world.client.get("/api/v1/cases", headers=writer)
    assert listed.status_code == 200, listed.text
    assert [c["number"] for c in listed.json()["items"]] == [world.case_b]
    for suffix in ("timeline", "messages"):
        own = world.client.get(f"/api/v1/cases/{world.case_b}/{suffix}", headers=writer)
        assert own.status_code == 200, (suffix, own.text)
        other = world.client.get(f"/api/v1/cases/{world.case_a}/{suffix}", headers=writer)
        assert other.status_code == 404, (suffix, other.text)
    reader_of_nothing = _scoped_token(world, BUYER_B, [Scope.MESSAGES_WRITE])
    refused = world.client.get("/api/v1/cases", headers=reader_of_nothing)
    assert refused.status_code == 403 and refused.json()["code"] == "auth.scope_missing"


# --------------------------------------------------------------------------- sessions
def test_session_cookie_needs_the_csrf_token_to_change_anything(world: ApiWorld) -> None:
    case = world.case_in("awaiting_merchant")
    login = world.client.post("/api/v1/auth/login", json={"login": "x-main", "password": PASSWORD})
    assert login.status_code == 200, login.text
    csrf = login.json()["csrf_token"]
    path = f"/api/v1/cases/{case}/approve-return"
    assert world.client.get(f"/api/v1/cases/{case}").status_code == 200
    for headers in ({}, {"X-CSRF-Token": "wrong"}):
        resp = world.client.post(path, json={}, headers=headers)
        assert resp.status_code == 403, resp.text
        assert resp.json()["code"] == "auth.csrf_failed"
    resp = world.client.post(path, json={}, headers={"X-CSRF-Token": csrf})
    assert resp.status_code == 200, resp.text
    # The session acts with its account's rights: another buyer's case stays hidden.
    assert world.client.get(f"/api/v1/cases/{world.case_b}").status_code == 404
    world.client.cookies.clear()


def test_a_session_of_buyer_b_cannot_see_buyer_as_case(world: ApiWorld) -> None:
    login = world.client.post("/api/v1/auth/login", json={"login": "buyer-b", "password": PASSWORD})
    assert login.status_code == 200, login.text
    csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
    assert world.client.get(f"/api/v1/cases/{world.case_a}").status_code == 404
    assert (
        world.client.post(f"/api/v1/cases/{world.case_a}/cancel", json={}, headers=csrf).status_code
        == 404
    )
    assert world.client.get(f"/api/v1/cases/{world.case_b}").status_code == 200
    assert world.client.get(f"/api/v1/orders/{world.order_a}").status_code == 404
    world.client.cookies.clear()


def test_every_principal_is_who_the_matrix_thinks(world: ApiWorld) -> None:
    """Guards the matrix itself: each token belongs to the account it stands for."""
    kinds = {
        BUYER_A: "buyer",
        BUYER_B: "buyer",
        X_MAIN: "merchant",
        X_SUB_HANDLE: "merchant",
        X_SUB_PLAIN: "merchant",
        Y_MAIN: "merchant",
        AGENT: "agent",
        ADMIN: "admin",
        SERVICE: "service",
    }
    for principal, kind in kinds.items():
        me = world.ok(principal, "GET", "/api/v1/me")
        assert me["kind"] == kind and me["id"] == world.account_ids[principal], principal
    assert world.ok(X_MAIN, "GET", "/api/v1/me")["main"] is True
    assert world.ok(X_SUB_HANDLE, "GET", "/api/v1/me")["permissions"] == ["handle_aftersales"]
    assert world.ok(X_SUB_PLAIN, "GET", "/api/v1/me")["permissions"] == []
    assert world.call(ANONYMOUS, "GET", "/api/v1/me").status_code == 401


# --------------------------------------------------------------------------- escalation
ESCALATIONS: list[tuple[str, str, str, Any, int]] = [
    # principal, method, path, body, expected status
    (
        X_SUB_PLAIN,
        "PUT",
        "/api/v1/accounts/{self}/permissions",
        {"permissions": ["handle_aftersales"]},
        403,
    ),
    (
        X_SUB_HANDLE,
        "PUT",
        "/api/v1/accounts/{self}/permissions",
        {"permissions": ["file_appeals"]},
        403,
    ),
    (X_SUB_HANDLE, "POST", "/api/v1/accounts/{self}/disable", None, 403),
    (X_MAIN, "POST", "/api/v1/accounts/{self}/disable", None, 403),
    (X_MAIN, "PUT", "/api/v1/accounts/{self}/permissions", {"permissions": []}, 422),
    (
        X_MAIN,
        "POST",
        "/api/v1/accounts",
        {"kind": "admin", "login": "root2", "password": PASSWORD},
        403,
    ),
    (
        X_MAIN,
        "POST",
        "/api/v1/accounts",
        {
            "kind": "merchant",
            "login": "x-main-2",
            "password": PASSWORD,
            "shop": SHOP_X,
            "main": True,
        },
        403,
    ),
    (
        X_MAIN,
        "POST",
        "/api/v1/accounts",
        {"kind": "merchant", "login": "y-clerk", "password": PASSWORD, "shop": SHOP_Y},
        404,
    ),
    (
        X_SUB_HANDLE,
        "POST",
        "/api/v1/accounts",
        {
            "kind": "merchant",
            "login": "x-clerk-2",
            "password": PASSWORD,
            "shop": SHOP_X,
            "permissions": ["handle_aftersales"],
        },
        403,
    ),
    (
        SERVICE,
        "POST",
        "/api/v1/accounts",
        {"kind": "admin", "login": "root3", "password": PASSWORD},
        403,
    ),
    (
        SERVICE,
        "POST",
        "/api/v1/accounts",
        {"kind": "merchant", "login": "x-clerk-3", "password": PASSWORD, "shop": SHOP_X},
        404,
    ),
    (
        AGENT,
        "POST",
        "/api/v1/accounts",
        {"kind": "agent", "login": "agent-2", "password": PASSWORD},
        403,
    ),
    (
        BUYER_A,
        "POST",
        "/api/v1/accounts",
        {"kind": "buyer", "login": "a-2", "password": PASSWORD, "buyer_ref": REF_B},
        403,
    ),
    (Y_MAIN, "PATCH", f"/api/v1/shops/{SHOP_Y}", {"profile": "tiktok"}, 403),
]


def test_no_principal_can_raise_its_own_rights(world: ApiWorld) -> None:
    """Sub-accounts cannot grant themselves permissions; nobody but an admin creates
    admins, main accounts or accounts of another shop; a shop cannot pick its profile."""
    failures = []
    for principal, method, path, body, status in ESCALATIONS:
        resp = world.call(principal, method, path.format(self=world.account_ids[principal]), body)
        if resp.status_code != status:
            failures.append(f"{method} {path} as {principal}: expected {status}: {resp.text}")
    assert not failures, "\n".join(failures)
    assert world.ok(X_SUB_PLAIN, "GET", "/api/v1/me")["permissions"] == []


def test_revoked_permission_and_disabled_sub_account_take_effect_at_once(world: ApiWorld) -> None:
    case = world.case_a
    assert world.call(X_SUB_HANDLE, "GET", f"/api/v1/cases/{case}").status_code == 200
    sub = world.account_ids[X_SUB_HANDLE]
    world.ok(X_MAIN, "PUT", f"/api/v1/accounts/{sub}/permissions", {"permissions": []})
    resp = world.call(X_SUB_HANDLE, "GET", f"/api/v1/cases/{case}")
    assert resp.status_code == 403 and resp.json()["code"] == "auth.permission_missing"
    world.ok(X_MAIN, "POST", f"/api/v1/accounts/{sub}/disable")
    resp = world.call(X_SUB_HANDLE, "GET", "/api/v1/me")
    assert resp.status_code == 401 and resp.json()["code"] == "auth.token_invalid", resp.text


def test_idempotency_keys_are_per_account_and_never_replay_to_another(world: ApiWorld) -> None:
    """A key another principal used runs the request as the caller, with the caller's
    rights: no replay of someone else's stored answer."""
    case = world.case_in("awaiting_merchant")
    path = f"/api/v1/cases/{case}/approve-return"
    key = {"Idempotency-Key": f"approve-{case}"}
    first = world.call(X_MAIN, "POST", path, {}, headers=key)
    assert first.status_code == 200, first.text
    again = world.call(X_MAIN, "POST", path, {}, headers=key)
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.content == first.content
    # Those who see the case are told it moved on (409: no row for approve-return in
    # awaiting_return, checked before who acts); the others do not see it (404).
    for principal, status in ((Y_MAIN, 404), (BUYER_B, 404), (AGENT, 409), (BUYER_A, 409)):
        resp = world.call(principal, "POST", path, {}, headers=key)
        assert resp.status_code == status, (principal, resp.text)
        assert "Idempotent-Replayed" not in resp.headers, principal
    # Another account of the same shop: runs for itself (the case moved on: 409).
    resp = world.call(X_SUB_HANDLE, "POST", path, {}, headers=key)
    assert resp.status_code == 409 and "Idempotent-Replayed" not in resp.headers, resp.text


def test_held_message_is_seen_only_by_its_sender_and_the_platform(world: ApiWorld) -> None:
    case = world.case_in("awaiting_merchant")
    held = world.held_message_of_x_main(case)
    world.ok(BUYER_A, "POST", f"/api/v1/cases/{case}/messages", {"body": "Where is it?"})
    for principal, sees in (
        (X_MAIN, True),
        (AGENT, True),
        (ADMIN, True),
        (BUYER_A, False),
        (X_SUB_HANDLE, False),
    ):
        ids = {m["id"] for m in world.ok(principal, "GET", f"/api/v1/cases/{case}/messages")}
        assert (held in ids) is sees, principal
        assert len(ids) == (2 if sees else 1), principal
