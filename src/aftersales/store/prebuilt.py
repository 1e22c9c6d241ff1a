"""Statements built once, at import, with their values bound per call: on a case's move
building a statement costs more than sending it, so the move's statements are built here
once and executed with a dict of values."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BindParameter, Table, bindparam


def bound(table: Table, *names: str) -> dict[str, BindParameter[Any]]:
    """``{column: bindparam(column)}`` for an INSERT or UPDATE built once, each typed as its
    column (so a value is processed exactly as ``.values(column=value)`` would process it)."""
    return {name: bindparam(name, type_=table.c[name].type) for name in names}
