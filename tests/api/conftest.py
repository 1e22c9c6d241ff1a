"""Fixtures of the API tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.support import ApiWorld, module_world


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiWorld]:
    """One world per database for a whole test module (its requests accumulate); a module
    with a world of its own defines its own `world` fixture."""
    with module_world(request, tmp_path_factory) as world:
        yield world
