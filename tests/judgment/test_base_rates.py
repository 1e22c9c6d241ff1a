"""R10.2: on a realistic mix of disputes the engine reproduces the base rates of buyer
success: merchant clearly at fault >= 90 %, shared or unclear about 50 %, buyer at fault
< 10 %. Deterministic: fixed seeds, pure Python."""

from __future__ import annotations

import dataclasses

import pytest

from aftersales.domain.judgment import DisputeFacts, EvidenceFact, Signals
from aftersales.domain.judgment_mix import (
    DEFAULT_N,
    DEFAULT_SEEDS,
    SCENARIOS,
    Family,
    measure,
    table,
)
from aftersales.domain.policy import Judgment


@pytest.mark.parametrize("seed", DEFAULT_SEEDS)
def test_R10_2_base_rates_of_buyer_success_per_family(policy: Judgment, seed: int) -> None:
    m = measure(policy, DEFAULT_N, seed)
    assert DEFAULT_N >= 3000 and sum(r.disputes for r in m.families.values()) == DEFAULT_N
    merchant, shared, buyer = (m.families[f].rate for f in Family)
    assert merchant >= 0.90, table(m)
    assert 0.40 <= shared <= 0.60, table(m)
    assert buyer < 0.10, table(m)
    # every scenario of the seeds was drawn
    assert {name for names in SCENARIOS.values() for name, _ in names} == set(m.scenarios)


def test_R10_2_the_engine_judges_facts_not_the_family_label() -> None:
    for cls in (DisputeFacts, EvidenceFact, Signals):
        names = {f.name for f in dataclasses.fields(cls)}
        assert not names & {"family", "scenario", "fault"}, cls
