"""docs/risk.md states the shipped R15.2 numbers: its table is checked against douyin."""

from __future__ import annotations

import re
from pathlib import Path

from aftersales.profiles import load_profiles

DOC = Path(__file__).resolve().parents[2] / "docs" / "risk.md"


def test_R15_2_docs_table_states_the_shipped_numbers() -> None:
    risk = load_profiles()["douyin"].risk
    assert risk is not None
    shipped = {
        f"risk.{k}": str(v.value if hasattr(v, "value") else v)
        for k, v in risk.model_dump().items()
        if k != "weights"
    }
    shipped |= {f"risk.weights.{k}": str(v) for k, v in risk.weights.items()}
    documented = dict(re.findall(r"^\| `(risk\.[a-z_.]+)` \| ([^|]+?) \|", DOC.read_text(), re.M))
    assert documented == shipped
