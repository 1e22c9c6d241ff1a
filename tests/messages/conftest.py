"""Fixtures of the R5.7 message tests."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from aftersales.services import accounts


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Still Argon2id, at the cheapest cost: these tests create many accounts, none of
    which logs in with a password."""
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
