"""Shared fixtures. Storage tests run on SQLite and PostgreSQL through one parametrised
``db`` fixture. Under ``CI=true`` a missing PostgreSQL fails the run instead of skipping."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from aftersales.profiles import load_profiles
from aftersales.services.context import Context, ProfileStore
from aftersales.settings import Settings
from aftersales.store.db import Database, normalise_url
from aftersales.store.migrate import upgrade
from aftersales.store.schema import metadata

if TYPE_CHECKING:
    from tests.api.support import ApiWorld

PG_URL = os.environ.get("AFTERSALES_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@dataclass
class FakeClock:
    """A clock tests move by hand; the domain never reads the real one."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now = self.now + timedelta(**kw)
        return self.now


def _pg_admin_url() -> str:
    return normalise_url(PG_URL)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh migrated PostgreSQL database for this test session, dropped at the end."""
    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        admin.dispose()
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true and is not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    name = f"aftersales_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(_pg_admin_url()).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    upgrade(db)
    db.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
            {"n": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()
    return path


_EMPTY_ALL = (
    # As a replica applies changes: no foreign-key checks and no append-only triggers, so
    # every table is emptied row by row, children first, in one round trip. For tables of a
    # few rows this is ten times faster than TRUNCATE, which makes new files for every
    # table and index. Then every sequence starts again at 1, as RESTART IDENTITY would.
    "SET LOCAL session_replication_role = replica;\n"
    + "".join(f'DELETE FROM "{t.name}";\n' for t in reversed(metadata.sorted_tables))
    + "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n "
    "ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND n.nspname = current_schema();"
)
_ADMIN_ENGINES: dict[str, Engine] = {}


def _truncate_all(url: str) -> None:
    """Every table of the session's PostgreSQL database emptied (the schema stays)."""
    engine = _ADMIN_ENGINES.get(url)
    if engine is None:
        engine = _ADMIN_ENGINES[url] = create_engine(normalise_url(url), pool_size=1)
    with engine.begin() as conn:
        conn.exec_driver_sql(_EMPTY_ALL)


def make_database(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    if kind == "sqlite":
        path = tmp_path / "aftersales.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return Database(f"sqlite:///{path}")
    url = request.getfixturevalue("pg_url")
    _truncate_all(url)
    return Database(url, pool_size=10)


DATABASES = ("sqlite", "postgresql")


def storage_free(fixture: str = "db") -> pytest.MarkDecorator:
    """Runs a test once, on SQLite, instead of once per database: for a test whose outcome
    no storage decides (a request refused while its body or headers are parsed, a check of
    the served schema) but that needs a world, or a context, to make its request in.
    ``fixture`` is the parametrised fixture it reaches the database through (``db``, or a
    module's ``world``)."""
    return pytest.mark.parametrize(fixture, ["sqlite"], indirect=True)


@pytest.fixture(params=DATABASES)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    database = make_database(request.param, request, tmp_path)
    yield database
    database.dispose()


@pytest.fixture
def pg_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    database = make_database("postgresql", request, tmp_path)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))


def make_context(database: Database, clock: FakeClock) -> Context:
    settings = Settings(
        database_url=database.url,
        worker_retry_base_seconds=30,
        # Evidence files of this context: a fresh directory, created on first upload.
        evidence_dir=Path(tempfile.gettempdir()) / f"aftersales-evidence-{uuid.uuid4().hex}",
    )
    return Context(database, ProfileStore(load_profiles()), settings, clock)


@pytest.fixture
def ctx(db: Database, clock: FakeClock) -> Context:
    return make_context(db, clock)


@pytest.fixture
def world(db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiWorld]:
    """The marketplace behind the JSON API (``tests/api/support.py``: shops X and Y, their
    accounts, buyers A and B, an agent, an admin, the order system, a case each), fresh for
    each test on each database. A module whose requests may accumulate in one world takes
    ``shared_world`` (``tests/api/conftest.py``) instead."""
    from tests.api.support import build_world, cheap_argon2

    cheap_argon2(monkeypatch)
    yield from build_world(db, clock)
