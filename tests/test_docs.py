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


def test_readme_configuration_table_lists_every_setting_with_its_default() -> None:
    """Every `AFTERSALES_*` setting is in the README's table, with the default the code has
    (a row may name two settings, `A` / `B`, with defaults `a` / `b`)."""
    from aftersales.settings import Settings

    readme = (ARCH.parents[1] / "README.md").read_text(encoding="utf-8")
    rows = {}
    for line in readme.splitlines():
        if line.startswith("| `AFTERSALES_"):
            names = re.findall(r"`(AFTERSALES_[A-Z_]+)`", line.split("|")[1])
            defaults = [c.strip().strip("`") for c in line.split("|")[2].split(" / ")]
            rows.update(zip(names, defaults, strict=True))
    expected = {
        f"AFTERSALES_{name.upper()}": _shown(f.default) for name, f in Settings.model_fields.items()
    }
    assert {k: rows.get(k) for k in expected} == expected


def _shown(default: object) -> str:
    if default is None:
        return "–"
    return str(default).lower() if isinstance(default, bool) else str(default)


def test_hardening_readme_first_screen_has_the_two_commands_and_how_to_get_english() -> None:
    readme = (ARCH.parents[1] / "README.md").read_text(encoding="utf-8")
    first_screen = "\n".join(readme.splitlines()[:12])
    commands = re.search(r"```sh\n(.*?)```", readme, re.S)
    assert commands and readme.index("```sh") < 20
    assert [line.split()[:2] for line in commands.group(1).splitlines()] == [
        ["make", "run"],
        ["make", "test"],
    ]
    for way in ("AFTERSALES_LOCALE=en", "--lang en", "Accept-Language: en"):
        assert way in first_screen, way


def test_hardening_readme_and_docs_link_nothing_outside_the_repository() -> None:
    root = ARCH.parents[1]
    for path in [root / "README.md", *(root / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#]+)", path.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+://", target):
                continue
            resolved = (path.parent / target).resolve()
            assert resolved.is_relative_to(root) and resolved.exists(), (path.name, target)


def test_architecture_feature_map_names_every_module_and_only_real_files() -> None:
    """The feature map in docs/architecture.md is true: each path it names exists (under
    the package or the tests), and each module of the package is in some row, itself or
    through its folder."""
    root = ARCH.parents[1]
    package = root / "src" / "aftersales"
    named = set(re.findall(r"`([\w/.]+(?:\.py|/))`", _block("feature-map")))
    missing = [n for n in named if not (root / n).exists() and not (package / n).exists()]
    assert not missing, f"the feature map names files that do not exist: {sorted(missing)}"
    folders = {n for n in named if n.endswith("/")}
    unmapped = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).as_posix()
        if path.name in ("__init__.py", "__main__.py") or rel.startswith("store/migrations/"):
            continue
        if rel in named or any(rel.startswith(f) for f in folders):
            continue
        unmapped.append(rel)
    assert not unmapped, f"modules missing from the feature map: {unmapped}"
