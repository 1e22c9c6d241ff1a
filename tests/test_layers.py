"""Only the store knows SQL: the services and the jobs may hold a SQLAlchemy ``Connection``
to pass it on and catch ``IntegrityError`` (a unique key the store's statement hit), and
take nothing else from SQLAlchemy. import-linter (``make lint``) sees SQLAlchemy as one
package, so the names taken from it are checked here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "aftersales"
ALLOWED = {"Connection", "IntegrityError"}


def _modules() -> list[Path]:
    return sorted(
        p
        for folder in ("services", "jobs")
        for p in (PACKAGE / folder).rglob("*.py")
        if "__pycache__" not in p.parts
    )


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_services_and_jobs_take_no_sql_from_sqlalchemy(path: Path) -> None:
    taken: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            taken += [a.name for a in node.names if a.name.split(".")[0] == "sqlalchemy"]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            taken += [f"{node.module}.{a.name}" for a in node.names if a.name not in ALLOWED]
    assert not taken, f"{path.name} builds SQL with {taken}: move it into the store"


def test_the_source_names_rules_not_issue_numbers() -> None:
    """A comment says which rule it implements (R-ids), not which ticket asked for it: an
    issue number means nothing to a reader of the code."""
    import re

    pattern = re.compile(r"\bissue\s+#?\d+", re.I)
    found = [
        f"{p.relative_to(PACKAGE)}:{n}"
        for p in sorted(PACKAGE.rglob("*"))
        if p.suffix in (".py", ".toml", ".html", ".md") and "__pycache__" not in p.parts
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line) and "uvicorn issue" not in line.lower()
    ]
    assert not found, found
