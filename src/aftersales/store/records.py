"""Rows read into typed records: a store function answers with a frozen dataclass whose
fields are the columns it selects, so that no caller handles a raw row."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

R = TypeVar("R")


def one(cls: type[R], row: Any) -> R | None:
    """The record of ``row`` (a row whose columns are ``cls``'s fields), or None."""
    return cls(**row._mapping) if row is not None else None


def every(cls: type[R], rows: Iterable[Any]) -> list[R]:
    """The records of ``rows``, in their order."""
    return [cls(**row._mapping) for row in rows]


def known(record: R | None) -> R:
    """A record the caller knows exists: it wrote it in this transaction, or a foreign key
    points at it (None here is a bug, not a caller's mistake)."""
    if record is None:
        raise LookupError("a record that must exist was not found")
    return record
