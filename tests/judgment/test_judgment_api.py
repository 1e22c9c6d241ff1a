"""R10 over HTTP and the CLI: an agent reads a case's recommendation with its reasons in
the caller's language and assesses evidence (R9.3); the parties are refused. SQLite and
PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import pytest
from typer.testing import CliRunner

from aftersales import cli
from aftersales.cli import arbitration
from aftersales.domain.judgment import LIABILITY_LABELS
from aftersales.domain.policy import Liability
from aftersales.i18n import gettext
from tests.api.support import (
    ADMIN,
    AGENT,
    BUYER_A,
    BUYER_B,
    X_MAIN,
    ApiWorld,
)
from tests.evidence import files

CJK = re.compile(r"[\u4e00-\u9fff]")


def upload(world: ApiWorld, principal: str, case: str, kind: str = "photo") -> int:
    data, name, media = (
        (files.mp4(), "goods.mp4", "video/mp4")
        if "video" in kind
        else (files.png(), "p.png", "image/png")
    )
    resp = world.call(
        principal,
        "POST",
        f"/api/v1/cases/{case}/evidence",
        None,
        files={"file": (name, data, media)},
        data={"kind": kind},
    )
    assert resp.status_code == 201, resp.text
    return int(resp.json()["id"])


def recommendation(world: ApiWorld, case: str, lang: str = "en", query: str = "") -> Any:
    resp = world.call(
        AGENT,
        "GET",
        f"/api/v1/cases/{case}/recommendation{query}",
        headers={"Accept-Language": lang},
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def assess(world: ApiWorld, case: str, item: int, **body: Any) -> Any:
    payload = {"relevant": True, "credible": True, "supports": "buyer", "note": "Checked."}
    return world.call(
        AGENT,
        "POST",
        f"/api/v1/cases/{case}/evidence/{item}/assessments",
        {**payload, **body},
    )


def test_R10_5_an_agent_reads_the_recommendation_with_its_reasons_in_en_and_zh_CN(
    world: ApiWorld,
) -> None:
    case = world.open_case(reason="defect")
    photo = upload(world, BUYER_A, case)
    upload(world, BUYER_A, case, "video")
    en = recommendation(world, case)
    zh = recommendation(world, case, "zh-CN")
    assert en["case_number"] == case and en["decided_for"] == "buyer"
    assert en["basis"] == "buyer_evidence" and en["buyer_succeeds"] is True
    assert en["facts"]["issue"] == "serious_defect" and en["facts"]["in_window"] is True
    assert [e["id"] for e in en["evidence"]] == [f"E{photo}", f"E{photo + 1}"]
    assert en["decision"]["liability"] == zh["decision"]["liability"]
    liability = Liability(en["decision"]["liability"])
    for doc, lang in ((en, "en"), (zh, "zh_CN")):
        assert doc["decision"]["liability_label"] == gettext(LIABILITY_LABELS[liability], lang)
    for doc in (en, zh):
        for f in doc["factors"]:
            assert f["text"] and "{" not in f["text"], f
            assert (f["label"] is not None) is (f["kind"] == "rule"), f
    by_ref = {f["ref"]: f for f in en["factors"]}
    assert "buyer" in by_ref[f"E{photo}"]["text"]
    zh_text = {f["ref"]: f["text"] for f in zh["factors"]}[f"E{photo}"]
    assert CJK.search(zh_text) and "buyer" not in zh_text
    assert CJK.search(zh["basis_label"]) and not CJK.search(en["basis_label"])
    # the agent names another claim
    minor = recommendation(world, case, query="?issue=minor_defect")
    assert minor["facts"]["issue"] == "minor_defect"
    assert any(f["ref"] == "J-minor-defect" for f in minor["factors"])
    bad = world.call(AGENT, "GET", f"/api/v1/cases/{case}/recommendation?issue=bad_vibes")
    assert bad.status_code == 422


def test_R9_3_an_agent_assessment_sets_evidence_aside_and_replays_once(world: ApiWorld) -> None:
    case = world.open_case(reason="defect")
    photo = upload(world, BUYER_A, case)
    before = recommendation(world, case)
    path = f"/api/v1/cases/{case}/evidence/{photo}/assessments"
    body = {"relevant": True, "credible": False, "supports": "buyer", "note": "Forged EXIF."}
    key = {"Idempotency-Key": f"assess-{case}"}
    first = world.call(AGENT, "POST", path, body, headers=key)
    assert first.status_code == 201, first.text
    made = first.json()
    assert (made["evidence_id"], made["credible"], made["claim"]) == (photo, False, None)
    again = world.call(AGENT, "POST", path, body, headers=key)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == made

    after = recommendation(world, case, "zh-CN")
    (aside,) = after["ignored"]
    assert (aside["ref"], aside["kind"], aside["clause"]) == (f"E{photo}", "ignored", "R9.3")
    assert CJK.search(aside["text"])
    assert after["supports"]["buyer"] < before["supports"]["buyer"]
    timeline = world.ok(ADMIN, "GET", f"/api/v1/cases/{case}/timeline")
    assessed = [e for e in timeline if e["action"] == "evidence_assessed"]
    assert len(assessed) == 1 and assessed[0]["rule"] == "R9.3"


def test_R9_3_the_parties_are_refused_and_strangers_see_no_case(world: ApiWorld) -> None:
    case = world.open_case(reason="defect")
    photo = upload(world, BUYER_A, case)
    path = f"/api/v1/cases/{case}/evidence/{photo}/assessments"
    body = {"relevant": False, "credible": True, "supports": "merchant", "note": "Off topic."}
    for principal in (BUYER_A, X_MAIN):
        for method, url, payload in (
            ("POST", path, body),
            ("GET", f"/api/v1/cases/{case}/recommendation", None),
        ):
            resp = world.call(principal, method, url, payload)
            assert resp.status_code == 403, (principal, resp.text)
            assert resp.json()["code"] == "judgment.agents_only"
    hidden = world.call(BUYER_B, "POST", path, body)
    assert hidden.status_code == 404 and hidden.json()["code"] == "case.not_found"
    other = world.open_case(reason="defect")
    wrong = world.call(AGENT, "POST", f"/api/v1/cases/{other}/evidence/{photo}/assessments", body)
    assert wrong.status_code == 404 and wrong.json()["code"] == "evidence.not_found"
    blank = assess(world, case, photo, note="   ")
    assert blank.status_code == 422
    assert recommendation(world, case)["ignored"] == []


def test_R10_5_the_cli_prints_the_recommendation_and_its_factors(
    world: ApiWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = world.open_case(reason="defect")
    upload(world, BUYER_A, case)
    monkeypatch.setattr(arbitration, "settings_context", lambda: world.ctx)
    runner = CliRunner()
    en = runner.invoke(
        cli.app, ["judgment", "recommend", case, "--lang", "en"], env={"COLUMNS": "200"}
    )
    assert en.exit_code == 0, en.output
    assert case in en.output and "Factors" in en.output and "buyer_risk" in en.output
    zh = runner.invoke(
        cli.app,
        ["judgment", "recommend", case, "--lang", "zh_CN", "--issue", "minor_defect"],
        env={"COLUMNS": "200"},
    )
    assert zh.exit_code == 0, zh.output
    assert "minor_defect" in zh.output and gettext("Factors", "zh_CN") in zh.output
    assert CJK.search(zh.output)
    bad = runner.invoke(cli.app, ["judgment", "recommend", case, "--issue", "nope", "--lang", "en"])
    assert bad.exit_code == 1 and "nope" in bad.output
    missing = runner.invoke(cli.app, ["judgment", "recommend", "AS00000000000000", "--lang", "en"])
    assert missing.exit_code == 1 and "not found" in missing.output
