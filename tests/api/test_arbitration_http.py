"""Platform intervention, rulings, execution and appeals (R9-R12) over HTTP, on SQLite and
PostgreSQL: the parties and the agents use the real app through its JSON API, with the
world's clock moved by hand past the profile's deadlines (``[intervention]``).

The deadline worker is the only step that does not go through HTTP: it is the background
job that fires ``execution_timeout`` once ``execution_hours`` have passed (R11.2)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import httpx

from aftersales.jobs.deadlines import DeadlineWorker
from tests.api.support import (
    ADMIN,
    AGENT,
    BUYER_A,
    SERVICE,
    X_MAIN,
    X_SUB_HANDLE,
    ApiWorld,
)
from tests.arbitration.support import case_entries
from tests.evidence import files

CJK = re.compile(r"[\u4e00-\u9fff]")
EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}
GHOST_INT = 2**31 - 2


def _upload(
    w: ApiWorld, principal: str, case: str, kind: str, name: str, data: bytes, ctype: str
) -> dict[str, Any]:
    resp = w.call(
        principal,
        "POST",
        f"/api/v1/cases/{case}/evidence",
        files={"file": (name, data, ctype)},
        data={"kind": kind, "description": f"{kind} of the leaking kettle"},
    )
    assert resp.status_code == 201, resp.text
    result: dict[str, Any] = resp.json()
    return result


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _past_evidence_deadline(w: ApiWorld, opened: dict[str, Any]) -> None:
    """R9.3: the clock at the round's evidence deadline, ``evidence_hours`` after opening
    (the agent rules from then on)."""
    due = _at(opened["opened_at"]) + timedelta(hours=w.intervention_rules().evidence_hours)
    assert _at(opened["evidence_due"]) == due
    assert w.clock.now <= due
    w.clock.now = due


def _run_worker(w: ApiWorld) -> None:
    result = DeadlineWorker(w.ctx, name="http-worker").run_until_idle()
    assert result.failed == 0, result


def _timeline(w: ApiWorld, case: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = w.ok(ADMIN, "GET", f"/api/v1/cases/{case}/timeline")
    return result


def _problem(resp: httpx.Response, status: int, code: str, rule: str | None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.headers
    body: dict[str, Any] = resp.json()
    assert (body["code"], body.get("rule")) == (code, rule), body
    return body


def _both_languages(
    w: ApiWorld,
    principal: str,
    method: str,
    path: str,
    body: Any,
    status: int,
    code: str,
    rule: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    en = _problem(w.call(principal, method, path, body, headers=EN), status, code, rule)
    zh = _problem(w.call(principal, method, path, body, headers=ZH), status, code, rule)
    assert not CJK.search(en["detail"]) and not CJK.search(en["title"]), en
    assert CJK.search(zh["detail"]) and CJK.search(zh["title"]), zh
    return en, zh


# --------------------------------------------------------------------------- the full path
def test_R9_R10_R11_rejected_request_escalated_ruled_for_the_buyer_and_refunded(
    world: ApiWorld,
) -> None:
    w = world
    case = w.quality_dispute()
    assert w.ok(BUYER_A, "GET", f"/api/v1/cases/{case}")["state"] == "rejected"

    # R9.1: the buyer asks the platform to step in; R9.3: the deadlines start now.
    rules = w.intervention_rules()
    opened = w.escalate(case)
    assert opened["case_state"] == "in_intervention" and opened["status"] == "open"
    assert (opened["round"], opened["opened_by"], opened["urgent"]) == (1, "buyer", False)
    assert opened["merchant_responded_in_time"] is None
    opened_at = _at(opened["opened_at"])
    assert opened_at == w.clock.now
    assert _at(opened["merchant_response_due"]) == opened_at + timedelta(
        hours=rules.merchant_response_hours
    )
    assert _at(opened["ruling_due"]) == _at(opened["evidence_due"]) + timedelta(
        hours=rules.ruling_hours
    )
    assert [t["party"] for t in opened["templates"]] == ["buyer"]  # each side sees its own
    slots = [s["kinds"] for s in opened["templates"][0]["slots"]]
    assert ["photo"] in slots and any("unboxing_video" in s for s in slots)
    assert opened["rulings"] == [] and opened["appeals"] == []
    # Both parties are told: the escalate entry carries the deadlines.
    entry = _timeline(w, case)[-1]
    assert (entry["action"], entry["rule"], entry["to_state"]) == (
        "escalate",
        "R9.1",
        "in_intervention",
    )
    assert entry["changes"]["intervention"]["after"]["evidence_due"]
    merchant_view = w.ok(X_SUB_HANDLE, "GET", f"/api/v1/cases/{case}/intervention")
    assert merchant_view["id"] == opened["id"]
    assert all(t["party"] == "merchant" for t in merchant_view["templates"])
    platform_view = w.ok(AGENT, "GET", f"/api/v1/cases/{case}/intervention")
    assert platform_view["merchant_response_due"] == opened["merchant_response_due"]

    # R9.3: the merchant responds in time, once.
    w.clock.advance(hours=rules.merchant_response_hours - 1)
    responded = w.ok(
        X_MAIN,
        "POST",
        f"/api/v1/cases/{case}/intervention/response",
        {"response": "Our QC found no leak.", "expected_version": opened["version"]},
    )
    assert responded["merchant_response"] == "Our QC found no leak."
    assert responded["merchant_responded_in_time"] is True
    again = w.call(
        X_MAIN, "POST", f"/api/v1/cases/{case}/intervention/response", {"response": "Again."}
    )
    _problem(again, 409, "intervention.already_responded", "R9.3")

    # R9.3: the buyer's evidence, as multipart uploads; the first submission is marked.
    photo = _upload(w, BUYER_A, case, "photo", "leak.png", files.png(), "image/png")
    video = _upload(w, BUYER_A, case, "unboxing_video", "unboxing.mp4", files.mp4(), "video/mp4")
    assert (photo["first_submission"], video["first_submission"]) == (True, False)
    listed = w.ok(AGENT, "GET", f"/api/v1/cases/{case}/evidence")
    buyers = {e["id"] for e in listed if e["party"] == "buyer"}
    assert buyers == {photo["id"], video["id"]}
    assert {e["kind"] for e in listed if e["party"] == "merchant"} == {"qc_record"}  # R5.5

    # The agent's queue shows the round, unassigned, due by the ruling deadline.
    queue = w.ok(AGENT, "GET", "/api/v1/queue?kind=intervention&unassigned=true")["items"]
    item = next(i for i in queue if i["case_number"] == case)
    assert (item["kind"], item["id"], item["shop"]) == ("intervention", opened["id"], "SHOPX")
    assert item["due_at"] == opened["ruling_due"] and item["assigned_agent"] is None
    assert item["evidence_due"] == opened["evidence_due"] and item["overdue"] is False
    # The agent takes it; it leaves the unassigned list and shows as theirs.
    me = f"account:{w.account_ids[AGENT]}"
    taken = w.ok(AGENT, "POST", f"/api/v1/queue/intervention/{opened['id']}/assignment", {})
    assert (taken["assigned_agent"], taken["case_number"]) == (me, case)
    mine = w.ok(AGENT, "GET", "/api/v1/queue?mine=true")["items"]
    assert [(i["kind"], i["id"]) for i in mine] == [("intervention", opened["id"])]
    unassigned = w.ok(AGENT, "GET", "/api/v1/queue?unassigned=true")["items"]
    assert opened["id"] not in {i["id"] for i in unassigned if i["kind"] == "intervention"}
    assert w.ok(AGENT, "GET", f"/api/v1/cases/{case}/intervention")["assigned_agent"] == me

    # R10.4: after the evidence deadline the agent accepts the recommendation.
    _past_evidence_deadline(w, opened)
    recommended = w.ok(AGENT, "GET", f"/api/v1/cases/{case}/recommendation")["decision"]
    ruled = w.ok(
        AGENT,
        "POST",
        f"/api/v1/cases/{case}/ruling",
        {"reasons": "The unboxing video shows the leak.", "accept": True},
    )
    assert ruled["case_state"] == "awaiting_execution" and ruled["status"] == "ruled"
    ruling = ruled["rulings"][0]
    assert (ruling["liability"], ruling["remedy"]) == (
        recommended["liability"],
        recommended["remedy"],
    )
    assert (ruling["liability"], ruling["remedy"]) == ("merchant", "full_refund")
    assert ruling["agent"] == me and ruling["overridden"] is False
    assert ruling["recommendation"]["decision"]["remedy"] == "full_refund"
    assert ruling["execution_due"] is not None and ruling["merchant_appeal_due"] is not None
    # The parties read the ruling and its reasons, not who ruled nor the engine's workings.
    for party in (BUYER_A, X_MAIN):
        seen = w.ok(party, "GET", f"/api/v1/cases/{case}/intervention")["rulings"][0]
        assert seen["reasons"] == "The unboxing video shows the leak."
        assert seen["agent"] == "" and seen["recommendation"] is None
    # The round left the queue.
    queue = w.ok(AGENT, "GET", "/api/v1/queue")["items"]
    assert case not in {i["case_number"] for i in queue}

    # R11.1: the merchant executes the ruling: the case is refunded.
    state = w.ok(X_MAIN, "GET", f"/api/v1/cases/{case}")
    assert state["deadline"]["kind"] == "ruling_execution"
    assert "refund" in state["actions"]
    refunded = w.act(X_MAIN, case, "refund")
    assert refunded["state"] == "refunded" and refunded["agreed"]["amount"] == 10_000
    last = _timeline(w, case)[-1]
    assert (last["action"], last["rule"], last["actor_kind"]) == ("refund", "R11.1", "merchant")
    assert [e.kind for e in case_entries(w.ctx, case)] == ["refund"]


def test_R11_2_a_ruling_not_executed_in_time_is_paid_first_and_an_upheld_appeal_refunds_it(
    world: ApiWorld,
) -> None:
    w = world
    case = w.quality_dispute()
    opened = w.escalate(case)
    _past_evidence_deadline(w, opened)  # the merchant stayed silent (R9.3)
    ruled = w.ok(AGENT, "POST", f"/api/v1/cases/{case}/ruling", {"reasons": "Silent shop."})
    assert ruled["case_state"] == "awaiting_execution"
    hours = w.intervention_rules().execution_hours

    w.clock.advance(hours=hours, seconds=-1)
    _run_worker(w)  # (the world's other cases time out meanwhile)
    assert w.ok(BUYER_A, "GET", f"/api/v1/cases/{case}")["state"] == "awaiting_execution"
    w.clock.advance(seconds=1)
    _run_worker(w)

    paid = w.ok(BUYER_A, "GET", f"/api/v1/cases/{case}")
    assert paid["state"] == "refunded" and paid["agreed"]["amount"] == 10_000
    last = _timeline(w, case)[-1]
    assert (last["action"], last["rule"], last["actor_kind"]) == (
        "execution_timeout",
        "R11.2",
        "system",
    )
    assert [e.kind for e in case_entries(w.ctx, case)] == ["pay_first", "pay_first_deduction"]
    # Too late for the merchant to refund itself.
    late = w.call(X_MAIN, "POST", f"/api/v1/cases/{case}/refund", {})
    assert late.status_code == 409, late.text

    # R12.1: the merchant appeals; the agent who ruled may not decide it, another may.
    appeal = w.ok(
        X_MAIN,
        "POST",
        f"/api/v1/cases/{case}/appeals",
        {"grounds": "misjudgment", "statement": "We never got the intervention notice."},
    )
    assert (appeal["party"], appeal["status"], appeal["channel"]) == (
        "merchant",
        "pending",
        "appeal",
    )
    queued = w.ok(ADMIN, "GET", "/api/v1/queue?kind=appeal")["items"]
    assert [(i["id"], i["case_number"]) for i in queued] == [(appeal["id"], case)]
    decision = {"decision": "uphold", "note": "The notice bounced."}
    same = w.call(AGENT, "POST", f"/api/v1/appeals/{appeal['id']}/decision", decision)
    _problem(same, 403, "appeal.same_agent", "R12")
    upheld = w.ok(ADMIN, "POST", f"/api/v1/appeals/{appeal['id']}/decision", decision)
    assert upheld["status"] == "upheld" and upheld["refunded_entry"] is not None
    assert [e.kind for e in case_entries(w.ctx, case)] == [
        "pay_first",
        "pay_first_deduction",
        "appeal_refund",
    ]
    again = w.call(ADMIN, "POST", f"/api/v1/appeals/{appeal['id']}/decision", decision)
    _problem(again, 409, "appeal.already_decided", "R12.1")
    assert w.ok(ADMIN, "GET", "/api/v1/queue?kind=appeal")["items"] == []


# --------------------------------------------------------------------------- the caller's language
def test_R9_2_refusal_is_in_the_callers_language_and_names_the_rule(world: ApiWorld) -> None:
    w = world
    case = w.quality_dispute()
    order = w.ok(ADMIN, "GET", f"/api/v1/cases/{case}")["order_number"]
    flag = w.call(
        AGENT,
        "POST",
        "/api/v1/dispute-flags",
        {"kind": "off_platform", "note": "Paid by bank transfer.", "order_number": order},
    )
    assert flag.status_code == 201 and flag.json()["id"] >= 1, flag.text
    path = f"/api/v1/cases/{case}/intervention"
    en, zh = _both_languages(
        w,
        BUYER_A,
        "POST",
        path,
        {"statement": "Decide."},
        409,
        "intervention.off_platform",
        "R9.2",
    )
    assert en["detail"] == "The order was not placed on the platform."
    assert zh["detail"] != en["detail"]
    assert w.ok(ADMIN, "GET", f"/api/v1/cases/{case}")["state"] == "rejected"
    _problem(w.call(BUYER_A, "GET", path), 404, "intervention.not_found", None)


def test_R10_5_override_without_a_reason_is_refused_in_the_callers_language(
    world: ApiWorld,
) -> None:
    w = world
    case = w.quality_dispute()
    opened = w.escalate(case)
    path = f"/api/v1/cases/{case}/ruling"
    # R9.3: not before the evidence deadline.
    _both_languages(
        w, AGENT, "POST", path, {"reasons": "Early."}, 409, "ruling.evidence_open", "R9.3"
    )
    _past_evidence_deadline(w, opened)
    override = {"reasons": "The shop is right.", "accept": False, "remedy": "reject"}
    _both_languages(
        w, AGENT, "POST", path, override, 422, "judgment.override_reason_required", "R10.5"
    )
    blank = {**override, "override_reason": "   "}
    _problem(w.call(AGENT, "POST", path, blank), 422, "judgment.override_reason_required", "R10.5")
    assert w.ok(ADMIN, "GET", f"/api/v1/cases/{case}")["state"] == "in_intervention"
    # With a written reason the override is recorded.
    done = w.ok(
        AGENT,
        "POST",
        path,
        {
            **override,
            "liability": "buyer",
            "override_reason": "The video shows a different kettle.",
        },
    )
    assert done["case_state"] == "closed"  # douyin buyers do not appeal (R12.2)
    ruling = done["rulings"][0]
    assert ruling["overridden"] is True and ruling["remedy"] == "reject"
    assert ruling["override_reason"] == "The video shows a different kettle."


# --------------------------------------------------------------------------- idempotency
def test_an_idempotent_ruling_retry_replays_the_same_body(world: ApiWorld) -> None:
    w = world
    case = w.quality_dispute()
    opened = w.escalate(case)
    _past_evidence_deadline(w, opened)
    path = f"/api/v1/cases/{case}/ruling"
    body = {"reasons": "Silent shop."}
    key = {"Idempotency-Key": f"rule-{case}"}
    first = w.call(AGENT, "POST", path, body, headers=key)
    assert first.status_code == 200, first.text
    assert "Idempotent-Replayed" not in first.headers
    w.clock.advance(minutes=5)
    again = w.call(AGENT, "POST", path, body, headers=key)
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.content == first.content
    assert len(w.ok(ADMIN, "GET", f"/api/v1/cases/{case}/intervention")["rulings"]) == 1
    # The key with another body is refused; without the key the round is already ruled.
    other = w.call(AGENT, "POST", path, {"reasons": "Other."}, headers=key)
    assert other.status_code == 422, other.text
    fresh = w.call(ADMIN, "POST", path, body)
    _problem(fresh, 409, "ruling.already_made", "R10.4")


# --------------------------------------------------------------------------- never a 500
def _bad_requests(w: ApiWorld) -> list[tuple[str, str, str, Any, int]]:
    """(principal, method, path, body, expected status): refusals of every kind."""
    in_iv = w.quality_dispute()
    w.escalate(in_iv)
    plain = w.case_in("awaiting_merchant")
    return [
        (BUYER_A, "POST", f"/api/v1/cases/{plain}/intervention", {"statement": "x"}, 409),
        (BUYER_A, "POST", f"/api/v1/cases/{in_iv}/intervention", {"statement": "x"}, 409),
        (BUYER_A, "POST", f"/api/v1/cases/{in_iv}/intervention", {"statement": "  "}, 422),
        (BUYER_A, "POST", f"/api/v1/cases/{in_iv}/intervention", {"statement": "x" * 5000}, 422),
        (BUYER_A, "POST", f"/api/v1/cases/{in_iv}/intervention", {"statement": 1}, 422),
        (BUYER_A, "POST", f"/api/v1/cases/{in_iv}/intervention", {"x": 1}, 422),
        (BUYER_A, "POST", f"/api/v1/cases/{in_iv}/intervention", [], 422),
        (X_MAIN, "POST", f"/api/v1/cases/{plain}/intervention/response", {"response": "x"}, 409),
        (
            X_MAIN,
            "POST",
            f"/api/v1/cases/{in_iv}/intervention/response",
            {"response": "x", "expected_version": 99},
            409,
        ),
        (BUYER_A, "GET", f"/api/v1/cases/{plain}/intervention", None, 404),
        (AGENT, "POST", f"/api/v1/cases/{plain}/intervention/urgent", {}, 409),
        (AGENT, "POST", f"/api/v1/cases/{in_iv}/intervention/urgent", {"x": 1}, 422),
        (
            BUYER_A,
            "POST",
            f"/api/v1/cases/{plain}/intervention/withdrawal",
            {"settlement": "x"},
            409,
        ),
        (AGENT, "POST", f"/api/v1/cases/{plain}/ruling", {"reasons": "x"}, 409),
        (AGENT, "POST", f"/api/v1/cases/{in_iv}/ruling", {"reasons": "x", "amount": 0}, 422),
        (AGENT, "POST", f"/api/v1/cases/{in_iv}/ruling", {"reasons": "x", "remedy": "nope"}, 422),
        (AGENT, "POST", f"/api/v1/cases/{in_iv}/ruling", {"reasons": "x", "amount": 10**14}, 422),
        (X_MAIN, "POST", f"/api/v1/cases/{in_iv}/appeals", {"grounds": "misjudgment"}, 404),
        (X_MAIN, "POST", f"/api/v1/cases/{plain}/appeals", {"grounds": "whim"}, 422),
        (
            X_MAIN,
            "POST",
            f"/api/v1/cases/{in_iv}/appeals",
            {"grounds": "new_evidence", "evidence": [GHOST_INT]},
            404,
        ),
        (
            AGENT,
            "POST",
            f"/api/v1/appeals/{GHOST_INT}/decision",
            {"decision": "uphold", "note": "x"},
            404,
        ),
        (AGENT, "POST", "/api/v1/appeals/0/decision", {"decision": "uphold", "note": "x"}, 422),
        (AGENT, "POST", "/api/v1/appeals/1/decision", {"decision": "maybe", "note": "x"}, 422),
        (AGENT, "POST", "/api/v1/dispute-flags", {"kind": "off_platform", "note": "x"}, 422),
        (
            AGENT,
            "POST",
            "/api/v1/dispute-flags",
            {"kind": "off_platform", "note": "x", "order_number": "NOSUCH"},
            404,
        ),
        (
            AGENT,
            "POST",
            "/api/v1/dispute-flags",
            {"kind": "legal_proceedings", "note": "x", "order_number": "NOSUCH"},
            422,
        ),
        (
            AGENT,
            "POST",
            "/api/v1/dispute-flags",
            {"kind": "off_platform", "note": "x", "case_number": "AS20261120999999"},
            404,
        ),
        (AGENT, "GET", "/api/v1/queue?kind=nope", None, 422),
        (AGENT, "GET", "/api/v1/queue?limit=0", None, 422),
        (AGENT, "POST", f"/api/v1/queue/intervention/{GHOST_INT}/assignment", {}, 404),
        (AGENT, "POST", f"/api/v1/queue/appeal/{GHOST_INT}/assignment", {}, 404),
        (AGENT, "POST", "/api/v1/queue/nope/1/assignment", {}, 422),
        (
            AGENT,
            "POST",
            "/api/v1/queue/intervention/1/assignment",
            {"agent_account_id": 1},
            422,
        ),
        (SERVICE, "GET", "/api/v1/queue", None, 403),
    ]


def test_refusals_are_problems_never_a_500(world: ApiWorld) -> None:
    failures = []
    for principal, method, path, body, status in _bad_requests(world):
        resp = world.call(principal, method, path, body)
        ok = resp.status_code == status and resp.headers["content-type"].startswith(
            "application/problem+json"
        )
        if not ok:
            failures.append(
                f"{method} {path} {body!r} as {principal}: {resp.status_code} {resp.text}"
            )
    assert not failures, "\n".join(failures)
