"""docs/architecture.md shows the state machine exactly as the transition table defines it."""

from __future__ import annotations

import re
from pathlib import Path

from aftersales.domain.diagram import mermaid, table_markdown

ARCH = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def _block(name: str) -> str:
    text = ARCH.read_text(encoding="utf-8")
    m = re.search(rf"<!-- BEGIN {name}[^\n]*-->\n(.*?)<!-- END {name} -->", text, re.S)
    assert m, f"docs/architecture.md lacks the {name} block"
    return m.group(1)


def test_R2_architecture_diagram_is_identical_to_the_transition_table() -> None:
    block = _block("state-diagram")
    assert block == f"```mermaid\n{mermaid()}```\n", "run `aftersales diagram` and paste it"


def test_R2_architecture_table_lists_every_transition_row() -> None:
    assert _block("transition-table") == table_markdown()


def test_R2_diagram_has_an_edge_for_every_row_target() -> None:
    from aftersales.domain.machine import TRANSITIONS

    text = mermaid()
    for row in TRANSITIONS:
        for target in row.targets:
            assert f"{row.state.value} --> {target.value} : {row.action.value}" in text
