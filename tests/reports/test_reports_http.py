"""R15 reports over HTTP: a shop files, an agent reviews once (409 after), problem+json."""

from __future__ import annotations

from tests.api.support import (
    AGENT,
    REF_A,
    SHOP_X,
    SHOP_Y,
    X_MAIN,
    Y_MAIN,
    ApiWorld,
)


def test_R15_1_force_majeure_is_filed_by_the_shop_and_reviewed_once_by_an_agent(
    world: ApiWorld,
) -> None:
    body = {
        "shop": SHOP_X,
        "kind": "typhoon",
        "regions": ["CN-GD", "cn-gd", "广州"],
        "starts_on": "2026-11-19",
        "ends_on": "2026-11-21",
        "description": "Typhoon; ports closed.",
    }
    filed = world.ok(X_MAIN, "POST", "/api/v1/reports/force-majeure", body)
    assert (filed["status"], filed["regions"]) == ("pending", ["CN-GD", "广州"])
    assert world.ok(Y_MAIN, "GET", "/api/v1/reports/force-majeure")["items"] == []
    path = f"/api/v1/reports/force-majeure/{filed['id']}/review"
    done = world.ok(AGENT, "POST", path, {"decision": "approve", "note": "Confirmed."})
    assert (done["status"], done["review_note"]) == ("approved", "Confirmed.")
    again = world.call(AGENT, "POST", path, {"decision": "reject"})
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    assert again.json()["code"] == "report.already_reviewed"


def test_R15_2_buyer_report_rejected_by_the_agent_changes_nothing(world: ApiWorld) -> None:
    case_before = world.ok(AGENT, "GET", f"/api/v1/cases/{world.case_a}")
    filed = world.ok(
        X_MAIN, "POST", "/api/v1/reports/buyers", {"shop": SHOP_X, "buyer": REF_A, "reason": "x"}
    )
    done = world.ok(
        AGENT, "POST", f"/api/v1/reports/buyers/{filed['id']}/review", {"decision": "reject"}
    )
    assert (done["status"], done["rejected_cases"]) == ("rejected", [])
    assert world.ok(AGENT, "GET", f"/api/v1/cases/{world.case_a}") == case_before
    stranger = world.call(
        Y_MAIN, "POST", "/api/v1/reports/buyers", {"shop": SHOP_Y, "buyer": REF_A, "reason": "x"}
    )
    assert stranger.status_code == 404
