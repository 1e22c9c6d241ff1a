"""Issue 11 §13: the project carries its own rules reference. `domain/rules.py` registers
every rule and clause (id, title, the profile fields it reads); `docs/rules.md` is rendered
from it and from the citations in code and tests, and stays so."""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from aftersales.domain.policy import Profile
from aftersales.domain.rules import BY_ID, PROFILE_METADATA, RULES
from aftersales.rules_doc import DOC, cite, ids_in_name, ids_in_text, render_markdown

ROOT = Path(__file__).resolve().parents[1]
RULEBOOK = ROOT.parent / "shared" / "RULEBOOK.md"  # where CI and the main checkout have it
# Ids written in tests as data, not as citations: a tampered timeline entry's rule.
NOT_CITATIONS = {"R0"}


def test_hardening_docs_rules_md_is_what_the_registry_and_the_citations_render() -> None:
    assert (ROOT / DOC).read_text(encoding="utf-8") == render_markdown(), (
        "docs/rules.md is stale: run `.venv/bin/aftersales rules --markdown > docs/rules.md`"
    )


def test_hardening_every_rule_id_cited_in_code_tests_and_docs_is_registered() -> None:
    cited = cite().ids()
    for path in (ROOT / "tests").rglob("*.py"):
        cited |= set(ids_in_text(path.read_text(encoding="utf-8"))) - NOT_CITATIONS
    for path in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        if path.name != "rules.md":
            cited |= set(ids_in_text(path.read_text(encoding="utf-8")))
    assert cited - set(BY_ID) == set()
    assert len(cited) > 60  # the scan sees the citations


def test_hardening_rule_ids_are_read_from_text_and_test_names() -> None:
    assert list(ids_in_text('rule="R5.2" (R9–R12; R16.1/R10.3) # R7, not AR5.2 or R5.2.1')) == [
        "R5.2",
        "R9",
        "R12",
        "R16.1",
        "R10.3",
        "R7",
    ]
    assert list(ids_in_name("test_R5_2_refund_within_48_hours")) == ["R5.2"]
    assert list(ids_in_name("test_R5_demo_and_R10_3_signals")) == ["R5", "R10.3"]
    assert list(ids_in_name("test_hardening_R15_2")) == ["R15.2"]
    assert list(ids_in_name("test_TR5_2")) == []


def test_hardening_registry_has_each_rule_once_and_each_clause_under_its_rule() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    assert [i for i in ids if "." not in i] == [f"R{n}" for n in range(1, 17)]
    for r in RULES:
        assert re.fullmatch(r"R\d+(\.\d+)?", r.id) and r.title.strip()
        assert r.parent in BY_ID


@pytest.mark.skipif(not RULEBOOK.exists(), reason="the rulebook is not beside the checkout")
def test_hardening_registry_has_every_clause_of_the_rulebook() -> None:
    text = RULEBOOK.read_text(encoding="utf-8")
    expected = []
    for number, body in re.findall(r"^## R(\d+) [^\n]*\n(.*?)(?=^## |\Z)", text, re.M | re.S):
        expected.append(f"R{number}")
        expected += [f"R{number}.{k}" for k in re.findall(r"^(\d+)\. ", body, re.M)]
    assert [r.id for r in RULES] == expected


def _fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every field of the profile by its dotted path, down into nested tables."""
    out = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        out.append(path)
        annotation = info.annotation
        if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out += _fields(annotation, f"{path}.")
    return out


def test_hardening_rules_read_real_profile_fields_and_every_field_belongs_to_a_rule() -> None:
    fields = _fields(Profile)
    read = {f for r in RULES for f in r.reads}
    assert read - set(fields) == set(), "a rule names a field the profile does not have"
    tables = {f for f in fields if any(g.startswith(f"{f}.") for g in fields)}
    leaves = [f for f in fields if f not in tables and f not in PROFILE_METADATA]
    unread = [f for f in leaves if not any(f == r or f.startswith(f"{r}.") for r in read)]
    assert unread == [], "profile fields no rule reads: add them to domain/rules.py"
