"""Counting database round trips: statements and transactions seen by an engine.

``count_roundtrips(engine)`` listens to SQLAlchemy's ``before_cursor_execute`` (every
statement sent, a SQLite ``BEGIN`` included) and ``begin`` (every transaction begun) for
the duration of a ``with`` block. Commits and rollbacks are not statements (the driver's
own calls), but each begun transaction ends in one of them, so transactions are counted
at their start.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event


@dataclass
class RoundTrips:
    statements: list[str] = field(default_factory=list)
    transactions: int = 0

    @property
    def count(self) -> int:
        return len(self.statements)

    def report(self) -> str:
        lines = [f"{self.count} statements in {self.transactions} transaction(s):"]
        lines += [
            f"  {i + 1:2d}. {' '.join(s.split())[:160]}" for i, s in enumerate(self.statements)
        ]
        return "\n".join(lines)


@contextmanager
def count_roundtrips(engine: Engine) -> Iterator[RoundTrips]:
    seen = RoundTrips()

    def on_statement(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.statements.append(statement)

    def on_begin(conn: Any) -> None:
        seen.transactions += 1

    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine, "begin", on_begin)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "begin", on_begin)
