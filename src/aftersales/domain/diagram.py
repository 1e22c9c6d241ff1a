"""Render the transition table as a Mermaid state diagram (kept in docs/architecture.md;
a test fails when the two differ)."""

from __future__ import annotations

from collections import defaultdict

from aftersales.domain.case_types import CaseType, State
from aftersales.domain.machine import TRANSITIONS

_ABBR = {
    CaseType.REFUND_UNSHIPPED: "RU",
    CaseType.REFUND_ONLY: "RO",
    CaseType.RETURN_REFUND: "RR",
    CaseType.EXCHANGE: "EX",
    CaseType.RESHIP: "RS",
}


def _types(types: frozenset[CaseType]) -> str:
    if types == frozenset(CaseType):
        return ""
    return " [" + ",".join(_ABBR[t] for t in CaseType if t in types) + "]"


def mermaid() -> str:
    """One edge per (from, to, action); the types that take it are listed when not all."""
    edges: dict[tuple[State, State, str], set[CaseType]] = defaultdict(set)
    order: list[tuple[State, State, str]] = []
    for row in TRANSITIONS:
        for target in row.targets:
            key = (row.state, target, row.action.value)
            if key not in edges:
                order.append(key)
            edges[key] |= row.types
    lines = ["stateDiagram-v2", f"    [*] --> {State.AWAITING_MERCHANT.value} : open"]
    for src, dst, action in order:
        label = f"{action}{_types(frozenset(edges[(src, dst, action)]))}"
        lines.append(f"    {src.value} --> {dst.value} : {label}")
    for state in (State.REFUNDED, State.COMPLETED, State.CLOSED):
        lines.append(f"    {state.value} --> [*]")
    return "\n".join(lines) + "\n"


def table_markdown() -> str:
    """The transition table as Markdown: every row with its actor, rule and named guards."""
    out = [
        "| from | action | types | to | actor | rule | guards |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in TRANSITIONS:
        types = _types(row.types).strip(" []") or "all"
        guards = ", ".join(f"`{g.__name__}`" for g in row.guards) or "-"
        targets = " / ".join(t.value for t in row.targets)
        out.append(
            f"| {row.state.value} | `{row.action.value}` | {types} | {targets} | "
            f"{row.actor.value} | {row.rule} | {guards} |"
        )
    return "\n".join(out) + "\n"
