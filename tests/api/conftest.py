"""Fixtures of the API tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.support import ApiWorld, module_world


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared_world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiWorld]:
    """The API world (see ``world`` in ``tests/conftest.py``), one per database for a
    whole test module: for modules whose requests may accumulate in it."""
    with module_world(request, tmp_path_factory) as world:
        yield world
